/* held.c - the queue of lines waiting for their names, in input order. */
#include <string.h>

#include "held.h"

int
held_full(const held *h)
{
	return h->n - h->head >= HELD_LINES ||
	    (h->n > h->head && h->text.len - h->off[h->head] >= HELD_BYTES);
}

/* Make room at the end of the queue by moving its lines to the front. */
static void
compact(held *h)
{
	size_t skip = h->head < h->n ? h->off[h->head] : h->text.len;
	int k;

	memmove(h->text.p, h->text.p + skip, h->text.len - skip);
	h->text.len -= skip;
	for (k = h->head; k < h->n; k++) {
		h->off[k - h->head] = h->off[k] - skip;
		h->len[k - h->head] = h->len[k];
		h->lineno[k - h->head] = h->lineno[k];
		h->need[k - h->head] = h->need[k];
	}
	h->n -= h->head;
	h->head = 0;
}

void
held_push(held *h, const char *p, size_t n, unsigned long lineno,
    unsigned long need)
{
	if (h->n == HELD_LINES || h->text.len >= HELD_BYTES)
		compact(h);	/* the caller waited while held_full() */
	h->off[h->n] = h->text.len;
	h->len[h->n] = n;
	h->need[h->n] = need;
	h->lineno[h->n++] = lineno;
	buf_put(&h->text, p, n);
}

void
held_pop(held *h)
{
	if (++h->head == h->n) {
		h->head = h->n = 0;
		buf_reset(&h->text);
	}
}

void
held_free(held *h)
{
	buf_free(&h->text);
}
