/* ack.c - vk-route --ack: the finished Events, in input order, to the poller. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ack.h"
#include "../../common/ack.h"	/* the wire format; this ack.h is vk-route's tracker */
#include "buf.h"
#include "log.h"

#define RETRY_SECS	0.1		/* a FIFO without a reader: try again */
#define ACK_MAX		(8u << 20)	/* acks kept for a missing reader */
#define ACK_KEEP	(1u << 20)	/* what is kept when that is passed */

/* One Event: the lines it still waits for. */
struct pend {
	char	*id;		/* NULL: no ack line */
	unsigned long line;	/* its input line, for messages */
	unsigned outstanding;	/* lines queued, no final fate yet */
	int	 dropped;	/* a line was dropped at exit: never finished */
};

static struct {
	struct pend *ring;
	size_t	 cap, head, n;	/* a ring of n entries from head */
	unsigned long long seq, done;	/* Events begun, and popped */
} tk;

static struct {
	char	*path;
	int	 fd;
	buf	 b;		/* acks not written yet, from off */
	size_t	 off;
	double	 retry_at;
	int	 wait_out, warned, dropped_warned;
	int	 enabled;	/* stays set after ack_close(), for --stats */
	unsigned long written;
} ao = { .fd = -1 };

/* --- the tracker --------------------------------------------------------- */

static struct pend *
at(size_t k)
{
	return &tk.ring[(tk.head + k) & (tk.cap - 1)];
}

/* The entry of Event number ev, or NULL when it is gone (or ev 0). */
static struct pend *
pend_of(unsigned long long ev)
{
	if (ev <= tk.done || ev > tk.seq)
		return NULL;
	return at((size_t)(ev - tk.done - 1));
}

void
track_begin(const char *id, size_t n, unsigned long lineno)
{
	struct pend *p;

	if (tk.n == tk.cap) {
		size_t ncap = tk.cap ? tk.cap * 2 : 1024, k;
		struct pend *nr = malloc(ncap * sizeof(*nr));

		if (nr == NULL)
			abort();
		for (k = 0; k < tk.n; k++)
			nr[k] = *at(k);
		free(tk.ring);
		tk.ring = nr;
		tk.cap = ncap;
		tk.head = 0;
	}
	p = at(tk.n++);
	p->id = NULL;
	p->line = lineno;
	p->outstanding = 0;
	p->dropped = 0;
	tk.seq++;
	if (id != NULL && (p->id = strndup(id, n)) == NULL)
		abort();
}

void
track_ticket(struct dest_ticket *t, struct dest_tally *tally)
{
	t->ev = tk.n > 0 ? tk.seq : 0;
	t->tally = tally;
	t->done = 0;
	if (tk.n > 0)
		at(tk.n - 1)->outstanding++;
}

/* No ack line of its own for the Event p. */
static void
no_ack(struct pend *p)
{
	free(p->id);
	p->id = NULL;
}

void
track_failed(struct dest_tally *tally)
{
	if (tally != NULL)
		tally->failed++;
	if (tk.n > 0)
		no_ack(at(tk.n - 1));
}

void
track_report(struct dest *d, struct dest_ticket *t, enum dest_fate f)
{
	struct pend *p;

	if (f == DEST_RETRY || t->done)
		return;
	t->done = 1;
	switch (f) {
	case DEST_DELIVERED:
		d->delivered++;
		break;
	case DEST_SPILLED:
		d->spilled++;
		d->lost++;
		break;
	case DEST_REFUSED:	/* and kept with --spill: finished */
		d->lost++;
		break;
	default:	/* failed, dropped (refused: dest_report made it one of these) */
		d->failed++;
		d->lost++;
		break;
	}
	if (t->tally != NULL) {
		if (f == DEST_DELIVERED)
			t->tally->delivered++;
		else
			t->tally->failed++;
	}
	if ((p = pend_of(t->ev)) == NULL)
		return;
	p->outstanding--;
	if (f == DEST_FAILED)
		no_ack(p);
	else if (f == DEST_DROPPED)
		p->dropped = 1;
}

const char *
track_id(unsigned long long ev, size_t *n)
{
	struct pend *p = pend_of(ev);

	if (p == NULL || p->id == NULL)
		return NULL;
	*n = strlen(p->id);
	return p->id;
}

unsigned long
track_line(unsigned long long ev)
{
	struct pend *p = pend_of(ev);

	return p != NULL ? p->line : 0;
}

static void ack_put(const char *id);

unsigned long
track_progress(void)
{
	unsigned long k = 0;
	struct pend *p;

	while (tk.n > 0) {
		p = at(0);
		if (p->outstanding > 0 || p->dropped)
			break;
		if (p->id != NULL && ao.path != NULL)
			ack_put(p->id);
		free(p->id);
		tk.head = (tk.head + 1) & (tk.cap - 1);
		tk.n--;
		tk.done++;
		k++;
	}
	return k;
}

unsigned long long
track_done(void)
{
	return tk.done;
}

size_t
track_waiting(void)
{
	return tk.n;
}

void
track_free(void)
{
	while (tk.n > 0) {
		free(at(0)->id);
		tk.head = (tk.head + 1) & (tk.cap - 1);
		tk.n--;
	}
	free(tk.ring);
	memset(&tk, 0, sizeof(tk));
}

/* --- the channel --------------------------------------------------------- */

int
ack_enabled(void)
{
	return ao.enabled;
}

/* Open the channel: 0 open, 1 a FIFO without a reader yet, -1 errno. */
static int
try_open(void)
{
	ao.fd = open(ao.path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK |
	    O_CLOEXEC, 0644);
	if (ao.fd != -1) {
		ao.wait_out = 0;
		if (ao.warned)
			log_warn("--ack %s: writing acknowledgements again", ao.path);
		ao.warned = 0;
		return 0;
	}
	return errno == ENXIO ? 1 : -1;
}

