/* batch.c - read acks, track pending updates and batches, the delivered ts. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "alloc.h"
#include "hash.h"
#include "log.h"


struct batch_ev {
	char	*id;
	size_t	 n;
	uint64_t h;
	uint64_t seq;	/* its number among all updates written */
};

struct batch_end {
	char	*ts;
	size_t	 n;
	uint64_t end;	/* updates written up to the end of the batch */
};

static char *
xmemdup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
batch_init(batches *a, size_t window)
{
	memset(a, 0, sizeof(*a));
	ack_in_init(&a->in);
	a->window = window;
}

int
batch_open(batches *a, const char *path, size_t window, char *err, size_t errlen)
{
	batch_init(a, window);
	a->path = xmemdup(path, strlen(path));
	if (ack_in_open(&a->in, a->path, err, errlen) == -1) {
		free(a->path);
		a->path = NULL;
		a->in.path = NULL;
		return -1;
	}
	return 0;
}

void
batch_close(batches *a)
{
	size_t i;

	ack_in_close(&a->in);
	for (i = 0; i < a->ev_n; i++)
		free(a->ev[(a->ev_head + i) & (a->ev_cap - 1)].id);
	for (i = 0; i < a->b_n; i++)
		free(a->b[(a->b_head + i) & (a->b_cap - 1)].ts);
	free(a->ev);
	free(a->b);
	free(a->slot);
	free(a->path);
	buf_free(&a->delivered);
	memset(a, 0, sizeof(*a));
	ack_in_init(&a->in);
}

/* Ring element k (0 = head) of a ring of cap (a power of two) elements. */
#define RING(base, head, cap, k)	(&(base)[((head) + (k)) & ((cap) - 1)])

static struct batch_ev *
ev_num(batches *a, uint64_t num)
{
	return RING(a->ev, a->ev_head, a->ev_cap, (size_t)(num - a->ev_first));
}

/* Grow a ring to twice its size, unrolled so that the head is at 0. */
static void *
ring_grow(void *base, size_t *head, size_t n, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 64, k, first;
	char *p = xmalloc(ncap * size), *b = base;

	if (n) {
		first = *cap - *head < n ? *cap - *head : n;
		memcpy(p, b + *head * size, first * size);
		k = n - first;
		memcpy(p + first * size, b, k * size);
	}
	free(base);
	*head = 0;
	*cap = ncap;
	return p;
}

static void
slot_put(batches *a, uint64_t num)
{
	size_t i = (size_t)ev_num(a, num)->h & (a->slot_cap - 1);

	while (a->slot[i])
		i = (i + 1) & (a->slot_cap - 1);
	a->slot[i] = num + 1;
	a->slot_used++;
}

/*
 * The table keeps acknowledged updates as dead entries (their number is
 * below ev_first) rather than deleting them; rebuilding it from the live
 * ones when half full keeps probes short.
 */
static void
slot_rebuild(batches *a)
{
	size_t cap = 64, k;

	while (cap < 4 * (a->ev_n + 1))
		cap *= 2;
	free(a->slot);
	a->slot = xmalloc(cap * sizeof(*a->slot));
	memset(a->slot, 0, cap * sizeof(*a->slot));
	a->slot_cap = cap;
	a->slot_used = 0;
	for (k = 0; k < a->ev_n; k++)
		slot_put(a, a->ev_first + k);
}

void
batch_update(batches *a, const char *id, size_t n)
{
	struct batch_ev *e;
	uint64_t seq = a->written++;

	if (n == 0)
		return;		/* covered by a later ack */
	if (a->ev_n == a->ev_cap)
		a->ev = ring_grow(a->ev, &a->ev_head, a->ev_n, &a->ev_cap, sizeof(*a->ev));
	e = RING(a->ev, a->ev_head, a->ev_cap, a->ev_n);
	e->id = xmemdup(id, n);
	e->n = n;
	e->h = hash_bytes(id, n);
	e->seq = seq;
	a->ev_n++;
	if ((a->slot_used + 1) * 2 > a->slot_cap)
		slot_rebuild(a);
	else
		slot_put(a, a->ev_first + a->ev_n - 1);
}

static void
deliver(batches *a, const char *ts, size_t n)
{
	if (a->delivered.len == n && memcmp(a->delivered.p, ts, n) == 0)
		return;
	buf_reset(&a->delivered);
	buf_put(&a->delivered, ts, n);
	a->changed = 1;
}

