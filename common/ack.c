/* ack.c - the acknowledgement line, written and read (see ack.h). */
#define _GNU_SOURCE	/* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ack.h"
#include "log.h"

int
ack_id_check(const char *id, size_t n, const char **why)
{
	size_t k;

	if (n == 0) {
		*why = "an empty event_id";
		return -1;
	}
	if (n > ACK_ID_MAX) {
		*why = "an event_id longer than an ack line takes (1024 bytes)";
		return -1;
	}
	for (k = 0; k < n; k++)
		if ((unsigned char)id[k] < 0x20 || id[k] == 0x7f) {
			*why = "an event_id with a control character";
			return -1;
		}
	return 0;
}

void
ack_line_put(buf *b, const char *id, size_t n)
{
	buf_put(b, id, n);
	buf_putc(b, '\n');
}

void
ack_reader_init(ack_reader *r)
{
	memset(r, 0, sizeof(*r));
}

static void
one_line(ack_reader *r, const char *s, size_t n, ack_id_fn *fn, void *arg)
{
	const char *why;

	if (n && s[n - 1] == '\r')
		n--;
	if (n == 0)
		return;		/* a blank line says nothing */
	if (ack_id_check(s, n, &why) == -1) {
		r->bad++;
		return;
	}
	fn(arg, s, n);
}

void
ack_reader_feed(ack_reader *r, const char *s, size_t n, ack_id_fn *fn, void *arg)
{
	const char *nl;
	size_t len;

	while (n > 0) {
		nl = memchr(s, '\n', n);
		len = nl ? (size_t)(nl - s) : n;
		if (r->skip) {
			r->skip = nl == NULL;
		} else if (r->part.len + len > ACK_ID_MAX + 1) {	/* + a '\r' */
			r->bad++;
			buf_reset(&r->part);
			r->skip = nl == NULL;
		} else if (nl == NULL) {
			buf_put(&r->part, s, len);
		} else if (r->part.len) {
			buf_put(&r->part, s, len);
			one_line(r, r->part.p, r->part.len, fn, arg);
			buf_reset(&r->part);
		} else {
			one_line(r, s, len, fn, arg);
		}
		if (nl == NULL)
			break;
		s = nl + 1;
		n -= len + 1;
	}
}

int
ack_reader_read(ack_reader *r, int fd, ack_id_fn *fn, void *arg)
{
	char chunk[16384];
	ssize_t got;

	for (;;) {
		got = read(fd, chunk, sizeof(chunk));
		if (got > 0)
			ack_reader_feed(r, chunk, (size_t)got, fn, arg);
		else if (got == 0)
			return ACK_READ_EOF;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return ACK_READ_AGAIN;
		else if (errno != EINTR)
			return -1;
	}
}

void
ack_reader_reset(ack_reader *r)
{
	buf_reset(&r->part);
	r->skip = 0;
}

void
ack_reader_free(ack_reader *r)
{
	buf_free(&r->part);
	memset(r, 0, sizeof(*r));
}

int
ack_channel_open(const char *path, int *fifo, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open the ack channel %s: %s (vkpipe creates it "
		    "with mkfifo)", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || (!S_ISFIFO(st.st_mode) && !S_ISREG(st.st_mode))) {
		snprintf(err, errlen, "the ack channel %s is neither a FIFO nor a regular file",
		    path);
		close(fd);
		return -1;
	}
	*fifo = S_ISFIFO(st.st_mode);
	if (*fifo)
		(void)fcntl(fd, F_SETPIPE_SZ, ACK_PIPE_SIZE);	/* best effort */
	return fd;
}

void
ack_in_init(ack_in *a)
{
	memset(a, 0, sizeof(*a));
	a->fd = -1;
	ack_reader_init(&a->rd);
}

static int
in_open(ack_in *a, char *err, size_t errlen)
{
	a->seen = 0;
	ack_reader_reset(&a->rd);
	a->fd = ack_channel_open(a->path, &a->fifo, err, errlen);
	return a->fd == -1 ? -1 : 0;
}

int
ack_in_open(ack_in *a, const char *path, char *err, size_t errlen)
{
	ack_in_init(a);
	a->path = path;
	return in_open(a, err, errlen);
}

/* The writer left, or the channel is gone: open it afresh. */
static void
in_reopen(ack_in *a)
{
	char err[512];

	if (a->fd != -1)
		close(a->fd);
	if (in_open(a, err, sizeof(err)) == 0)
		a->warned = 0;
	else if (!a->warned) {
		log_warn("%s; acknowledgements wait until it is back", err);
		a->warned = 1;
	}
}

int
ack_in_read(ack_in *a, int hup, ack_id_fn *fn, void *arg)
{
	char chunk[16384];
	ssize_t r;

	if (a->path == NULL)
		return ACK_IN_OK;
	if (a->fd == -1) {
		in_reopen(a);
		if (a->fd == -1)
			return ACK_IN_OK;
	}
	for (;;) {
		r = read(a->fd, chunk, sizeof(chunk));
		if (r > 0) {
			a->seen = 1;
			a->bytes += (size_t)r;
			ack_reader_feed(&a->rd, chunk, (size_t)r, fn, arg);
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0 && a->fifo && (a->seen || hup)) {
			in_reopen(a);
			return ACK_IN_HUP;
		}
		return ACK_IN_OK;	/* EAGAIN: nothing more now; a regular file's end */
	}
}

void
ack_in_close(ack_in *a)
{
	if (a->fd != -1)
		close(a->fd);
	a->fd = -1;
	ack_reader_free(&a->rd);
}
