/*
 * serve.h - the clients of one vk-call: standard input and output, or
 * every connection to a Unix socket, each its own NDJSON stream of
 * requests and results, all under the one scheduler (sched.h).
 */
#ifndef VKCALL_SERVE_H
#define VKCALL_SERVE_H

#include "metrics.h"
#include "sched.h"
#include "vkasync.h"

/* Serve stdin/stdout until the end of input. Returns the exit status. */
int	serve_stdio(vkasync *m, sched *s);
/*
 * Listen on the Unix socket path until SIGTERM or SIGINT. A client whose
 * line stays unfinished line_timeout seconds (0: any time) is answered
 * with an error and closed.
 */
int	serve_socket(vkasync *m, sched *s, const char *path, long line_timeout);
/* Could serve_socket() listen on path? 0, or -1 with a message; makes nothing. */
int	serve_check(const char *path);
/* The client side: stdin to the socket, results to stdout. */
int	connect_socket(const char *path);
/*
 * Uploads: stdin mode opens a "file" beneath the directory dirfd (dir as
 * given, or -1: none); max bytes at most (0: VK's own limits).
 */
void	serve_uploads(const char *dir, int dirfd, long long max);
/* The scheduler's result callback (sched_new()): a line to r's client. */
void	serve_result(void *arg, req *r, const buf *line, int error);
/* The counters, in vkpipe's one format (also on SIGUSR1). */
void	serve_stats(void);
/* --metrics: where serve_metrics() writes (SIGALRM, the timer, asks for it). */
void	serve_metrics_to(metrics *m);
void	serve_metrics(void);
/* Set up SIGTERM/SIGINT (and SIGUSR1, SIGALRM) handling (a self-pipe the loops watch). */
int	serve_signals(void);

#endif
