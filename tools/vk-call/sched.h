/*
 * sched.h - when each request goes to VK, and with which others.
 *
 * One queue for every client, one limiter for every HTTP request this
 * process makes (retries included). Requests waiting together go out as
 * one `execute` of up to max_batch calls; a request alone waits at most
 * the batch window for company. Button answers go first. Two requests for
 * the same peer are never in flight at once, so a chat sees its messages
 * in the order they were asked for.
 */
#ifndef VKCALL_SCHED_H
#define VKCALL_SCHED_H

#include "req.h"
#include "metrics.h"
#include "vkasync.h"

typedef struct sched_conf {
	int	rate;		/* HTTP requests per second at most */
	int	max_batch;	/* calls per execute, 1..25 */
	long	window_ms;	/* longest a request waits for company */
} sched_conf;

struct sched_stats {
	unsigned long long calls, http, executes, retries, errors;
	mtally	by_method;	/* results by method and code ("ok", "net", VK's) */
};

typedef struct sched sched;

/*
 * Where each result goes: the result line for r is in line (error set when
 * it is an error); r is freed after the call. The scheduler calls nothing
 * else of its caller's.
 */
typedef void sched_result_fn(void *arg, req *r, const buf *line, int error);

/* A scheduler calling VK through m; NULL out of memory. */
sched	*sched_new(const sched_conf *c, vkasync *m, sched_result_fn *result, void *arg);
void	 sched_free(sched *s);
void	 sched_add(sched *s, req *r);
/* Start what may go at time now. */
void	 sched_run(sched *s, double now);
/* Milliseconds until sched_run() may have something to start (-1: never). */
long	 sched_wake(const sched *s, double now);
/* A call started by sched_run() ended (see vka_done()). */
void	 sched_done(sched *s, vka_call *c, json_doc *d, int resp, int st,
	    const vkapi_err *e);
/* Nothing queued, nothing in flight. */
int	 sched_idle(const sched *s);
/* Requests queued or in flight. */
unsigned long sched_pending(const sched *s);
/* VK refused the token (error 5): every request still queued has been
 * answered with that error and nothing more is sent. */
int	 sched_fatal(const sched *s);
/* No more requests can come: nothing waits for company. */
void	 sched_set_eof(sched *s, int eof);
const struct sched_stats *sched_stats(const sched *s);

#endif
