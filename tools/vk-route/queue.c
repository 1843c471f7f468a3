/* queue.c - a destination's bounded queue of whole lines, with their tickets. */
#include <stdlib.h>
#include <string.h>

#include "dest.h"
#include "ring.h"

/* Room for one more ticket in the ring (a power of two). */
static void
tk_room(struct dq *q)
{
	if (q->nlines == q->tkcap)
		q->tk = ring_grow(q->tk, sizeof(*q->tk), &q->tkcap, &q->tkhead,
		    q->nlines, 16);
}

void
dq_push(struct dq *q, const char *line, size_t n, const struct dest_ticket *t)
{
	if (q->head == q->b.len) {	/* empty: start over at 0 */
		q->head = q->sent = q->b.len = 0;
	} else if (q->head > (1u << 20) && q->head > q->b.len / 2) {
		memmove(q->b.p, q->b.p + q->head, q->b.len - q->head);
		q->b.len -= q->head;
		q->sent -= q->head;
		q->head = 0;
	}
	buf_put(&q->b, line, n);
	buf_putc(&q->b, '\n');
	tk_room(q);
	*dq_ticket(q, q->nlines) = *t;
	q->nlines++;
	q->pushed++;
}

void
dq_ack(struct dq *q, size_t k)
{
	const char *p;

	if (k >= q->nlines && q->nlines > 0) {	/* all of it */
		q->tkhead = (q->tkhead + q->nlines) & (q->tkcap - 1);
		q->nlines = 0;
		q->head = q->sent = q->b.len = 0;
		return;
	}
	while (k-- > 0 && q->nlines > 0) {
		p = memchr(q->b.p + q->head, '\n', q->b.len - q->head);
		q->head = (size_t)(p - q->b.p) + 1;
		q->nlines--;
		q->tkhead = (q->tkhead + 1) & (q->tkcap - 1);
	}
	if (q->sent < q->head)
		q->sent = q->head;
}

const char *
dq_first(const struct dq *q, size_t *n)
{
	const char *p, *nl;

	if (q->nlines == 0)
		return NULL;
	p = q->b.p + q->head;
	nl = memchr(p, '\n', q->b.len - q->head);
	*n = (size_t)(nl - p);
	return p;
}

size_t
dq_whole(const struct dq *q, size_t nbytes)
{
	const char *p = q->b.p + q->head, *e;
	size_t k = 0;

	if (nbytes > q->b.len - q->head)
		nbytes = q->b.len - q->head;
	if (nbytes == q->b.len - q->head)	/* all of it: no need to count */
		return q->nlines;
	e = p + nbytes;
	while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		p++;
		k++;
	}
	return k;
}

size_t
dq_sent_lines(const struct dq *q)
{
	return dq_whole(q, q->sent - q->head);
}

int
dq_pop(struct dq *q, buf *out, struct dest_ticket *t)
{
	const char *p;
	size_t n;

	if (q->sent != q->head || (p = dq_first(q, &n)) == NULL)
		return -1;
	buf_put(out, p, n);
	*t = *dq_ticket(q, 0);
	dq_ack(q, 1);
	return 0;
}
