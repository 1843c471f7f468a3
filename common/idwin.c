/* idwin.c - a bounded window of ids: ring plus chained hash, FIFO eviction. */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "idwin.h"

#define NONE	UINT32_MAX

struct idwin_slot {
	char	*id;
	size_t	 len;
	uint64_t val;
	double	 t;		/* when it was added */
	uint32_t h;
	uint32_t next;		/* the next slot in the same bucket */
};

static uint32_t
hash(const char *s, size_t n)
{
	return (uint32_t)hash_bytes(s, n);
}

int
idwin_init(idwin *w, size_t cap, double max_age)
{
	size_t nb = 16;

	memset(w, 0, sizeof(*w));
	if (cap == 0 || cap > (1u << 31))
		return -1;
	while (nb < cap)
		nb *= 2;
	w->ring = calloc(cap, sizeof(*w->ring));
	w->bucket = malloc(nb * sizeof(*w->bucket));
	if (w->ring == NULL || w->bucket == NULL) {
		idwin_free(w);
		return -1;
	}
	memset(w->bucket, 0xff, nb * sizeof(*w->bucket));
	w->cap = cap;
	w->mask = nb - 1;
	w->max_age = max_age;
	return 0;
}

void
idwin_free(idwin *w)
{
	size_t k;

	for (k = 0; w->ring != NULL && k < w->cap; k++)
		free(w->ring[k].id);
	free(w->ring);
	free(w->bucket);
	memset(w, 0, sizeof(*w));
}

/* Forget the oldest id. */
static void
evict(idwin *w)
{
	struct idwin_slot *s = &w->ring[w->head];
	uint32_t *pp = &w->bucket[s->h & w->mask];

	while (*pp != (uint32_t)w->head)
		pp = &w->ring[*pp].next;
	*pp = s->next;
	free(s->id);
	s->id = NULL;
	w->head = (w->head + 1) % w->cap;
	w->n--;
}

void
idwin_expire(idwin *w, double now)
{
	if (w->max_age <= 0)
		return;
	while (w->n > 0 && now - w->ring[w->head].t > w->max_age)
		evict(w);
}

static uint64_t *
lookup(const idwin *w, const char *id, size_t n, uint32_t h)
{
	uint32_t k;
	struct idwin_slot *s;

	if (w->cap == 0)
		return NULL;
	for (k = w->bucket[h & w->mask]; k != NONE; k = w->ring[k].next) {
		s = &w->ring[k];
		if (s->h == h && s->len == n && memcmp(s->id, id, n) == 0)
			return &s->val;
	}
	return NULL;
}

uint64_t *
idwin_find(const idwin *w, const char *id, size_t n)
{
	return lookup(w, id, n, hash(id, n));
}

const char *
idwin_at(const idwin *w, size_t k, size_t *n, uint64_t *val)
{
	const struct idwin_slot *s = &w->ring[(w->head + k) % w->cap];

	*n = s->len;
	*val = s->val;
	return s->id;
}

static int
insert(idwin *w, const char *id, size_t n, uint32_t h, uint64_t val, double now)
{
	struct idwin_slot *s;
	uint32_t k;
	char *p;

	if ((p = malloc(n + 1)) == NULL)
		return -1;
	memcpy(p, id, n);
	p[n] = '\0';
	idwin_expire(w, now);
	if (w->n == w->cap)
		evict(w);
	k = (uint32_t)((w->head + w->n) % w->cap);
	s = &w->ring[k];
	s->id = p;
	s->len = n;
	s->val = val;
	s->t = now;
	s->h = h;
	s->next = w->bucket[h & w->mask];
	w->bucket[h & w->mask] = k;
	w->n++;
	return 0;
}

int
idwin_add(idwin *w, const char *id, size_t n, uint64_t val, double now)
{
	return insert(w, id, n, hash(id, n), val, now);
}

int
idwin_seen(idwin *w, const char *id, size_t n, uint64_t val, double now)
{
	uint32_t h = hash(id, n);

	if (lookup(w, id, n, h) != NULL)
		return 1;
	return insert(w, id, n, h, val, now);
}
