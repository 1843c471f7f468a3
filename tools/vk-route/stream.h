/*
 * stream.h - a stream kind's descriptor (a file, a pipe, a socket) taking
 * the bytes of its queue. What became of the lines (reports, retries) is
 * the driver's (dest.c); these only move bytes and say what happened.
 */
#ifndef VKROUTE_STREAM_H
#define VKROUTE_STREAM_H

struct dest;

/* No progress: write(2) returned 0. */
#define STREAM_STUCK	(-1)

/*
 * Write what waits to d->fd until all is handed over or it would block
 * (d->wait_out set). 0, else the errno of the failure or STREAM_STUCK.
 */
int	stream_write(struct dest *d);
/*
 * A write failed part-way into a line: take a regular file back to where
 * that line started, so that the retry leaves no fragment behind.
 */
void	stream_cut(struct dest *d);
/*
 * A stream socket polled readable: what the peer sends is dropped. 0 while
 * it is open; 1 when it closed, *err the errno (0: end of file).
 */
int	stream_peer_closed(struct dest *d, int *err);

#endif
