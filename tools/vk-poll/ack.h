/*
 * ack.h - the acknowledgement channel of vk-poll --ack PATH.
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
#ifndef VKPOLL_ACK_H
#define VKPOLL_ACK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "../../common/ack.h"	/* the wire format; this ack.h is vk-poll's */

#define ACK_MAX_BATCHES	1000	/* pending batches that pause polling */

struct ack_ev;
struct ack_batch;

typedef struct ackin {
	char	*path;
	int	 fd;
	int	 fifo;		/* a FIFO (reopened on EOF), else a regular file */
	int	 seen;		/* bytes read since the FIFO was (re)opened */
	ack_reader rd;		/* the lines, as they come */
	size_t	 window;	/* unacknowledged updates that pause polling */

	uint64_t written;	/* updates written so far */
	uint64_t done;		/* updates acknowledged (a prefix of written) */

	struct ack_ev *ev;	/* pending updates with an event_id: a ring */
	size_t	 ev_head, ev_n, ev_cap;
	uint64_t ev_first;	/* the head's number (they count pushes) */
	uint64_t *slot;		/* id hash -> update number + 1 (0: empty) */
	size_t	 slot_cap, slot_used;

	struct ack_batch *b;	/* written, not yet delivered batches: a ring */
	size_t	 b_head, b_n, b_cap;

	buf	 delivered;	/* the ts of the last delivered batch */
	int	 changed;	/* delivered moved since ack_take() */
	uint64_t acks, unknown;	/* ack lines matched, and ignored */
} ackin;

enum { ACK_OK = 0, ACK_HUP = 1 };

/* Open path (a FIFO or a regular file). 0, or -1 with err set. */
int	ack_open(ackin *a, const char *path, size_t window, char *err, size_t errlen);
/* Only the tracking, with no channel: acks come through ack_feed(). */
void	ack_init(ackin *a, size_t window);
/* Take in s[0..n), a piece of the ack stream (lines may span pieces). */
void	ack_feed(ackin *a, const char *s, size_t n);
void	ack_close(ackin *a);
/* An update was written; id[0..n) is its event_id (n 0: it has none). */
void	ack_update(ackin *a, const char *id, size_t n);
/* Every update before the ts ts[0..n) (a raw JSON token) is written. */
void	ack_batch(ackin *a, const char *ts, size_t n);
/*
 * Read the acks that are there, waiting up to wait_ms for some first (0:
 * not at all). Returns ACK_HUP when the FIFO's writer closed its end (the
 * FIFO is then reopened), else ACK_OK.
 */
int	ack_read(ackin *a, int wait_ms);
/* Too many updates or batches unacknowledged: pause polling. */
int	ack_full(const ackin *a);
/* Batches written and not delivered. */
size_t	ack_pending(const ackin *a);
/* The delivered ts, if it moved since the last call (NULL otherwise). */
const char *ack_take(ackin *a, size_t *n);

#endif
