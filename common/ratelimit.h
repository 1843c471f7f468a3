/*
 * ratelimit.h - at most N requests in any one-second window.
 *
 * A ring of the last N request times: a new request may go when the
 * oldest of them is at least a second old. Exact over every sliding
 * window, not just per calendar second, which is what VK counts.
 */
#ifndef VKPIPE_RATELIMIT_H
#define VKPIPE_RATELIMIT_H

typedef struct ratelimit {
	double	*t;	/* ring of request times, seconds (monotonic) */
	int	 n;	/* requests allowed per second */
	int	 head, used;
} ratelimit;

int	rl_init(ratelimit *r, int per_second);	/* 0, or -1 out of memory */
void	rl_free(ratelimit *r);
/* Seconds to wait before a request may go at time now (0 if none). */
double	rl_delay(const ratelimit *r, double now);
/* A request went at time now. */
void	rl_note(ratelimit *r, double now);
/* Monotonic clock in seconds. */
double	rl_now(void);

#endif
