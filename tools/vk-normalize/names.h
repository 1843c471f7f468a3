/*
 * names.h - names for Events from the VK API: cached, batched, rate-limited,
 * several requests in flight.
 *
 * Callers say which ids an update's Event needs (names_want). Ids not in
 * the cache wait in a pending batch; names_run() sends it, as soon as the
 * rate limit gives a slot, as one `execute` request holding all three
 * lookups (users.get, groups.getById, messages.getConversationsById), and
 * takes in the answers of earlier batches meanwhile. names_want() returns
 * a ticket: the Event may be written once names_ready() says its ticket
 * is settled, answered or given up (then its names are null). The caller
 * writes Events in input order; it looks names up with names_lookup, the
 * norm_opts callback.
 *
 * Requests are spaced evenly within the rate, so that each waiting Event
 * waits at most for the next slot and one request. A request that fails is
 * tried again (--tries, with backoff), per call within an execute; an id
 * being asked for is never asked for again meanwhile.
 */
#ifndef VKPIPE_NAMES_H
#define VKPIPE_NAMES_H

#include <signal.h>
#include <stdint.h>

#include "backoff.h"
#include "cache.h"
#include "normalize.h"
#include "ratelimit.h"
#include "vkexec.h"
#include "vkasync.h"

#define NAMES_INFLIGHT	8	/* batches out at once */

struct names_stats {
	unsigned long long requests, hits, misses, retries, unavailable;
};

/* The calls of one batch: which ids (by kind and slice) each asks for. */
struct names_call {
	int	 kind;
	size_t	 off, cnt;
	int	 settled;
};

struct names_batch {
	int		 active, inflight;
	unsigned long	 seq;		/* the ticket of the Events waiting for it */
	int64_t		*ids[3];	/* per cache kind - 1 */
	size_t		 nids[3], capids[3];
	struct names_call call[VKEXEC_MAX];
	int		 ncall;
	int		 xcall[VKEXEC_MAX];	/* the attempt's calls, by execute slot */
	int		 tries;
	double		 due;		/* when the next attempt may go */
	backoff		 bo;
	vkexec		 x;
};

typedef struct names {
	vkapi		 api;		/* base URL, token, masking */
	vkasync		 as;		/* the requests in flight */
	json_doc	 doc;		/* a reply, while it is read */
	cache		*c;
	ratelimit	 rl;
	int		 tries;		/* attempts per call before giving up */
	int		 disabled;	/* VK refused the token: stop asking */
	double		 window;	/* seconds a batch waits for company */
	int64_t		*want[3];	/* pending ids per cache kind - 1 */
	size_t		 nwant[3], capwant[3];
	double		 want_since;	/* when the oldest pending id came */
	unsigned long	 next_seq;	/* the ticket of the pending batch */
	struct names_batch b[NAMES_INFLIGHT];
	struct names_stats st;
	double		 now;	/* the caller's clock for cache expiry, per line */
} names;

struct names_conf {
	const char	*api_url, *api_version, *token;
	size_t		 cache_size;
	double		 cache_ttl;	/* seconds */
	int		 rate;		/* requests per second */
	int		 tries;
	long		 timeout_ms;
	long		 window_ms;	/* --batch-window */
};

int	names_init(names *n, const struct names_conf *conf, char *err, size_t errlen);
void	names_free(names *n);
/* Set n->now = mono_now() before a line's names_want and names_lookup calls. */
/* Note the names an update's Event needs: its ticket, 0 if all are cached. */
unsigned long names_want(names *n, int64_t uuid, int64_t bpid);
/* Have the names of this ticket been answered (or given up)? */
int	names_ready(const names *n, unsigned long ticket);
/*
 * Take in finished requests and send what is due. idle: no more input is
 * at hand, so a batch need not wait for company.
 */
void	names_run(names *n, int idle);
/* Is anything pending or out? */
int	names_busy(const names *n);
/* Milliseconds until names_run() has something to send (-1: nothing). */
int	names_timeout(const names *n);
/* Wait up to ms for an answer or for input on fd (-1: none). */
void	names_wait(names *n, int fd, int ms);
/* norm_opts.names: fill out from the cache (NULLs where unknown). */
void	names_lookup(void *n, int64_t uuid, int64_t bpid, struct norm_names *out);

#endif
