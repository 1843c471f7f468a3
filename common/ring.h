/*
 * ring.h - growing a ring of fixed-size items whose capacity is a power of
 * two (item k from the head is base[(head + k) & (cap - 1)]): the one copy
 * of "double it, unrolled so that the head is at 0".
 */
#ifndef VKPIPE_RING_H
#define VKPIPE_RING_H

#include <stddef.h>

/*
 * base holds *cap items of size bytes, n of them from *head. Returns a new
 * array of twice the capacity (first when *cap is 0) holding the same n
 * items from index 0; base is freed, *head becomes 0, *cap the new one.
 * Out of memory aborts (alloc.h).
 */
void	*ring_grow(void *base, size_t size, size_t *cap, size_t *head, size_t n,
	    size_t first);

#endif
