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
#include "dest.h"
#include "log.h"

#define RETRY_SECS	0.1		/* a FIFO without a reader: try again */
#define ACK_MAX		(8u << 20)	/* acks kept for a missing reader */
#define ACK_KEEP	(1u << 20)	/* what is kept when that is passed */

/* One destination of an Event: its line is number `seq` of d's queue. */
struct tgt {
	struct dest *d;
	unsigned long long seq;
};

struct pend {
	char	*id;		/* NULL: no ack line */
	int	 ntgt, cap;
	struct tgt one;		/* ntgt == 1 */
	struct tgt *t;		/* ntgt > 1 */
};

/* Destinations whose queue was dropped at the end, and where. */
struct cut {
	struct dest *d;
	unsigned long long gone;
	size_t	 nlines;
	unsigned long spilled;
};

static struct {
	struct pend *ring;
	size_t	 cap, head, n;	/* a ring of n entries from head */
	unsigned long long seq, done;
	struct cut *cut;
	int	 ncut;
	int	 cutting;	/* after dest_shutdown(): cuts apply */
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

void
track_begin(const char *id, size_t n)
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
	memset(p, 0, sizeof(*p));
	tk.seq++;
	if (id != NULL && (p->id = strndup(id, n)) == NULL)
		abort();
}

void
track_dest(struct dest *d)
{
	struct pend *p = at(tk.n - 1);
	struct tgt t = { d, d->q.pushed };

	if (p->ntgt == 0) {
		p->one = t;
	} else {
		if (p->ntgt == 1 || p->ntgt == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 4;
			if ((p->t = realloc(p->t, (size_t)p->cap * sizeof(*p->t))) == NULL)
				abort();
			if (p->ntgt == 1)
				p->t[0] = p->one;
		}
		p->t[p->ntgt] = t;
	}
	p->ntgt++;
}

void
track_failed(void)
{
	struct pend *p = at(tk.n - 1);

	free(p->id);
	p->id = NULL;
}

/* Has d finished with its line number seq? */
static int
tgt_done(const struct tgt *t)
{
	const struct dq *q = &t->d->q;
	int k;

	if (q->pushed - q->nlines < t->seq)
		return 0;
	for (k = 0; tk.cutting && k < tk.ncut; k++)
		if (tk.cut[k].d == t->d && t->seq > tk.cut[k].gone)
			return 0;	/* dropped at the end, not delivered */
	return 1;
}

static void ack_put(const char *id);

unsigned long
track_progress(void)
{
	unsigned long k = 0;
	struct pend *p;
	int j;

	while (tk.n > 0) {
		p = at(0);
		if (p->ntgt == 1 && !tgt_done(&p->one))
			break;
		for (j = 0; p->ntgt > 1 && j < p->ntgt; j++)
			if (!tgt_done(&p->t[j]))
				break;
		if (p->ntgt > 1 && j < p->ntgt)
			break;
		if (p->id != NULL && ao.path != NULL)
			ack_put(p->id);
		free(p->id);
		free(p->t);
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
track_shutdown_begin(void)
{
	struct dest *d;
	int n = 0;

	track_progress();
	for (d = dest_first(); d != NULL; d = d->next)
		n++;
	if ((tk.cut = calloc((size_t)n + 1, sizeof(*tk.cut))) == NULL)
		abort();
	for (d = dest_first(); d != NULL; d = d->next) {
		if (d->q.nlines == 0 || d->dead)
			continue;
		tk.cut[tk.ncut].d = d;
		tk.cut[tk.ncut].gone = d->q.pushed - d->q.nlines;
		tk.cut[tk.ncut].nlines = d->q.nlines;
		tk.cut[tk.ncut++].spilled = d->spilled;
	}
}

void
track_shutdown_end(void)
{
	int k, j = 0;

	/* What was spilled is dead-lettered: finished. The rest was dropped. */
	for (k = 0; k < tk.ncut; k++)
		if (tk.cut[k].d->spilled - tk.cut[k].spilled < tk.cut[k].nlines)
			tk.cut[j++] = tk.cut[k];
	tk.ncut = j;
	tk.cutting = 1;
	track_progress();
}

void
track_free(void)
{
	while (tk.n > 0) {
		free(at(0)->id);
		free(at(0)->t);
		tk.head = (tk.head + 1) & (tk.cap - 1);
		tk.n--;
	}
	free(tk.ring);
	free(tk.cut);
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
