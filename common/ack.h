/*
 * ack.h - the acknowledgement line: the wire format between the end of the
 * pipeline (vk-route --ack, vk-callback) and the source (vk-poll --ack).
 *
 * One line per finished Event: its event_id, unescaped, then '\n' ("\r\n"
 * is read too). Since the pipeline keeps order, an ack says that Event and
 * every Event before it are done. An id on the wire is 1 to ACK_ID_MAX
 * bytes with no control character, so it can neither split nor end a line
 * early. The writer refuses any other id and says why (its Event then has
 * no ack of its own; a later one covers it); the reader skips a longer
 * line whole, counted, and never cuts it into a false id.
 */
#ifndef VKPIPE_ACK_H
#define VKPIPE_ACK_H

#include <stddef.h>

#include "buf.h"

#define ACK_ID_MAX	1024	/* bytes; VK's event_ids are 40 hex digits */
#define ACK_PIPE_SIZE	(1 << 20)	/* a FIFO's room: ~25k acks while the reader is busy */

/* 0 if id[0..n) can travel as an ack line; else -1 and *why says why. */
int	ack_id_check(const char *id, size_t n, const char **why);
/* Append the ack line of an id that passed ack_id_check(). */
void	ack_line_put(buf *b, const char *id, size_t n);

/*
 * The reader: bytes in, as they come off a non-blocking fd, ids out. A
 * line may span pieces; what is left of one waits for the next piece.
 */
typedef void ack_id_fn(void *arg, const char *id, size_t n);

typedef struct ack_reader {
	buf	 part;		/* a line not ended yet */
	int	 skip;		/* inside an overlong line: drop up to its end */
	unsigned long long bad;	/* lines that were no id: too long, control bytes */
} ack_reader;

void	ack_reader_init(ack_reader *r);
/* Take in s[0..n); fn(arg, id, len) for each whole line that is an id. */
void	ack_reader_feed(ack_reader *r, const char *s, size_t n, ack_id_fn *fn, void *arg);
/*
 * Read fd until it has nothing more for now, feeding what comes. Returns
 * ACK_READ_AGAIN (would block: poll for POLLIN and call again),
 * ACK_READ_EOF (the writer closed its end), or -1 with errno set.
 */
enum { ACK_READ_AGAIN = 0, ACK_READ_EOF = 1 };
int	ack_reader_read(ack_reader *r, int fd, ack_id_fn *fn, void *arg);
/* Forget a line not ended (its writer is gone: the next one starts afresh). */
void	ack_reader_reset(ack_reader *r);
void	ack_reader_free(ack_reader *r);

/*
 * The reading end of an ack channel: a FIFO (made roomy), opened without
 * blocking, so no writer is needed yet; or a regular file (for tests).
 * Returns the fd, *fifo telling which, or -1 with err set.
 */
int	ack_channel_open(const char *path, int *fifo, char *err, size_t errlen);

/*
 * The reading end, whole (vk-poll --ack, vk-callback --ack): the channel
 * opened as above and read as it comes. When a FIFO's writer goes away
 * (end of file after bytes came, or the caller saw POLLHUP) it is opened
 * afresh, which clears the hang-up poll(2) would report for ever and waits
 * for the writer's restart. A channel that cannot be opened again is said
 * once and tried again at each read.
 */
typedef struct ack_in {
	const char *path;	/* the caller's string */
	int	 fd;		/* -1: closed, to be opened again */
	int	 fifo;		/* a FIFO (reopened), else a regular file (tail -f) */
	int	 seen;		/* bytes came since it was (re)opened */
	int	 warned;	/* a failed reopen was said */
	unsigned long long bytes;	/* read in all */
	ack_reader rd;
} ack_in;

enum { ACK_IN_OK = 0, ACK_IN_HUP = 1 };

/* Open path. 0, or -1 with err set. */
int	ack_in_open(ack_in *a, const char *path, char *err, size_t errlen);
/* No channel: ids come only through ack_reader_feed(&a->rd, ...). */
void	ack_in_init(ack_in *a);
/*
 * Read what is there, fn(arg, id, n) for each id. hup: poll(2) said
 * POLLHUP. Returns ACK_IN_HUP when the writer left (the FIFO is open
 * afresh, or closed to be tried again), else ACK_IN_OK.
 */
int	ack_in_read(ack_in *a, int hup, ack_id_fn *fn, void *arg);
void	ack_in_close(ack_in *a);

/*
 * The writing end (vk-route --ack): never blocks the pipeline. A FIFO is
 * opened once it has a reader (tried again every 0.1 s; other errors every
 * second, said once) and written without blocking; a reader that goes away
 * part-way gets the partial line whole from the next one. For a reader that
 * is not there at most 8 MiB of acks are kept, the newest (an ack covers
 * every Event before it). Times are mono_now() seconds.
 */
typedef struct ack_out {
	char	*path;		/* NULL: no channel */
	int	 fd;
	buf	 b;		/* acks not written yet, from off */
	size_t	 off;
	double	 retry_at;
	int	 wait_out, warned, dropped_warned;
	unsigned long written;	/* ack lines written */
} ack_out;

/* Open path (a FIFO without a reader yet is no error). 0, or -1 with err set. */
int	ack_out_open(ack_out *o, const char *path, char *err, size_t errlen);
/* Queue the ack line of an id that passed ack_id_check(). */
void	ack_out_put(ack_out *o, const char *id, size_t n);
/* Write what waits, without blocking; open the channel when due. */
void	ack_out_write(ack_out *o, double now);
/*
 * What to wait for: 1 and *fd (for POLLOUT) when the reader is slow, else
 * 0; *timeout (ms, -1 none) lowered to the next open attempt.
 */
int	ack_out_wait(const ack_out *o, double now, int *fd, int *timeout);
/* The channel's fd was ready (or failed): write on. */
void	ack_out_ready(ack_out *o, double now);
/* Acks are waiting to be written. */
int	ack_out_pending(const ack_out *o);
/* The end: write what waits until deadline, then close. 0, or -1 if acks were left (said). */
int	ack_out_close(ack_out *o, double deadline);

#endif
