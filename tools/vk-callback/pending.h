/*
 * pending.h - with --ack: the lines written and not acknowledged yet, oldest
 * first, each with its event_id.
 *
 * The pipeline acknowledges in the order it was given lines, so an ack of an
 * event_id answers for the oldest line still pending with that id, and for
 * every line before it; never for a later copy of the same event (VK's
 * resend, written again after a 503), which would answer for lines nobody
 * took. Lines are numbered from 1 as written; the pending ones are
 * first .. first + n - 1.
 */
#ifndef VKCALLBACK_PENDING_H
#define VKCALLBACK_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct pending {
	buf	 ids;		/* the ids end to end, from off */
	size_t	 off;
	uint32_t *len;		/* ring: each pending line's id length (0: none) */
	size_t	 head, n, cap;
	uint64_t first;		/* the number of the oldest pending line */
} pending;

void	pending_init(pending *p);
void	pending_free(pending *p);
/* The next line (number first + n) has the event_id id[0..n) (n 0: none). */
void	pending_push(pending *p, const char *id, size_t n);
/* The number of the oldest pending line up to last with event_id id, or 0. */
uint64_t pending_find(const pending *p, const char *id, size_t n, uint64_t last);
/* Lines up to number upto are acknowledged: forget them. */
void	pending_drop(pending *p, uint64_t upto);
/* Bytes held: what --ack's backpressure bounds. */
static inline size_t
pending_bytes(const pending *p)
{
	return p->ids.len - p->off + p->n * sizeof(*p->len);
}

#endif
