/*
 * idwin.h - a bounded window of recently seen ids (event_ids), for dedup.
 *
 * A ring of at most cap ids, oldest first, with a chained hash table over
 * it: a lookup is one hash; an insert into a full ring forgets the oldest
 * id, and ids older than max_age seconds are forgotten as time passes. So
 * memory stays bounded however long the stream, and an id is remembered
 * for max_age seconds unless cap newer ones came since. Each id carries a
 * caller's value (vk-callback: the number of the line it was written as;
 * vk-route --dedup: the Event's input number, so that only finished
 * Events' ids are saved). idwin_at() reads the window oldest first, to
 * save it.
 */
#ifndef VKPIPE_IDWIN_H
#define VKPIPE_IDWIN_H

#include <stddef.h>
#include <stdint.h>

struct idwin_slot;

typedef struct idwin {
	struct idwin_slot *ring;
	uint32_t	*bucket;
	size_t		 cap, head, n, mask;
	double		 max_age;	/* seconds; 0: no age limit */
} idwin;

/* 0, or -1 when memory ran out (or cap is 0 or over 2^31). */
int	idwin_init(idwin *w, size_t cap, double max_age);
void	idwin_free(idwin *w);
/* Forget the ids added before now - max_age. */
void	idwin_expire(idwin *w, double now);
/* The value of id[0..n) (the caller may change it), or NULL when not in the window. */
uint64_t *idwin_find(const idwin *w, const char *id, size_t n);
/* Remember id (not in the window) with val at time now. 0, or -1 out of memory. */
int	idwin_add(idwin *w, const char *id, size_t n, uint64_t val, double now);
/* Find id, else remember it (one hash for both): 1 it was there, 0 it is
 * now, -1 out of memory. */
int	idwin_seen(idwin *w, const char *id, size_t n, uint64_t val, double now);
static inline size_t idwin_size(const idwin *w) { return w->n; }
/* The k-th id from the oldest (k < idwin_size()): its bytes, *n and *val. */
const char *idwin_at(const idwin *w, size_t k, size_t *n, uint64_t *val);

#endif
