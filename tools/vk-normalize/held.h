/*
 * held.h - the lines vk-normalize holds back while their names are
 * fetched, in input order: each line's text, its input line number and the
 * names ticket it waits for. A queue with a bound on lines and bytes; the
 * caller decides when a line may leave (names_ready) and writes it.
 */
#ifndef VKPIPE_HELD_H
#define VKPIPE_HELD_H

#include <stddef.h>

#include "buf.h"

#define HELD_LINES	1000
#define HELD_BYTES	(4u << 20)

/* Lines head..n-1 wait, the oldest first. */
typedef struct held {
	buf		 text;
	size_t		 off[HELD_LINES], len[HELD_LINES];
	unsigned long	 lineno[HELD_LINES], need[HELD_LINES];
	int		 head, n;
} held;

/* Is a line waiting? */
static inline int held_any(const held *h) { return h->n > h->head; }
/* No room for another line until some leave. */
int	held_full(const held *h);
/* Hold line p[0..n) of input line lineno until ticket need is settled. */
void	held_push(held *h, const char *p, size_t n, unsigned long lineno,
	    unsigned long need);
/* The oldest line leaves; when none is left the text space is reused. */
void	held_pop(held *h);
void	held_free(held *h);

#endif
