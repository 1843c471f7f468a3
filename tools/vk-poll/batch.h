/*
 * batch.h - vk-poll --ack PATH: updates and batches pending until acknowledged.
 *
 * The last stage of the pipeline (vk-route --ack PATH) writes, in pipeline
 * order, one line per Event it has finished with: the update's event_id,
 * unescaped, as plain text. Since the pipeline keeps order, the ack of an
 * update says that it and every update written before it are done (those
 * dropped on the way, such as unknown types, have no ack of their own and
 * are covered by a later one). A batch is delivered once the updates up to
 * its last one are done; only a delivered batch's ts may be saved as the
 * state, so a crash of any stage loses nothing: the restart polls again
 * from the last delivered batch.
 *
 * PATH is a FIFO (or, for tests, a regular file read like tail -f). It is
 * opened without blocking and read between polls; a FIFO whose writer went
 * away is reopened, ready for the writer's restart. An id that is not
 * pending (an ack from before a restart, a repeat) is ignored.
 */
#ifndef VKPOLL_BATCH_H
#define VKPOLL_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "ack.h"	/* the wire format and its reader */
#include "buf.h"

#define BATCH_MAX	1000	/* pending batches that pause polling */

struct batch_ev;
struct batch_end;

typedef struct batches {
	char	*path;
	ack_in	 in;		/* the channel (ack.h), reopened when its writer leaves */
	size_t	 window;	/* unacknowledged updates that pause polling */

	uint64_t written;	/* updates written so far */
	uint64_t done;		/* updates acknowledged (a prefix of written) */

	struct batch_ev *ev;	/* pending updates with an event_id: a ring */
	size_t	 ev_head, ev_n, ev_cap;
	uint64_t ev_first;	/* the head's number (they count pushes) */
	uint64_t *slot;		/* id hash -> update number + 1 (0: empty) */
	size_t	 slot_cap, slot_used;

	struct batch_end *b;	/* written, not yet delivered batches: a ring */
	size_t	 b_head, b_n, b_cap;

	buf	 delivered;	/* the ts of the last delivered batch */
	int	 changed;	/* delivered moved since batch_take() */
	uint64_t acks, unknown;	/* ack lines matched, and ignored */
} batches;

enum { BATCH_OK = 0, BATCH_HUP = 1 };

/* Open path (a FIFO or a regular file). 0, or -1 with err set. */
int	batch_open(batches *a, const char *path, size_t window, char *err, size_t errlen);
/* Only the tracking, with no channel: acks come through batch_feed(). */
void	batch_init(batches *a, size_t window);
/* Take in s[0..n), a piece of the ack stream (lines may span pieces). */
void	batch_feed(batches *a, const char *s, size_t n);
void	batch_close(batches *a);
/* An update was written; id[0..n) is its event_id (n 0: it has none). */
void	batch_update(batches *a, const char *id, size_t n);
/* Every update before the ts ts[0..n) (a raw JSON token) is written. */
void	batch_end(batches *a, const char *ts, size_t n);
/*
 * Read the acks that are there, waiting up to wait_ms for some first (0:
 * not at all). Returns BATCH_HUP when the FIFO's writer closed its end (the
 * FIFO is then reopened), else BATCH_OK.
 */
int	batch_read(batches *a, int wait_ms);
/* Too many updates or batches unacknowledged: pause polling. */
int	batch_full(const batches *a);
/* Batches written and not delivered. */
size_t	batch_pending(const batches *a);
/* The delivered ts, if it moved since the last call (NULL otherwise). */
const char *batch_take(batches *a, size_t *n);

#endif
