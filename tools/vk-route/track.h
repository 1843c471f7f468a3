/*
 * track.h - the delivery tracker: Events in input order, each line's fate
 * into counts, the finished Events' acks out.
 *
 * Every Event gets an entry, in input order, counting its lines still
 * without a final fate. Destinations report each line's fate (dest.h,
 * "DELIVERY REPORTS") and the tracker keeps every count from the reports:
 * the destination's (its track_counts), the rule's (its dest_tally), and
 * the Event's. An Event is finished when each of its lines was delivered,
 * dead-lettered (spilled, or refused and kept with --spill) or failed for
 * good (then it gets no ack line of its own); a line dropped at exit
 * finishes nothing, and no later Event either. The finished entries at the
 * front are popped, in order, and their event_id put on the ack channel
 * (common/ack.h's ack_out), one per line.
 *
 * The tracker always runs: --dedup-state saves only finished Events, and
 * exec:…#confirm matches a handler's replies with the Events' ids. It knows
 * no destination: a destination embeds its track_counts and hands them in.
 */
#ifndef VKROUTE_TRACK_H
#define VKROUTE_TRACK_H

#include <stddef.h>

#include "ack.h"	/* common/: the ack channel's writing end */

enum dest_fate {
	DEST_DELIVERED,
	DEST_REFUSED,
	DEST_RETRY,
	DEST_SPILLED,		/* generic code only, see dest.h */
	DEST_FAILED,
	DEST_DROPPED
};

/* A rule's counts, kept by the tracker from the reports. */
struct dest_tally {
	unsigned long matched, delivered, failed;
	unsigned long errors;	/* conditions that could not be told */
};

/*
 * Who a line is for; given back, unchanged, in its report. The Event's
 * event_id (exec:…#confirm's replies, amqp's message_id) is the tracker's
 * copy: valid while this line's fate is not reported (its Event cannot
 * finish before), read nowhere after.
 */
struct dest_ticket {
	unsigned long long ev;		/* the tracker's Event number; 0: none */
	struct dest_tally *tally;	/* the rule that sent it, or NULL */
	const char *id;			/* its event_id, unescaped; NULL: none */
	unsigned idn;			/* its bytes (at most ACK_ID_MAX) */
	int	 done;			/* reported already (out of order) */
};

/* A destination's counts, kept by the tracker from the reports. */
struct track_counts {
	unsigned long delivered, failed, spilled;
	unsigned long lost;	/* not delivered: failed, spilled or dropped (exit 1) */
};

/* A new Event, from input line lineno. id: its event_id, unescaped, kept
 * for its tickets (NULL: none); ack: an ack line for it once finished (an
 * id that passed ack_id_check()). */
void	track_begin(const char *id, size_t n, int ack, unsigned long lineno);
/* A ticket for a line of the current Event, sent by the rule with tally. */
void	track_ticket(struct dest_ticket *t, struct dest_tally *tally);
/* The current Event cannot go somewhere, for good: no ack line of its own. */
void	track_failed(struct dest_tally *tally);
/* A line's fate, into its destination's counts c (dest_report and kinds). */
void	track_report(struct track_counts *c, struct dest_ticket *t, enum dest_fate f);
/* The input line of an unfinished Event, or 0. */
unsigned long track_line(unsigned long long ev);
/*
 * Pop the finished Events at the front, putting their acks on o (NULL: no
 * channel). Returns how many.
 */
unsigned long track_progress(ack_out *o);
/* The input number (1, 2, …) of the last finished Event. */
unsigned long long track_done(void);
/* Events not finished yet. */
size_t	track_waiting(void);
void	track_free(void);

#endif
