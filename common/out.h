/*
 * out.h - buffered output to a file descriptor with checked writes.
 *
 * Tools build lines straight into o->b and call out_done() after each;
 * bytes reach the descriptor when the buffer passes its high-water mark,
 * on out_flush(), or after every line in unbuffered mode. A failed write
 * (EPIPE included, with SIGPIPE ignored) is remembered in o->err and later
 * writes are dropped, so the caller can stop at its next check.
 */
#ifndef VKPIPE_OUT_H
#define VKPIPE_OUT_H

#include "buf.h"

typedef struct out {
	int	fd;
	buf	b;
	size_t	hiwat;
	int	unbuffered;
	int	err;	/* errno of the first failed write, or 0 */
} out;

void	out_open(out *o, int fd);
int	out_flush(out *o);	/* 0, or -1 with o->err set */
/* A line (or more) was appended to o->b: write it out if it is time. */
static inline int
out_done(out *o)
{
	if (o->unbuffered || o->b.len >= o->hiwat)
		return out_flush(o);
	return o->err ? -1 : 0;
}
/* For line_open()'s wait hook. */
void	out_flush_hook(void *o);
void	out_close(out *o);

#endif
