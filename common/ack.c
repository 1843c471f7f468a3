/* ack.c - the acknowledgement line, written and read (see ack.h). */
#define _GNU_SOURCE	/* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ack.h"
#include "alloc.h"
#include "log.h"
#include "mono.h"

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

/* --- the writing end ------------------------------------------------------ */

#define OUT_RETRY_SECS	0.1		/* a FIFO without a reader: try again */
#define OUT_MAX		(8u << 20)	/* acks kept for a missing reader */
#define OUT_KEEP	(1u << 20)	/* what is kept when that is passed */

/* Open the channel: 0 open, 1 a FIFO without a reader yet, -1 errno. */
static int
out_try_open(ack_out *o)
{
	o->fd = open(o->path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK |
	    O_CLOEXEC, 0644);
	if (o->fd != -1) {
		o->wait_out = 0;
		if (o->warned)
			log_warn("--ack %s: writing acknowledgements again", o->path);
		o->warned = 0;
		return 0;
	}
	return errno == ENXIO ? 1 : -1;
}

int
ack_out_open(ack_out *o, const char *path, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->path = xstrdup(path);
	if (out_try_open(o) == -1) {
		snprintf(err, errlen, "--ack %s: %s", path, strerror(errno));
		free(o->path);
		o->path = NULL;
		return -1;
	}
	if (o->fd == -1)
		log_info("--ack %s: the FIFO has no reader yet", path);
	return 0;
}

/* Keep at most OUT_MAX bytes for a reader that is not there: the newest. */
static void
out_trim(ack_out *o)
{
	const char *nl;
	size_t cut;

	if (o->fd != -1 || o->b.len - o->off <= OUT_MAX)
		return;
	nl = memchr(o->b.p + o->b.len - OUT_KEEP, '\n', OUT_KEEP);
	cut = (size_t)(nl + 1 - o->b.p);
	memmove(o->b.p, o->b.p + cut, o->b.len - cut);
	o->b.len -= cut;
	o->off = 0;
	/* An ack covers every Event before it: older ones are not needed. */
	if (!o->dropped_warned)
		log_warn("--ack %s: no reader; keeping only the newest acknowledgements",
		    o->path);
	o->dropped_warned = 1;
}

void
ack_out_put(ack_out *o, const char *id, size_t n)
{
	ack_line_put(&o->b, id, n);
	out_trim(o);
}

/* The reader went away part-way: the next one gets the partial line whole. */
static void
out_lost_reader(ack_out *o, double now, int err)
{
	const char *p = o->b.p + o->off;

	while (p > o->b.p && p[-1] != '\n')
		p--;
	o->off = (size_t)(p - o->b.p);
	close(o->fd);
	o->fd = -1;
	o->retry_at = now + OUT_RETRY_SECS;
	if (!o->warned)
		log_warn("--ack %s: %s; opening it again", o->path,
		    err == EPIPE ? "the reader went away" : strerror(err));
	o->warned = 1;
}

void
ack_out_write(ack_out *o, double now)
{
	ssize_t w;
	const char *p, *e;

	if (o->path == NULL)
		return;
	if (o->fd == -1) {
		if (o->off == o->b.len || now < o->retry_at)
			return;
		if (out_try_open(o) != 0) {
			int err = errno;

			if (err != ENXIO && !o->warned) {
				log_warn("--ack %s: %s; will retry", o->path, strerror(err));
				o->warned = 1;
			}
			o->retry_at = now + (err == ENXIO ? OUT_RETRY_SECS : 1.0);
			return;
		}
	}
	while (o->off < o->b.len) {
		w = write(o->fd, o->b.p + o->off, o->b.len - o->off);
		if (w > 0) {
			for (p = o->b.p + o->off, e = p + w;
			    (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
				o->written++;
			o->off += (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			o->wait_out = 1;
			break;
		}
		out_lost_reader(o, now, w == -1 ? errno : EIO);
		break;
	}
	if (o->off == o->b.len) {
		o->off = o->b.len = 0;
	} else if (o->off > (1u << 16) && o->off > o->b.len / 2) {
		memmove(o->b.p, o->b.p + o->off, o->b.len - o->off);
		o->b.len -= o->off;
		o->off = 0;
	}
}

int
ack_out_wait(const ack_out *o, double now, int *fd, int *timeout)
{
	if (o->path == NULL || o->off == o->b.len)
		return 0;
	if (o->fd == -1) {
		double ms = (o->retry_at - now) * 1000.0 + 1;
		int t = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;

		if (*timeout < 0 || t < *timeout)
			*timeout = t;
		return 0;
	}
	if (!o->wait_out)
		return 0;
	*fd = o->fd;
	return 1;
}

void
ack_out_ready(ack_out *o, double now)
{
	if (o->fd == -1)
		return;
	o->wait_out = 0;
	ack_out_write(o, now);
}

int
ack_out_pending(const ack_out *o)
{
	return o->path != NULL && o->off < o->b.len;
}

int
ack_out_close(ack_out *o, double deadline)
{
	struct pollfd pfd;
	double now;
	int t, rc = 0;
	size_t k;
	const char *p;

	if (o->path == NULL)
		return 0;
	for (;;) {
		now = mono_now();
		ack_out_write(o, now);
		if (!ack_out_pending(o) || now >= deadline)
			break;
		t = (int)((deadline - now) * 1000) + 1;
		if (t > 50)
			t = 50;
		if (o->fd != -1 && o->wait_out) {
			pfd.fd = o->fd;
			pfd.events = POLLOUT;
			poll(&pfd, 1, t);
			o->wait_out = 0;
		} else {
			poll(NULL, 0, t);
		}
	}
	if (ack_out_pending(o)) {
		for (k = 0, p = o->b.p + o->off; (p = memchr(p, '\n',
		    (size_t)(o->b.p + o->b.len - p))) != NULL; p++)
			k++;
		log_warn("--ack %s: %zu acknowledgement%s not written (%s)", o->path,
		    k, k == 1 ? "" : "s", o->fd == -1 ? "no reader" : "the reader is stuck");
		rc = -1;
	}
	if (o->fd != -1)
		close(o->fd);
	o->fd = -1;
	buf_free(&o->b);
	free(o->path);
	o->path = NULL;
	return rc;
}
