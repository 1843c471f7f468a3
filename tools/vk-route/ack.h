/*
 * ack.h - the delivery tracker, and vk-route --ack: tell the poller which
 * Events are finished with.
 *
 * Every Event gets an entry, in input order, counting its lines still
 * without a final fate. Destinations report each line's fate (dest.h,
 * "DELIVERY REPORTS") and the tracker keeps every count from the reports:
 * the destination's, the rule's (its dest_tally), and the Event's. An
 * Event is finished when each of its lines was delivered, dead-lettered
 * (spilled, or refused and kept with --spill) or failed for good (then it
 * gets no ack line of its own); a line dropped at exit finishes nothing,
 * and no later Event either. The finished entries at the front are
 * popped, in order, and their event_id written to the ack channel, one
 * per line.
 *
 * The tracker always runs: --dedup-state saves only finished Events, and
 * exec:…#confirm matches a handler's replies with the Events' ids.
 */
#ifndef VKROUTE_ACK_H
#define VKROUTE_ACK_H

#include <poll.h>
#include <stddef.h>

#include "dest.h"

/* A new Event, from input line lineno. id: its event_id, unescaped; NULL
 * when it has none (no ack line). */
void	track_begin(const char *id, size_t n, unsigned long lineno);
/* A ticket for a line of the current Event, sent by the rule with tally. */
void	track_ticket(struct dest_ticket *t, struct dest_tally *tally);
/* The current Event cannot go somewhere, for good: no ack line of its own. */
void	track_failed(struct dest_tally *tally);
/* A line's fate (called by dest_report only). */
void	track_report(struct dest *d, struct dest_ticket *t, enum dest_fate f);
/* The event_id of an unfinished Event, or NULL. */
const char *track_id(unsigned long long ev, size_t *n);
/* The input line of an unfinished Event, or 0. */
unsigned long track_line(unsigned long long ev);
/* Pop the finished Events at the front, queueing their acks. Returns how many. */
unsigned long track_progress(void);
/* The input number (1, 2, …) of the last finished Event. */
unsigned long long track_done(void);
/* Events not finished yet. */
size_t	track_waiting(void);
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