int
ack_open(const char *path, char *err, size_t errlen)
{
	if ((ao.path = strdup(path)) == NULL)
		abort();
	if (try_open() == -1) {
		snprintf(err, errlen, "--ack %s: %s", path, strerror(errno));
		free(ao.path);
		ao.path = NULL;
		return -1;
	}
	if (ao.fd == -1)
		log_info("--ack %s: the FIFO has no reader yet", path);
	ao.enabled = 1;
	return 0;
}

/* Keep at most ACK_MAX bytes for a reader that is not there: the newest. */
static void
ack_trim(void)
{
	const char *nl;
	size_t cut;

	if (ao.fd != -1 || ao.b.len - ao.off <= ACK_MAX)
		return;
	nl = memchr(ao.b.p + ao.b.len - ACK_KEEP, '\n', ACK_KEEP);
	cut = (size_t)(nl + 1 - ao.b.p);
	memmove(ao.b.p, ao.b.p + cut, ao.b.len - cut);
	ao.b.len -= cut;
	ao.off = 0;
	/* An ack covers every Event before it: older ones are not needed. */
	if (!ao.dropped_warned)
		log_warn("--ack %s: no reader; keeping only the newest acknowledgements",
		    ao.path);
	ao.dropped_warned = 1;
}

static void
ack_put(const char *id)
{
	ack_line_put(&ao.b, id, strlen(id));	/* main() checked it: ack_id_check() */
	ack_trim();
}

/* The reader went away part-way: the next one gets the partial line whole. */
static void
ack_lost_reader(double now, int err)
{
	const char *p = ao.b.p + ao.off;

	while (p > ao.b.p && p[-1] != '\n')
		p--;
	ao.off = (size_t)(p - ao.b.p);
	close(ao.fd);
	ao.fd = -1;
	ao.retry_at = now + RETRY_SECS;
	if (!ao.warned)
		log_warn("--ack %s: %s; opening it again", ao.path,
		    err == EPIPE ? "the reader went away" : strerror(err));
	ao.warned = 1;
}

void
ack_write(double now)
{
	ssize_t w;
	const char *p, *e;

	if (ao.path == NULL)
		return;
	if (ao.fd == -1) {
		if (ao.off == ao.b.len || now < ao.retry_at)
			return;
		if (try_open() != 0) {
			int e = errno;

			if (e != ENXIO && !ao.warned) {
				log_warn("--ack %s: %s; will retry", ao.path, strerror(e));
				ao.warned = 1;
			}
			ao.retry_at = now + (e == ENXIO ? RETRY_SECS : 1.0);
			return;
		}
	}
	while (ao.off < ao.b.len) {
		w = write(ao.fd, ao.b.p + ao.off, ao.b.len - ao.off);
		if (w > 0) {
			for (p = ao.b.p + ao.off, e = p + w;
			    (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
				ao.written++;
			ao.off += (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ao.wait_out = 1;
			break;
		}
		ack_lost_reader(now, w == -1 ? errno : EIO);
		break;
	}
	if (ao.off == ao.b.len) {
		ao.off = ao.b.len = 0;
	} else if (ao.off > (1u << 16) && ao.off > ao.b.len / 2) {
		memmove(ao.b.p, ao.b.p + ao.off, ao.b.len - ao.off);
		ao.b.len -= ao.off;
		ao.off = 0;
	}
}

int
ack_pollfd(struct pollfd *pfd, double now, int *timeout)
{
	if (ao.path == NULL || ao.off == ao.b.len)
		return 0;
	if (ao.fd == -1) {
		double ms = (ao.retry_at - now) * 1000.0 + 1;
		int t = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;

		if (*timeout < 0 || t < *timeout)
			*timeout = t;
		return 0;
	}
	if (!ao.wait_out)
		return 0;
	pfd->fd = ao.fd;
	pfd->events = POLLOUT;
	pfd->revents = 0;
	return 1;
}

void
ack_revents(short revents, double now)
{
	if (revents == 0 || ao.fd == -1)
		return;
	ao.wait_out = 0;
	ack_write(now);
}

unsigned long
ack_count(void)
{
	return ao.written;
}

int
ack_pending(void)
{
	return ao.path != NULL && ao.off < ao.b.len;
}

int
ack_close(double deadline)
{
	struct pollfd pfd;
	double now;
	int t, rc = 0;
	size_t k;
	const char *p;

	if (ao.path == NULL)
		return 0;
	for (;;) {
		now = dest_now();
		ack_write(now);
		if (!ack_pending() || now >= deadline)
			break;
		t = (int)((deadline - now) * 1000) + 1;
		if (t > 50)
			t = 50;
		if (ao.fd != -1 && ao.wait_out) {
			pfd.fd = ao.fd;
			pfd.events = POLLOUT;
			poll(&pfd, 1, t);
			ao.wait_out = 0;
		} else {
			struct timespec ts = { 0, (long)t * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	if (ack_pending()) {
		for (k = 0, p = ao.b.p + ao.off; (p = memchr(p, '\n',
		    (size_t)(ao.b.p + ao.b.len - p))) != NULL; p++)
			k++;
		log_warn("--ack %s: %zu acknowledgement%s not written (%s)", ao.path,
		    k, k == 1 ? "" : "s", ao.fd == -1 ? "no reader" : "the reader is stuck");
		rc = -1;
	}
	if (ao.fd != -1)
		close(ao.fd);
	ao.fd = -1;
	buf_free(&ao.b);
	free(ao.path);
	ao.path = NULL;
	return rc;
}
