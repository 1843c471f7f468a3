/* stream.c - a stream kind's queue written to its descriptor, whole lines. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dest.h"
#include "log.h"
#include "stream.h"

#define WRITE_MAX	(8u << 20)	/* bytes given to one write(2) */

int
stream_write(struct dest *d)
{
	const char *p;
	size_t n;
	ssize_t w;

	for (;;) {
		p = dq_unsent(&d->q, &n);
		if (n == 0)
			return 0;
		w = write(d->fd, p, n > WRITE_MAX ? WRITE_MAX : n);
		if (w > 0) {
			dq_sent(&d->q, (size_t)w);
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			d->wait_out = 1;
			return 0;
		}
		return w == -1 ? errno : STREAM_STUCK;
	}
}

void
stream_cut(struct dest *d)
{
	size_t frag = dq_inflight(&d->q);
	struct stat st;
	off_t end;

	if (frag == 0 || (d->kind->flags & DEST_TAKEN_LATER) ||
	    fstat(d->fd, &st) == -1 || !S_ISREG(st.st_mode))
		return;
	if ((end = lseek(d->fd, 0, SEEK_CUR)) == -1 || end < (off_t)frag ||
	    ftruncate(d->fd, end - (off_t)frag) == -1)
		log_warn("%s: cannot remove the part of a line written before "
		    "the error: %s", d->label, strerror(errno));
}

int
stream_peer_closed(struct dest *d, int *err)
{
	char tmp[4096];
	ssize_t r;

	while ((r = read(d->fd, tmp, sizeof(tmp))) > 0)
		;
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	*err = r == -1 ? errno : 0;
	return 1;
}
