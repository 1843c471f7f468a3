/*
 * poll.h - the Bots Long Poll protocol loop.
 *
 * getLongPollServer gives a key, a server and a ts; each poll of the server
 * with that ts returns the updates after it and the next ts. The ts is an
 * opaque token (VK sends a string here and a number there) kept as the raw
 * JSON text and sent back as it came. A batch is written and flushed before
 * its ts is saved, so the state file never runs ahead of the output; with
 * an ack channel (ack.h), not before the end of the pipeline confirmed it.
 */
#ifndef VKPOLL_POLL_H
#define VKPOLL_POLL_H

#include <signal.h>
#include <time.h>

#include "batch.h"
#include "backoff.h"
#include "buf.h"
#include "metrics.h"
#include "out.h"
#include "vkapi.h"

struct poll_conf {
	const char	*group;		/* community id, digits */
	const char	*version;	/* API version asked for */
	int		 wait;		/* long-poll wait, seconds */
	long		 timeout_ms;	/* whole-request timeout */
	const char	*state;		/* state file, or NULL */
	int		 once;		/* stop after one successful poll */
	unsigned long long max_events;	/* stop after this many updates; 0: never */
	int		 mark_gaps;	/* write vkpipe_gap lines */
	long		 backoff_min_ms, backoff_max_ms;
	long		 ack_drain_ms;	/* at exit, wait this long for acks */
};

enum poll_result {
	POLL_STOPPED = 0,	/* signal, --once or --max-events: all saved */
	POLL_EPIPE,		/* stdout closed: quiet stop, state not advanced */
	POLL_WRITE,		/* another write error on stdout */
	POLL_FATAL		/* VK refused the token or the group */
};

struct poller {
	const struct poll_conf *conf;
	vkapi		*api;
	out		*o;
	volatile sig_atomic_t *stop;
	volatile sig_atomic_t *want_stats;	/* SIGUSR1: poll_stats() soon;
						 * METRICS_DUE: poll_metrics() */
	metrics		*metrics;	/* --metrics, or NULL */
	time_t		 last_poll, last_event;
	batches		*ack;		/* the ack channel, or NULL */
	buf		 server, key, ts, url, tmp, id;
	int		 have_ts;
	int		 dirty;		/* ts not saved yet */
	int		 save_failed;	/* sticky: a state save failed */
	backoff		 bo;
	long long	 tick_ms;	/* when acks were last read during a transfer */
	unsigned long long events, polls, gaps, holds;
	unsigned long long retries;	/* failed requests tried again */
	/* New key and server, by cause: failed:2, failed:3, an HTTP status
	 * other than 5xx, another failed code or a reply that makes no sense. */
	unsigned long long re_expired, re_lost, re_http, re_bad;
};

/* ack: the ack channel (opened; the caller closes it), or NULL. */
void	poll_init(struct poller *p, const struct poll_conf *c, vkapi *api, out *o,
	    batches *ack, volatile sig_atomic_t *stop);
/* Resume from a ts read from the state file (raw JSON token). */
void	poll_resume(struct poller *p, const char *ts, size_t n);
int	poll_run(struct poller *p);
/* One stats line on stderr (vkpipe(1), STATISTICS); the ack line too. */
void	poll_stats(const struct poller *p);
/* The counters into the --metrics file (vkpipe(1), STATISTICS). */
void	poll_metrics(struct poller *p);
void	poll_free(struct poller *p);

/* check.c: warn about Long Poll settings that make events go missing. */
void	check_settings(vkapi *api, const char *group, const char *version);

#endif
