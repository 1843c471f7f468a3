/* backoff.c - capped exponential backoff with equal jitter. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"

void
backoff_init(backoff *b, long min_ms, long max_ms)
{
	struct timespec ts;

	b->min_ms = min_ms > 0 ? min_ms : 1;
	b->max_ms = max_ms >= b->min_ms ? max_ms : b->min_ms;
	b->step_ms = 0;
	b->failures = 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	b->seed = (unsigned)ts.tv_nsec ^ (unsigned)getpid();
}

long
backoff_next(backoff *b)
{
	long half;

	if (b->step_ms == 0)
		b->step_ms = b->min_ms;
	else if (b->step_ms <= b->max_ms / 2)
		b->step_ms *= 2;
	else
		b->step_ms = b->max_ms;
	b->failures++;
	half = b->step_ms / 2;
	return b->step_ms - half + (half > 0 ? rand_r(&b->seed) % (half + 1) : 0);
}

void
backoff_reset(backoff *b)
{
	b->step_ms = 0;
	b->failures = 0;
}

int
backoff_sleep(long ms, volatile sig_atomic_t *stop)
{
	struct timespec ts;
	long slice;

	/* Slices of at most 100 ms: a signal that lands just before
	 * nanosleep() would otherwise go unnoticed for the whole delay. */
	while (ms > 0) {
		if (stop && *stop)
			return 1;
		slice = ms < 100 ? ms : 100;
		ts.tv_sec = 0;
		ts.tv_nsec = slice * 1000000L;
		nanosleep(&ts, NULL);
		ms -= slice;
	}
	return stop && *stop ? 1 : 0;
}
