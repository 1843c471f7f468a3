/* ring.c - a ring of fixed-size items, grown to twice its size. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ring.h"

void *
ring_grow(void *base, size_t size, size_t *cap, size_t *head, size_t n,
    size_t first)
{
	size_t ncap = *cap ? *cap * 2 : first, part;
	char *p = xmalloc(ncap * size), *b = base;

	if (n > 0) {	/* from head to the end of the array, then from 0 */
		part = *cap - *head < n ? *cap - *head : n;
		memcpy(p, b + *head * size, part * size);
		memcpy(p + part * size, b, (n - part) * size);
	}
	free(base);
	*head = 0;
	*cap = ncap;
	return p;
}
