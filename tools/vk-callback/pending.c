/* pending.c - lines written, not yet acknowledged: a ring of ids. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "pending.h"

void
pending_init(pending *p)
{
	memset(p, 0, sizeof(*p));
	p->first = 1;
}

void
pending_free(pending *p)
{
	buf_free(&p->ids);
	free(p->len);
	memset(p, 0, sizeof(*p));
}

void
pending_push(pending *p, const char *id, size_t n)
{
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 256, k;
		uint32_t *l = xmalloc(ncap * sizeof(*l));

		for (k = 0; k < p->n; k++)
			l[k] = p->len[(p->head + k) & (p->cap - 1)];
		free(p->len);
		p->len = l;
		p->head = 0;
		p->cap = ncap;
	}
	p->len[(p->head + p->n) & (p->cap - 1)] = (uint32_t)n;
	p->n++;
	buf_put(&p->ids, id, n);
}

uint64_t
pending_find(const pending *p, const char *id, size_t n, uint64_t last)
{
	size_t k, off = p->off, l;

	for (k = 0; k < p->n && p->first + k <= last; k++) {
		l = p->len[(p->head + k) & (p->cap - 1)];
		if (l == n && memcmp(p->ids.p + off, id, n) == 0)
			return p->first + k;
		off += l;
	}
	return 0;
}

void
pending_drop(pending *p, uint64_t upto)
{
	while (p->n && p->first <= upto) {
		p->off += p->len[p->head];
		p->head = (p->head + 1) & (p->cap - 1);
		p->n--;
		p->first++;
	}
	if (p->off == p->ids.len) {
		buf_reset(&p->ids);
		p->off = 0;
	} else if (p->off > (1u << 20) && p->off > p->ids.len / 2) {
		memmove(p->ids.p, p->ids.p + p->off, p->ids.len - p->off);
		p->ids.len -= p->off;
		p->off = 0;
	}
}
