/* cache.c - fixed-capacity hash map with LRU eviction and expiry. */
#include <stdlib.h>
#include <string.h>

#include "cache.h"

#define NIL	UINT32_MAX

struct entry {
	int64_t		id;
	int		kind;		/* 0: free */
	double		expires;
	char		*strs;		/* the four strings, NUL-separated */
	struct cnames	n;
	uint32_t	hnext;		/* hash chain */
	uint32_t	prev, next;	/* LRU list: head most recent */
};

struct cache {
	struct entry	*e;
	uint32_t	*bucket;
	size_t		 cap, nbucket, count;
	uint32_t	 head, tail, freelist;
	double		 ttl;
};

static size_t
hash(int kind, int64_t id, size_t nb)
{
	uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ULL + (uint64_t)kind;

	h ^= h >> 29;
	return (size_t)(h & (nb - 1));
}

cache *
cache_new(size_t cap, double ttl)
{
	cache *c;
	size_t i;

	if (cap == 0 || cap >= NIL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->cap = cap;
	for (c->nbucket = 16; c->nbucket < cap * 2; c->nbucket *= 2)
		;
	c->e = calloc(cap, sizeof(*c->e));
	c->bucket = malloc(c->nbucket * sizeof(*c->bucket));
	if (c->e == NULL || c->bucket == NULL) {
		cache_free(c);
		return NULL;
	}
	for (i = 0; i < c->nbucket; i++)
		c->bucket[i] = NIL;
	for (i = 0; i < cap; i++)
		c->e[i].next = i + 1 < cap ? (uint32_t)(i + 1) : NIL;
	c->freelist = 0;
	c->head = c->tail = NIL;
	c->ttl = ttl;
	return c;
}

void
cache_free(cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; c->e && i < c->cap; i++)
		free(c->e[i].strs);
	free(c->e);
	free(c->bucket);
	free(c);
}

size_t
cache_count(const cache *c)
{
	return c->count;
}

static void
lru_unlink(cache *c, uint32_t k)
{
	struct entry *e = &c->e[k];

	if (e->prev != NIL)
		c->e[e->prev].next = e->next;
	else
		c->head = e->next;
	if (e->next != NIL)
		c->e[e->next].prev = e->prev;
	else
		c->tail = e->prev;
}

static void
lru_front(cache *c, uint32_t k)
{
	struct entry *e = &c->e[k];

	e->prev = NIL;
	e->next = c->head;
	if (c->head != NIL)
		c->e[c->head].prev = k;
	c->head = k;
	if (c->tail == NIL)
		c->tail = k;
}

static uint32_t
find(const cache *c, int kind, int64_t id, uint32_t **link)
{
	uint32_t *l = &c->bucket[hash(kind, id, c->nbucket)];

	while (*l != NIL && !(c->e[*l].kind == kind && c->e[*l].id == id))
		l = &c->e[*l].hnext;
	if (link)
		*link = l;
	return *l;
}

static void
remove_entry(cache *c, uint32_t k)
{
	uint32_t *l;

	find(c, c->e[k].kind, c->e[k].id, &l);
	*l = c->e[k].hnext;
	lru_unlink(c, k);
	free(c->e[k].strs);
	c->e[k].strs = NULL;
	c->e[k].kind = 0;
	c->e[k].next = c->freelist;
	c->freelist = k;
	c->count--;
}

const struct cnames *
cache_get(cache *c, int kind, int64_t id, double now)
{
	uint32_t k = find(c, kind, id, NULL);

	if (k == NIL)
		return NULL;
	if (c->e[k].expires <= now) {
		remove_entry(c, k);
		return NULL;
	}
	lru_unlink(c, k);
	lru_front(c, k);
	return &c->e[k].n;
}

/* Copy the four strings into one allocation; NULLs stay NULL. */
static char *
pack(const struct cnames *in, struct cnames *out)
{
	const char *src[4] = { in->name, in->first, in->last, in->nick };
	const char **dst[4] = { &out->name, &out->first, &out->last, &out->nick };
	size_t len = 1, off = 0;
	char *s;
	int i;

	for (i = 0; i < 4; i++)
		len += src[i] ? strlen(src[i]) + 1 : 0;
	if ((s = malloc(len)) == NULL)
		return NULL;
	for (i = 0; i < 4; i++) {
		if (src[i] == NULL) {
			*dst[i] = NULL;
			continue;
		}
		strcpy(s + off, src[i]);
		*dst[i] = s + off;
		off += strlen(src[i]) + 1;
	}
	return s;
}

int
cache_put(cache *c, int kind, int64_t id, const struct cnames *n, double now)
{
	struct cnames packed;
	uint32_t k, *l;
	char *s;

	if ((s = pack(n, &packed)) == NULL)
		return -1;
	if ((k = find(c, kind, id, NULL)) != NIL)
		remove_entry(c, k);
	if (c->freelist == NIL)
		remove_entry(c, c->tail);	/* full: the least recently used goes */
	k = c->freelist;
	c->freelist = c->e[k].next;
	c->e[k].id = id;
	c->e[k].kind = kind;
	c->e[k].expires = now + c->ttl;
	c->e[k].strs = s;
	c->e[k].n = packed;
	find(c, kind, id, &l);
	c->e[k].hnext = *l;
	*l = k;
	lru_front(c, k);
	c->count++;
	return 0;
}
