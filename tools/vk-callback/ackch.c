/* ackch.c - open, read and reopen the ack channel. */
#include <string.h>
#include <unistd.h>

#include "ackch.h"
#include "log.h"

static int
open_fd(ackch *a, char *err, size_t errlen)
{
	ack_reader_reset(&a->rd);
	a->fd = ack_channel_open(a->path, &a->fifo, err, errlen);
	return a->fd == -1 ? -1 : 0;
}

int
ackch_open(ackch *a, const char *path, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	ack_reader_init(&a->rd);
	a->path = path;
	return open_fd(a, err, errlen);
}

void
ackch_read(ackch *a, ack_id_fn *fn, void *arg)
{
	char err[512];

	if (a->fd == -1 && open_fd(a, err, sizeof(err)) == -1)
		return;		/* gone for now; tried again next time */
	if (ack_reader_read(&a->rd, a->fd, fn, arg) == ACK_READ_EOF && a->fifo) {
		/* No writer: a reopen clears the hang-up poll(2) would report
		 * for ever, and waits for the writer's restart. */
		close(a->fd);
		if (open_fd(a, err, sizeof(err)) == -1)
			log_warn("%s; acknowledgements wait until it is back", err);
	}
}

void
ackch_close(ackch *a)
{
	if (a->fd != -1)
		close(a->fd);
	ack_reader_free(&a->rd);
	a->fd = -1;
}
