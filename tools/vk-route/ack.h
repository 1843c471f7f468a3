/*
 * ack.h - vk-route --ack: tell the poller which Events are finished with.
 *
 * Every Event gets an entry, in input order, naming the destinations that
 * took it and, for each, the number its line got in that destination's
 * queue (dq.pushed). A destination has finished with line s once
 * dq.pushed - dq.nlines >= s: lines leave a queue in order, when
 * confirmed, spilled or refused for good. An entry is finished when every
 * destination of it has; the finished entries at the front are popped, in
 * order, and their event_id written to the ack channel, one per line.
 *
 * The tracker also runs without --ack when --dedup-state needs to know
 * which Events are finished (only those are saved).
 */
#ifndef VKROUTE_ACK_H
#define VKROUTE_ACK_H

#include <poll.h>
#include <stddef.h>

struct dest;

/* A new Event. id: its event_id, unescaped; NULL when it has none (no ack line). */
void	track_begin(const char *id, size_t n);
/* The current Event's line was queued for d (dest_push returned 0). */
void	track_dest(struct dest *d);
/* The current Event cannot be delivered somewhere, for good: no ack line of its own. */
void	track_failed(void);
/* Pop the finished Events at the front, queueing their acks. Returns how many. */
unsigned long track_progress(void);
/* The input number (1, 2, …) of the last finished Event. */
unsigned long long track_done(void);
/* Events not finished yet. */
size_t	track_waiting(void);
/*
 * Around dest_shutdown(): lines still queued are then spilled (finished:
 * dead-lettered) or dropped (not finished: neither they nor any later
 * Event is acknowledged).
 */
void	track_shutdown_begin(void);
void	track_shutdown_end(void);
void	track_free(void);

/* The ack channel: a FIFO (opened once it has a reader) or a regular file. */
int	ack_open(const char *path, char *err, size_t errlen);
int	ack_enabled(void);
/* Write what waits, without blocking; open the channel when due. */
void	ack_write(double now);
/* Its poll entry (1) or none (0); *timeout lowered to the next open attempt. */
int	ack_pollfd(struct pollfd *p, double now, int *timeout);
void	ack_revents(short revents, double now);
/* Acks written so far, and waiting. */
unsigned long ack_count(void);
int	ack_pending(void);
/* The end: write what waits until deadline, then close. 0, or -1 if acks were left. */
int	ack_close(double deadline);

#endif
