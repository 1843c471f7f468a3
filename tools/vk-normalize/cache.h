/*
 * cache.h - names of users, communities and chats, with a time to live and
 * a bounded size (least recently used out first), so that memory stays
 * bounded on an endless stream.
 *
 * An entry may hold no names at all: VK answered that it has none for us
 * (a deleted user, a chat the bot may not read). That answer is
 * remembered like any other until it expires.
 */
#ifndef VKPIPE_CACHE_H
#define VKPIPE_CACHE_H

#include <stddef.h>
#include <stdint.h>

enum cache_kind { CACHE_USER = 1, CACHE_GROUP, CACHE_CHAT };

/*
 * For a chat, only name (the title) is used. NULL means null. The cache
 * stores what it is given; names.c gives it JSON-encoded strings, so that
 * writing an Event copies them as they are.
 */
struct cnames {
	const char	*name, *first, *last, *nick;
};

typedef struct cache cache;

cache	*cache_new(size_t cap, double ttl);	/* NULL: out of memory */
void	 cache_free(cache *c);
/* The names for (kind, id), or NULL if absent or expired. */
const struct cnames *cache_get(cache *c, int kind, int64_t id, double now);
/* Insert or replace. Returns 0, or -1 out of memory (then nothing changes). */
int	 cache_put(cache *c, int kind, int64_t id, const struct cnames *n,
	    double now);
size_t	 cache_count(const cache *c);

#endif
