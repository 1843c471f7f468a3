/*
 * names.h - names for Events from the VK API: cached, batched, rate-limited.
 *
 * Callers first say which ids a batch of updates needs (names_want), then
 * fetch once for the whole batch (names_fetch: one request per method per
 * up to 1000 users, 500 communities or 100 chats), then write the Events,
 * looking names up in the cache (names_lookup, the norm_opts callback).
 * When the API cannot answer, after a bounded number of tries, the names
 * stay null: no Event ever waits longer than that for a name.
 */
#ifndef VKPIPE_NAMES_H
#define VKPIPE_NAMES_H

#include <signal.h>
#include <stdint.h>

#include "backoff.h"
#include "cache.h"
#include "normalize.h"
#include "ratelimit.h"
#include "vkapi.h"

struct names_stats {
	unsigned long long requests, hits, misses, retries, unavailable;
};

typedef struct names {
	vkapi		 api;
	cache		*c;
	ratelimit	 rl;
	backoff		 bo;
	int		 tries;		/* attempts per request before giving up */
	int		 disabled;	/* VK refused the token: stop asking */
	volatile sig_atomic_t *stop;
	int64_t		*want[3];	/* pending ids per cache kind - 1 */
	size_t		 nwant[3], capwant[3];
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
};

int	names_init(names *n, const struct names_conf *conf, char *err, size_t errlen);
void	names_free(names *n);
/* Set n->now = rl_now() before a line's names_want and names_lookup calls. */
/* Note the names an update's Event needs; returns 1 if all are cached. */
int	names_want(names *n, int64_t uuid, int64_t bpid);
/* Ask VK for everything noted since the last fetch. */
void	names_fetch(names *n);
size_t	names_pending(const names *n);
/* norm_opts.names: fill out from the cache (NULLs where unknown). */
void	names_lookup(void *n, int64_t uuid, int64_t bpid, struct norm_names *out);

#endif
