/*
 * mono.h - the one clock for timeouts, deadlines and rates: CLOCK_MONOTONIC,
 * which never jumps when the wall clock is set. Wall time (timestamps in
 * output) is not this clock's business.
 */
#ifndef VKPIPE_MONO_H
#define VKPIPE_MONO_H

/* Seconds since an arbitrary start, with nanosecond resolution. */
double	mono_now(void);
/* The same clock in whole milliseconds. */
long long mono_ms(void);

#endif
