/* dest_file.c - `file:PATH`: appends whole lines; a FIFO waits for its reader. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "dest.h"

static int
file_check(const char *arg, char *err, size_t errlen, size_t *col)
{
	if (*arg == '\0') {
		snprintf(err, errlen, "file: needs a path");
		*col = 0;
		return -1;
	}
	return 0;
}

static int
file_init(struct dest *d, const char *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	d->priv = xstrdup(arg);
	return 0;
}

/*
 * O_NONBLOCK: opening a FIFO without a reader fails at once with ENXIO
 * instead of hanging every other destination; we try again later. On a
 * regular file it changes nothing; O_APPEND keeps whole lines together
 * even when another program appends to the same file.
 */
static int
file_open(struct dest *d)
{
	const char *path = d->priv;

	d->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK |
	    O_CLOEXEC, 0644);
	if (d->fd != -1)
		return 0;
	if (errno == ENXIO) {
		snprintf(d->err, sizeof(d->err), "FIFO has no reader yet");
		return 1;
	}
	/* a name from an Event may be long: the reason must still show */
	snprintf(d->err, sizeof(d->err), "cannot open %.120s%s: %s", path,
	    strlen(path) > 120 ? "…" : "", strerror(errno));
	/* A name the system will never open refuses its lines, so that one
	 * Event cannot hold back every later one; EACCES, ENOSPC, EMFILE,
	 * ENOENT (a directory still to come) may pass: retried. */
	return dest_errno_final(errno) ? 2 : -1;
}

static void
file_free(struct dest *d)
{
	free(d->priv);
}

const struct dest_kind dest_file_kind = {
	.prefix = "file:",
	.flags = DEST_PATH_TEMPLATES,
	.check = file_check,
	.init = file_init,
	.open = file_open,
	.reopen = 1,
	.free = file_free,
};
