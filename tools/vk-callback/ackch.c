/* ackch.c - open, read and reopen the ack channel. */
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

	ack_reader_reset(&a->rd);
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
