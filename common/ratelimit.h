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
/*
 * The same, and no sooner than 1/N of the window after the last request:
 * requests spread out evenly, so that a burst cannot use up the window and
 * leave what comes next waiting for all of it to pass.
 */
double	rl_delay_even(const ratelimit *r, double now);
/* A request went at time now. */
void	rl_note(ratelimit *r, double now);
/*
 * For requests in flight together: a request goes now and its slot is
 * returned. VK counts a request when it arrives, some time before its
 * reply, so until rl_reply() the slot counts as taken for good; then as
 * taken at the reply's time, for exactly a second. A request N later then leaves at least a
 * window after this one arrived, however the network delayed either.
 */
int	rl_start(ratelimit *r);
void	rl_reply(ratelimit *r, int slot, double now);
/* How many requests the last window holds (in flight ones included). */
int	rl_recent(const ratelimit *r, double now);

#endif
