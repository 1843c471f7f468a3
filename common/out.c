/* out.c - buffered, checked output. */
#include <errno.h>
#include <unistd.h>

#include "out.h"

#define OUT_HIWAT	(64u << 10)

void
out_open(out *o, int fd)
{
	o->fd = fd;
	o->b = (buf)BUF_INIT;
	o->hiwat = OUT_HIWAT;
	o->unbuffered = 0;
	o->err = 0;
}

int
out_flush(out *o)
{
	size_t off = 0;
	ssize_t w;

	if (o->err) {
		o->b.len = 0;
		return -1;
	}
	while (off < o->b.len) {
		w = write(o->fd, o->b.p + off, o->b.len - off);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			o->err = errno;
			o->b.len = 0;
			return -1;
		}
		off += (size_t)w;
	}
	o->b.len = 0;
	return 0;
}

void
out_flush_hook(void *o)
{
	out_flush(o);
}

void
out_close(out *o)
{
	buf_free(&o->b);
}
