/* ratelimit.c - sliding-window request limiter. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "ratelimit.h"

/* A little over a second: requests reach the server with varying delays
 * (the first on a connection pays for the connect), and the server's
 * clock is the one that counts. */
#define WINDOW	1.05

int
rl_init(ratelimit *r, int per_second)
{
	r->n = per_second > 0 ? per_second : 1;
	r->head = r->used = 0;
	r->t = calloc((size_t)r->n, sizeof(double));
	return r->t ? 0 : -1;
}

void
rl_free(ratelimit *r)
{
	free(r->t);
	r->t = NULL;
}

double
rl_delay(const ratelimit *r, double now)
{
	double oldest;

	if (r->used < r->n)
		return 0;
	oldest = r->t[r->head];	/* the ring is full: head is the oldest */
	return oldest + WINDOW > now ? oldest + WINDOW - now : 0;
}

double
rl_delay_even(const ratelimit *r, double now)
{
	double d = rl_delay(r, now), last, gap;

	if (r->used == 0)
		return d;
	last = r->t[(r->head + r->n - 1) % r->n];
	gap = last + WINDOW / r->n - now;
	return gap > d ? gap : d;
}

void
rl_note(ratelimit *r, double now)
{
	r->t[r->head] = now;
	r->head = (r->head + 1) % r->n;
	if (r->used < r->n)
		r->used++;
}

int
rl_start(ratelimit *r)
{
	int slot = r->head;

	rl_note(r, HUGE_VAL);
	return slot;
}

void
rl_reply(ratelimit *r, int slot, double now)
{
	/* The reply's time bounds the request's arrival already (VK saw it
	 * before it answered): the slot frees a second after it, without
	 * the margin a send time needs for the network's delays. */
	if (slot >= 0 && slot < r->n)
		r->t[slot] = now - (WINDOW - 1.0);
}

int
rl_recent(const ratelimit *r, double now)
{
	int k, n = 0;

	for (k = 0; k < r->used; k++)
		n += r->t[k] + WINDOW > now;
	return n;
}
