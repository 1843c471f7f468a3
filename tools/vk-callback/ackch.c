/* ackch.c - read the ack lines vk-route --ack writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ackch.h"
#include "log.h"

static int
open_fd(ackch *a, char *err, size_t errlen)
{
	struct stat st;

	a->skip = 0;
	buf_reset(&a->part);
	if ((a->fd = open(a->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open the ack channel %s: %s (vkpipe creates it "
		    "with mkfifo)", a->path, strerror(errno));
		return -1;
	}
	if (fstat(a->fd, &st) == -1 || (!S_ISFIFO(st.st_mode) && !S_ISREG(st.st_mode))) {
		snprintf(err, errlen, "the ack channel %s is neither a FIFO nor a regular file",
		    a->path);
		close(a->fd);
		a->fd = -1;
		return -1;
	}
	a->fifo = S_ISFIFO(st.st_mode);
	return 0;
}

int
ackch_open(ackch *a, const char *path, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	a->path = path;
	return open_fd(a, err, errlen);
}

static void
feed(ackch *a, const char *s, size_t n, void (*fn)(void *, const char *, size_t), void *arg)
{
	const char *nl;
	size_t len;

	while (n > 0) {
		nl = memchr(s, '\n', n);
		len = nl ? (size_t)(nl - s) : n;
		if (a->skip) {
			a->skip = nl == NULL;
		} else if (a->part.len + len > ACKCH_MAX_LINE) {
			a->toolong++;	/* not an event_id: ignored */
			buf_reset(&a->part);
			a->skip = nl == NULL;
		} else if (nl == NULL) {
			buf_put(&a->part, s, len);
		} else {
			const char *p = s;
			size_t m = len;

			if (a->part.len) {
				buf_put(&a->part, s, len);
				p = a->part.p;
				m = a->part.len;
			}
			if (m && p[m - 1] == '\r')
				m--;
			a->lines++;
			if (m)
				fn(arg, p, m);
			buf_reset(&a->part);
		}
		if (nl == NULL)
			break;
		s = nl + 1;
		n -= len + 1;
	}
}

void
ackch_read(ackch *a, void (*fn)(void *, const char *, size_t), void *arg)
{
	char chunk[16384], err[512];
	ssize_t r;

	if (a->fd == -1 && open_fd(a, err, sizeof(err)) == -1)
		return;		/* gone for now; tried again next time */
	for (;;) {
		r = read(a->fd, chunk, sizeof(chunk));
		if (r > 0) {
			feed(a, chunk, (size_t)r, fn, arg);
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0 && a->fifo) {
			/* No writer: a reopen clears the hang-up poll(2) would
			 * report for ever, and waits for the writer's restart. */
			close(a->fd);
			if (open_fd(a, err, sizeof(err)) == -1)
				log_warn("%s; acknowledgements wait until it is back", err);
		}
		return;		/* EAGAIN, a file's end, or a FIFO without a writer */
	}
}

void
ackch_close(ackch *a)
{
	if (a->fd != -1)
		close(a->fd);
	buf_free(&a->part);
	a->fd = -1;
}
