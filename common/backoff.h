/*
 * backoff.h - exponential backoff with jitter, capped, reset on success.
 *
 * Each failure doubles the step (min, 2*min, 4*min, ... up to max); the
 * delay returned is drawn from the upper half of the step ("equal jitter"),
 * so many clients retrying together spread out, yet each waits at least
 * half the step. A success resets the step to min.
 */
#ifndef VKPIPE_BACKOFF_H
#define VKPIPE_BACKOFF_H

#include <signal.h>

typedef struct backoff {
	long		min_ms, max_ms;
	long		step_ms;	/* the current step, 0 before the first failure */
	unsigned	failures;	/* consecutive failures since the last reset */
	unsigned	seed;
} backoff;

void	backoff_init(backoff *b, long min_ms, long max_ms);
/* A failure: the delay to wait before the next try, in milliseconds. */
long	backoff_next(backoff *b);
void	backoff_reset(backoff *b);
/*
 * Sleep ms milliseconds, waking early when *stop becomes non-zero (stop
 * may be NULL). Returns 0 after the full sleep, 1 if stopped.
 */
int	backoff_sleep(long ms, volatile sig_atomic_t *stop);

#endif
