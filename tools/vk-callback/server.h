/*
 * server.h - the Callback API receiver: libmicrohttpd driven from one
 * poll(2) loop, in one thread.
 *
 * Each event a request carries becomes one line on standard output (see
 * event.h). Without an ack channel the lines of the requests one turn of
 * the loop reads are written together, in one write, and each request,
 * its line written whole (the rule), is answered `ok` by its handler on
 * the next MHD_run(). If stdout falls behind, the answer is held
 * (MHD_suspend_connection) until the line is written whole, and with an
 * ack channel until the end of the pipeline acknowledged it; only then
 * does VK get its `ok`. Lines are
 * numbered in the order written; "written" and "acknowledged" are each a
 * prefix of those numbers, so a held request waits for one number.
 *
 * Standard output is made non-blocking: a reader that stops reading holds
 * answers back (VK retries them, which is right) and never the server,
 * which goes on answering confirmations, refusals and duplicates.
 *
 * An event_id is remembered with its line number for a bounded window
 * (idwin.h): a repeat is answered like the first copy, never written again,
 * unless that copy was written and not acknowledged in time (503): then
 * downstream may have lost it, and the resend is written as a new line.
 * An ack answers for the oldest copy still pending (pending.h), never for
 * a later one.
 */
#ifndef VKCALLBACK_SERVER_H
#define VKCALLBACK_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "event.h"

struct server_stats;

struct server_conf {
	int		 listen_fd;	/* bound and listening */
	const char	*confirm;	/* the confirmation code, or NULL */
	struct ev_conf	 ev;		/* secret and group */
	const char	*ack_path;	/* the ack channel, or NULL */
	const char	*alive_path;	/* touched as the loop turns (--alive), or NULL */
	long		 hold_ms;	/* longest a request waits for its line: 503 after */
	size_t		 max_body;
	size_t		 dedup_ids;	/* the window: this many ids, */
	double		 dedup_secs;	/* for this long */
	const char	*tls_cert, *tls_key;	/* PEM text, or NULL */
	/* --metrics: called when *want_stats has METRICS_DUE (metrics.h), or NULL */
	void		(*metrics)(const struct server_stats *st);
};

enum server_result {
	SERVER_STOPPED = 0,	/* a signal */
	SERVER_EPIPE,		/* stdout's reader left */
	SERVER_WRITE,		/* another write error on stdout; errno in *err */
	SERVER_SETUP		/* libmicrohttpd would not start; err says why */
};

struct server_stats {
	unsigned long long lines, dups, held_out, refused, confirms;
	size_t	held;		/* answers waiting now */
	unsigned long long cut;	/* connections cut: too slow a request, or room made */
};

/*
 * Run until *stop; err (errlen bytes) says what went wrong. When
 * *want_stats is set, it is cleared and server_stats_log() called.
 */
int	server_run(const struct server_conf *c, volatile sig_atomic_t *stop,
	    volatile sig_atomic_t *want_stats, struct server_stats *st,
	    char *err, size_t errlen);
/* One "stats:" line on stderr, in the shape of every vkpipe program's. */
void	server_stats_log(const struct server_stats *st);

#endif
