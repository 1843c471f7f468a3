/* out.c - buffered, checked output. */
#include <errno.h>
#include <unistd.h>

#include "file.h"
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
	if (o->err) {
		o->b.len = 0;
		return -1;
	}
	if (o->b.len > 0 && file_write_all(o->fd, o->b.p, o->b.len) == -1)
		o->err = errno;
	o->b.len = 0;
	return o->err ? -1 : 0;
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
