/* dest_std.c - the `stdout` and `stderr` destinations. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dest.h"

static int
std_check(const char *arg, char *err, size_t errlen, size_t *col)
{
	size_t k = strspn(arg, " \t");

	if (arg[k] != '\0') {
		snprintf(err, errlen, "this destination takes no argument");
		*col = k;
		return -1;
	}
	return 0;
}

static int
std_init(struct dest *d, const char *arg, char *err, size_t errlen)
{
	(void)d;
	(void)arg;
	(void)err;
	(void)errlen;
	return 0;
}

/*
 * stdout: when it is a pipe, open the pipe anew through /proc so that this
 * private description can be non-blocking (setting O_NONBLOCK on fd 1 would
 * change it for every process sharing it, the shell included). A stuck
 * reader then only fills this destination's queue. Otherwise, plain writes.
 */
static int
stdout_open(struct dest *d)
{
	struct stat st;
	int fd = -1;

	if (fstat(1, &st) == 0 && S_ISFIFO(st.st_mode))
		fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
		d->blocking = 1;
	}
	if (fd == -1) {
		snprintf(d->err, sizeof(d->err), "%s", strerror(errno));
		return -1;
	}
	d->fd = fd;
	return 0;
}

/* stderr: blocking writes, so a line never meets a diagnostic halfway. */
static int
stderr_open(struct dest *d)
{
	d->fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	d->blocking = 1;
	if (d->fd == -1) {
		snprintf(d->err, sizeof(d->err), "%s", strerror(errno));
		return -1;
	}
	return 0;
}

const struct dest_kind dest_stdout_kind = {
	.prefix = "stdout",
	.flags = DEST_EPIPE_FINAL,
	.check = std_check,
	.init = std_init,
	.open = stdout_open,
};

const struct dest_kind dest_stderr_kind = {
	.prefix = "stderr",
	.flags = DEST_EPIPE_FINAL,
	.check = std_check,
	.init = std_init,
	.open = stderr_open,
};
