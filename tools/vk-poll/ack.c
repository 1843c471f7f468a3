/* ack.c - read acks, track pending updates and batches, the delivered ts. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ack.h"
#include "alloc.h"
#include "hash.h"
#include "log.h"


struct ack_ev {
	char	*id;
	size_t	 n;
	uint64_t h;
	uint64_t seq;	/* its number among all updates written */
};

struct ack_batch {
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

static int
open_fd(ackin *a, char *err, size_t errlen)
{
	a->seen = 0;
	ack_reader_reset(&a->rd);
	a->fd = ack_channel_open(a->path, &a->fifo, err, errlen);
	return a->fd == -1 ? -1 : 0;
}

void
ack_init(ackin *a, size_t window)
{
	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->window = window;
}

int
ack_open(ackin *a, const char *path, size_t window, char *err, size_t errlen)
{
	ack_init(a, window);
	a->path = xmemdup(path, strlen(path));
	if (open_fd(a, err, errlen) == -1) {
		free(a->path);
		a->path = NULL;
		return -1;
	}
	return 0;
}

void
ack_close(ackin *a)
{
	size_t i;

	if (a->fd != -1)
		close(a->fd);
	for (i = 0; i < a->ev_n; i++)
		free(a->ev[(a->ev_head + i) & (a->ev_cap - 1)].id);
	for (i = 0; i < a->b_n; i++)
		free(a->b[(a->b_head + i) & (a->b_cap - 1)].ts);
	free(a->ev);
	free(a->b);
	free(a->slot);
	free(a->path);
	ack_reader_free(&a->rd);
	buf_free(&a->delivered);
	memset(a, 0, sizeof(*a));
	a->fd = -1;
}

/* Ring element k (0 = head) of a ring of cap (a power of two) elements. */
#define RING(base, head, cap, k)	(&(base)[((head) + (k)) & ((cap) - 1)])

static struct ack_ev *
ev_num(ackin *a, uint64_t num)
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
slot_put(ackin *a, uint64_t num)
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
slot_rebuild(ackin *a)
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
ack_update(ackin *a, const char *id, size_t n)
{
	struct ack_ev *e;
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
deliver(ackin *a, const char *ts, size_t n)
{
	if (a->delivered.len == n && memcmp(a->delivered.p, ts, n) == 0)
		return;
	buf_reset(&a->delivered);
	buf_put(&a->delivered, ts, n);
	a->changed = 1;
}

void
ack_batch(ackin *a, const char *ts, size_t n)
{
	struct ack_batch *b;

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
lookup(ackin *a, const char *id, size_t n)
{
	uint64_t h = hash_bytes(id, n), num;
	struct ack_ev *e;
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
	ackin *a = arg;
	struct ack_batch *b;
	struct ack_ev *e;
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
ack_feed(ackin *a, const char *s, size_t n)
{
	unsigned long long bad = a->rd.bad;

	ack_reader_feed(&a->rd, s, n, ack_line, a);
	a->unknown += a->rd.bad - bad;	/* not an event_id: ignored like any other */
}

/* The writer left: open afresh, for its restart (this also clears POLLHUP). */
static void
reopen(ackin *a)
{
	char err[512];

	if (a->fd != -1)
		close(a->fd);
	if (open_fd(a, err, sizeof(err)) == -1)
		log_warn("%s; acknowledgements wait until it is back", err);
}

int
ack_read(ackin *a, int wait_ms)
{
	char chunk[16384];
	struct pollfd pfd;
	int hup = 0, got = 0;
	ssize_t r;

	if (a->path == NULL)
		return ACK_OK;
	if (a->fd == -1) {
		reopen(a);
		if (a->fd == -1) {
			if (wait_ms > 0)
				poll(NULL, 0, wait_ms);
			return ACK_OK;
		}
	}
	if (wait_ms > 0 && a->fifo) {
		pfd.fd = a->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, wait_ms) == 1 && (pfd.revents & POLLHUP))
			hup = 1;
	}
	for (;;) {
		r = read(a->fd, chunk, sizeof(chunk));
		if (r > 0) {
			a->seen = 1;
			got = 1;
			ack_feed(a, chunk, (size_t)r);
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0 && a->fifo && (a->seen || hup)) {
			reopen(a);
			return ACK_HUP;
		}
		break;	/* EAGAIN: nothing more now; a regular file's end */
	}
	if (!got && wait_ms > 0 && !a->fifo)
		poll(NULL, 0, wait_ms);	/* a file cannot be waited on: sleep */
	return ACK_OK;
}

int
ack_full(const ackin *a)
{
	return a->written - a->done >= a->window || a->b_n >= ACK_MAX_BATCHES;
}

size_t
ack_pending(const ackin *a)
{
	return a->b_n;
}

const char *
ack_take(ackin *a, size_t *n)
{
	if (!a->changed)
		return NULL;
	a->changed = 0;
	*n = a->delivered.len;
	return a->delivered.p;
}
