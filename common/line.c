/* line.c - newline-delimited input with a bounded line length. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "line.h"

#define READ_CHUNK	(128u << 10)

void
line_open(linerd *r, int fd, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max = max ? max : LINE_MAX_DEFAULT;
}

void
line_close(linerd *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = r->beg = r->end = r->nl = 0;
}

int
line_wait(linerd *r, int ms)
{
	struct pollfd pfd;
	const char *nl;

	/* line_next() takes the line found here without looking again */
	if (r->end > r->beg && (nl = memchr(r->buf + r->beg, '\n', r->end - r->beg)) != NULL) {
		r->nl = (size_t)(nl - r->buf) + 1;
		return 1;
	}
	if (r->eof)
		return 1;
	pfd.fd = r->fd;
	pfd.events = POLLIN;
	return poll(&pfd, 1, ms) > 0;
}

int
line_ready(linerd *r)
{
	return line_wait(r, 0);
}

/* Read more bytes after r->end, making room first. 0 on EOF. */
static ssize_t
fill(linerd *r)
{
	ssize_t got;
	size_t want;

	r->nl = 0;
	if (r->beg > 0 && (r->beg == r->end || r->cap - r->end < READ_CHUNK)) {
		memmove(r->buf, r->buf + r->beg, r->end - r->beg);
		r->end -= r->beg;
		r->beg = 0;
	}
	if (r->cap - r->end < READ_CHUNK) {
		size_t cap = r->cap ? r->cap : READ_CHUNK;
		char *nb;

		while (cap - r->end < READ_CHUNK)
			cap *= 2;
		if ((nb = realloc(r->buf, cap)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		r->buf = nb;
		r->cap = cap;
	}
	want = r->cap - r->end;
	if (r->wait_hook != NULL) {
		struct pollfd pfd = { r->fd, POLLIN, 0 };

		if (poll(&pfd, 1, 0) == 0)
			r->wait_hook(r->wait_arg);
	}
	do
		got = r->readfn ? r->readfn(r->read_arg, r->fd, r->buf + r->end, want) :
		    read(r->fd, r->buf + r->end, want);
	while (got == -1 && errno == EINTR && !(r->intr && *r->intr));
	if (got > 0)
		r->end += (size_t)got;
	return got;
}

int
line_next(linerd *r, const char **p, size_t *n)
{
	char *nl;
	size_t scanned = 0;
	ssize_t got;

	for (;;) {
		if (r->nl > r->beg)
			nl = r->buf + r->nl - 1;
		else
			nl = r->end > r->beg + scanned ? memchr(r->buf + r->beg +
			    scanned, '\n', r->end - r->beg - scanned) : NULL;
		r->nl = 0;
		if (nl != NULL) {
			size_t len = (size_t)(nl - (r->buf + r->beg));
			const char *start = r->buf + r->beg;

			r->beg += len + 1;
			r->lineno++;
			if (r->toolong || len > r->max) {
				r->toolong = 0;
				return LINE_TOOLONG;
			}
			*p = start;
			*n = len;
			return LINE_OK;
		}
		scanned = r->end - r->beg;
		if (scanned > r->max) {
			/* Past the limit: forget the bytes, remember the verdict. */
			r->toolong = 1;
			r->beg = r->end;
			scanned = 0;
		}
		if (r->eof)
			break;
		if (r->pollmode && !r->readable)
			return LINE_AGAIN;
		r->readable = 0;
		got = fill(r);
		if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return LINE_AGAIN;
		if (got == -1 && errno == EINTR)
			return LINE_INTR;	/* nothing consumed: call again */
		if (got == -1)
			return LINE_ERR;
		if (got == 0)
			r->eof = 1;
	}
	/* End of input: a last line without a newline still counts. */
	if (r->end > r->beg || r->toolong) {
		size_t len = r->end - r->beg;

		*p = r->buf + r->beg;
		*n = len;
		r->beg = r->end;
		r->lineno++;
		if (r->toolong) {
			r->toolong = 0;
			return LINE_TOOLONG;
		}
		return LINE_OK;
	}
	return LINE_EOF;
}
