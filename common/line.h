/*
 * line.h - reading newline-delimited input of any line length.
 *
 * Lines longer than the maximum are not truncated: their bytes are skipped
 * up to the next newline and the line is reported as too long, so the
 * stream goes on without holding more than `max` bytes in memory.
 *
 * Before blocking on an empty pipe the reader calls `wait_hook`, which is
 * where a filter flushes its output: a live pipeline never holds an event
 * back, while a replay of a big file reads and writes in large blocks.
 */
#ifndef VKPIPE_LINE_H
#define VKPIPE_LINE_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#define LINE_MAX_DEFAULT	(16u << 20)

enum line_status {
	LINE_OK = 1,		/* *p, *n hold the line, without its newline */
	LINE_EOF = 0,
	LINE_ERR = -1,		/* read(2) failed; errno is set */
	LINE_TOOLONG = -2,	/* a line over the maximum was skipped */
	LINE_INTR = -3,		/* a signal came while waiting and *intr is set */
	LINE_AGAIN = -4		/* poll mode: no whole line without another read */
};

typedef struct linerd {
	int		 fd;
	char		*buf;
	size_t		 cap, beg, end;
	size_t		 max;		/* longest line accepted, in bytes */
	int		 eof;
	int		 toolong;	/* skipping the rest of an over-long line */
	unsigned long	 lineno;	/* number of the line just returned */
	size_t		 nl;		/* 1 + where line_wait() saw the next newline, or 0 */
	void		(*wait_hook)(void *);
	void		*wait_arg;
	volatile sig_atomic_t *intr;	/* if set when read(2) is interrupted: LINE_INTR */
	/*
	 * Poll mode, for a loop serving several descriptors: read(2) is
	 * called only while `readable` is set (the caller saw POLLIN or
	 * POLLHUP) and clears it, so line_next() never blocks; without a
	 * whole line buffered it returns LINE_AGAIN.
	 */
	int		 pollmode, readable;
	/* read(2) by another name (vk-call's recvmsg, for the descriptors
	 * that come with a line), or NULL */
	ssize_t		(*readfn)(void *arg, int fd, void *p, size_t n);
	void		*read_arg;
} linerd;

void	line_open(linerd *r, int fd, size_t max);
int	line_next(linerd *r, const char **p, size_t *n);
/* Is a complete line, or more input, available without blocking? */
int	line_ready(linerd *r);
/* The same, waiting up to ms milliseconds for input to arrive. */
int	line_wait(linerd *r, int ms);
void	line_close(linerd *r);	/* frees the buffer; does not close fd */

#endif