void
batch_end(batches *a, const char *ts, size_t n)
{
	struct batch_end *b;

	if (a->b_n == 0 && a->done >= a->written) {
		deliver(a, ts, n);	/* nothing outstanding: at once */
		return;
	}
	b = a->b_n ? RING(a->b, a->b_head, a->b_cap, a->b_n - 1) : NULL;
	if (b == NULL || b->end != a->written) {
		if (a->b_n == a->b_cap)
			a->b = ring_grow(a->b, &a->b_head, a->b_n, &a->b_cap, sizeof(*a->b));
		b = RING(a->b, a->b_head, a->b_cap, a->b_n);
		a->b_n++;
		b->end = a->written;
	} else {
		free(b->ts);	/* no update since: the newer ts stands for both */
	}
	b->ts = xmemdup(ts, n);
	b->n = n;
}

/* The pending update with this id that comes first, or -1. */
static int64_t
lookup(batches *a, const char *id, size_t n)
{
	uint64_t h = hash_bytes(id, n), num;
	struct batch_ev *e;
	int64_t best = -1;
	size_t i;

	if (a->ev_n == 0)
		return -1;
	for (i = (size_t)h & (a->slot_cap - 1); a->slot[i]; i = (i + 1) & (a->slot_cap - 1)) {
		num = a->slot[i] - 1;
		if (num < a->ev_first || num >= a->ev_first + a->ev_n)
			continue;	/* acknowledged already */
		e = ev_num(a, num);
		if (e->h == h && e->n == n && memcmp(e->id, id, n) == 0 &&
		    (best == -1 || num < (uint64_t)best))
			best = (int64_t)num;
	}
	return best;
}

/* An event_id came back (ack_id_fn). */
static void
ack_line(void *arg, const char *s, size_t n)
{
	batches *a = arg;
	struct batch_end *b;
	struct batch_ev *e;
	int64_t num;

	if ((num = lookup(a, s, n)) == -1) {
		a->unknown++;
		return;
	}
	a->acks++;
	/* It and every update before it are done. */
	while (a->ev_n && a->ev_first <= (uint64_t)num) {
		e = RING(a->ev, a->ev_head, a->ev_cap, 0);
		if (e->seq + 1 > a->done)
			a->done = e->seq + 1;
		free(e->id);
		a->ev_head = (a->ev_head + 1) & (a->ev_cap - 1);
		a->ev_n--;
		a->ev_first++;
	}
	while (a->b_n && (b = RING(a->b, a->b_head, a->b_cap, 0))->end <= a->done) {
		deliver(a, b->ts, b->n);
		free(b->ts);
		a->b_head = (a->b_head + 1) & (a->b_cap - 1);
		a->b_n--;
	}
}

void
batch_feed(batches *a, const char *s, size_t n)
{
	unsigned long long bad = a->in.rd.bad;

	ack_reader_feed(&a->in.rd, s, n, ack_line, a);
	a->unknown += a->in.rd.bad - bad;	/* not an event_id: ignored like any other */
}

int
batch_read(batches *a, int wait_ms)
{
	unsigned long long bad = a->in.rd.bad, bytes = a->in.bytes;
	struct pollfd pfd;
	int hup = 0, rc;

	if (a->path == NULL)
		return BATCH_OK;
	if (wait_ms > 0 && a->in.fd != -1 && a->in.fifo) {
		pfd.fd = a->in.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, wait_ms) == 1 && (pfd.revents & POLLHUP))
			hup = 1;
	}
	rc = ack_in_read(&a->in, hup, ack_line, a);
	a->unknown += a->in.rd.bad - bad;	/* not an event_id: ignored like any other */
	if (rc == ACK_IN_HUP)
		return BATCH_HUP;
	if (a->in.bytes == bytes && wait_ms > 0 && (a->in.fd == -1 || !a->in.fifo))
		poll(NULL, 0, wait_ms);	/* nothing to wait on (a file, or gone): sleep */
	return BATCH_OK;
}

int
batch_full(const batches *a)
{
	return a->written - a->done >= a->window || a->b_n >= BATCH_MAX;
}

size_t
batch_pending(const batches *a)
{
	return a->b_n;
}

const char *
batch_take(batches *a, size_t *n)
{
	if (!a->changed)
		return NULL;
	a->changed = 0;
	*n = a->delivered.len;
	return a->delivered.p;
}
