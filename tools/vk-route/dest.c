/* dest.c - the driver: lines queued, destinations opened, written, retried, reports. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dest.h"
#include "log.h"
#include "mono.h"
#include "registry.h"
#include "spill.h"
#include "stream.h"
#include "track.h"

#define ROOM_SECS	0.05	/* waiting for a slot: look again after */
#define FIFO_MAX_MS	1000	/* a FIFO without a reader: look at least this often */
#define CONNECT_SECS	10.0	/* a connection not made by then is retried */

struct dest_opts dest_opt = { 10000, 256, NULL, 64u << 10 };
static int nfull;	/* queues holding --queue lines */

static void refull(struct dest *d);

/* --- delivery reports ---------------------------------------------------- */

void
dest_report(struct dest *d, struct dest_ticket *t, const char *line, size_t n,
    enum dest_fate f, int status, const char *why)
{
	if (t->done || f == DEST_RETRY)
		return;
	reg_settled();
	if (f == DEST_REFUSED) {
		int kept = keep_refused(d, line, n, status, why);
		buf shown = BUF_INIT;

		if (d->rejected++ == 0) {
			unsigned long lineno = track_line(t->ev);
			char at[32] = "";

			if (lineno > 0)
				snprintf(at, sizeof(at), "line %lu: ", lineno);
			dest_escape(&shown, why, strlen(why));
			log_warn("%s%s: the destination refused a line: %s%s%s",
			    at, d->label, buf_cstr(&shown), kept == 0 ? "; kept in " : "",
			    kept == 0 ? d->reject_path : "");
			buf_free(&shown);
		}
		if (kept != 0)
			f = DEST_FAILED;	/* else DEST_REFUSED: kept, finished */
	}
	track_report(&d->cnt, t, f);
}

void
dest_settle(struct dest *d, size_t k, enum dest_fate f, int status,
    const char *why)
{
	struct dq *q = &d->q;
	const char *p, *nl;
	size_t j;

	if (k > q->nlines)
		k = q->nlines;
	if (k > 0)
		reg_settled();
	if (f == DEST_DELIVERED) {	/* the common case: no need for the bytes */
		for (j = 0; j < k; j++)
			track_report(&d->cnt, dq_ticket(q, j), f);
	} else {
		p = q->b.p + q->head;
		for (j = 0; j < k; j++) {
			nl = memchr(p, '\n', q->b.len - (size_t)(p - q->b.p));
			dest_report(d, dq_ticket(q, j), p, (size_t)(nl - p), f,
			    status, why);
			p = nl + 1;
		}
	}
	dq_ack(q, k);
	refull(d);
}

void
dest_retry(struct dest *d, double now, const char *fmt, ...)
{
	va_list ap;
	char why[sizeof(d->err)];

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	d->retried += dq_sent_lines(&d->q);
	dq_rewind(&d->q);
	dest_fail(d, now, "%s", why);
}

int
dest_errno_final(int e)
{
	return e == ENAMETOOLONG || e == EISDIR || e == EINVAL || e == ENOTDIR ||
	    e == ELOOP;
}

/* --- queueing ------------------------------------------------------------ */


static void
refull(struct dest *d)
{
	int full = d->q.nlines >= dest_opt.qmax;

	if (full != d->full) {
		nfull += full ? 1 : -1;
		d->full = full;
	}
}

static void service_one(struct dest *d, double now, int idle);

void
dest_push(struct dest *d, const char *line, size_t n, const struct dest_ticket *t)
{
	struct dq *q;
	struct dest_ticket one = *t;

	if (d->group)	/* workers: the line goes to one of them */
		d = d->kind->pick(d, line, n);
	q = &d->q;
	if (d->dead) {
		dest_report(d, &one, line, n, DEST_FAILED, 0, NULL);
		return;
	}
	if (q->nlines >= dest_opt.qmax && dest_opt.spill_dir != NULL)
		service_one(d, mono_now(), 1);	/* spill only what cannot go now */
	if (q->nlines >= dest_opt.qmax && dest_opt.spill_dir != NULL) {
		const char *p;
		size_t pn = 0;

		if (q->sent == q->head) {
			/* Spill the oldest line and queue the new one: the
			 * dead-letter file stays in input order. */
			p = dq_first(q, &pn);
			dest_settle(d, 1, spill(d, p, pn) == 0 ? DEST_SPILLED :
			    DEST_FAILED, 0, NULL);
		} else {
			dest_report(d, &one, line, n, spill(d, line, n) == 0 ?
			    DEST_SPILLED : DEST_FAILED, 0, NULL);
			return;
		}
	}
	dq_push(q, line, n, t);
	refull(d);
}

int
dest_blocked(void)
{
	return (nfull > 0 && dest_opt.spill_dir == NULL) || reg_full();
}

int
dest_pending(void)
{
	struct dest *d;

	for (d = dest_first(); d != NULL; d = d->next)
		if (!d->dead && !d->evicted && dest_has_work(d))
			return 1;
	return 0;
}

/* --- failures ------------------------------------------------------------ */

void
dest_fail(struct dest *d, double now, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
	if (!d->failing)
		log_warn("%s: %s; will retry", d->label, d->err);
	d->failing = 1;
	d->retry_at = now + (double)backoff_next(&d->bo) / 1000.0;
}

void
dest_ok(struct dest *d)
{
	if (d->failing)
		log_warn("%s: delivering again", d->label);
	d->failing = 0;
	backoff_reset(&d->bo);
}

/* Give up on d for good: what waits fails. */
static void
dest_kill(struct dest *d)
{
	d->dead = 1;
	dest_settle(d, d->q.nlines, DEST_FAILED, 0, NULL);
	dest_close(d);
	refull(d);
}

/* --- driving ------------------------------------------------------------- */

/* Report the lines written whole (a stream kind whose reader took them). */
static void
stream_taken(struct dest *d)
{
	if (!(d->kind->flags & DEST_TAKEN_LATER))
		dest_settle(d, dq_sent_lines(&d->q), DEST_DELIVERED, 0, NULL);
}

/* Write what waits to a stream kind's descriptor; report what was taken. */
static void
stream_flush(struct dest *d, double now)
{
	int e = stream_write(d);

	stream_taken(d);
	if (e == 0) {
		refull(d);
		return;
	}
	if (e == EPIPE && (d->kind->flags & DEST_EPIPE_FINAL)) {
		log_warn("%s: the reader went away: %zu line%s not delivered, "
		    "and no later one", d->label, d->q.nlines,
		    d->q.nlines == 1 ? "" : "s");
		dest_kill(d);
		return;
	}
	/* The reader went away or the device failed: send again, whole lines. */
	stream_cut(d);
	dest_close(d);
	dest_retry(d, now, "write failed: %s", e != STREAM_STUCK ? strerror(e) : "no progress");
	refull(d);
}

/* A stream socket polled readable: the peer closed it? */
static void
stream_peer(struct dest *d, double now)
{
	int e;

	if (!stream_peer_closed(d, &e))
		return;
	stream_taken(d);
	dest_close(d);
	dest_retry(d, now, "the receiver closed the connection%s%s",
	    e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
	refull(d);
}

/*
 * Kinds come in two shapes: protocol kinds (io(): HTTP, Redis, AMQP) read
 * and write their connection themselves, keep it open and prove delivery by
 * replies; stream kinds (a descriptor that takes bytes) are written here.
 * The driver's steps go through protocol(), events_of() and work(), each
 * step one path.
 */
static int
protocol(const struct dest *d)
{
	return d->kind->io != NULL;
}

/* What d waits for on its open descriptor. */
static short
events_of(struct dest *d)
{
	size_t unsent;
	short ev;

	if (protocol(d))
		return d->kind->events(d);
	dq_unsent(&d->q, &unsent);
	ev = unsent > 0 ? POLLOUT : 0;
	return (d->kind->flags & DEST_SOCKET) ? ev | POLLIN : ev;
}

/*
 * d's work on its open descriptor: revents as polled, or 0 for a service
 * turn (idle: write even a small batch, else only past the high-water mark).
 */
static void
work(struct dest *d, short revents, double now, int idle)
{
	size_t unsent;

	if (protocol(d)) {
		if (d->kind->io(d, revents) == -1)
			dest_close(d);
		refull(d);
		return;
	}
	if ((d->kind->flags & DEST_SOCKET) && (revents & (POLLIN | POLLHUP | POLLERR))) {
		stream_peer(d, now);
		if (d->fd == -1 || !(revents & POLLOUT))
			return;
	}
	if (revents != 0) {	/* writable (or an error write() will tell) */
		d->wait_out = 0;
		stream_flush(d, now);
		return;
	}
	dq_unsent(&d->q, &unsent);
	if (!d->wait_out && unsent > 0 &&
	    (idle || unsent >= dest_opt.hiwat || d->full))
		stream_flush(d, now);
	if (d->kind->taken != NULL && d->fd != -1 && dq_inflight(&d->q) > 0)
		d->look_ms = d->kind->taken(d, now);
}

/* Call the kind's open(); 0 when d->fd is ready. */
static int
open_step(struct dest *d, double now)
{
	int r;

	d->err[0] = '\0';
	if (reg_slot(d) == -1) {	/* --max-open busy ones: when one is idle */
		d->retry_at = now + ROOM_SECS;
		return 1;
	}
	r = d->kind->open(d);
	d->connecting = 0;
	if (r == -1) {
		char why[sizeof(d->err)];

		memcpy(why, d->err, sizeof(why));
		if (d->fd != -1)
			dest_close(d);
		dest_fail(d, now, "%s", why);
		return -1;
	}
	if (r == 2) {	/* never: every line waiting is refused */
		char why[sizeof(d->err)];

		memcpy(why, d->err, sizeof(why));
		if (d->fd != -1)
			dest_close(d);
		dest_settle(d, d->q.nlines, DEST_REFUSED, 0, why);
		return -1;
	}
	if (r == 1 && d->fd != -1) {	/* connecting */
		d->connecting = 1;
		d->retry_at = now + CONNECT_SECS;
		return 1;
	}
	if (r == 1) {	/* e.g. a FIFO without a reader yet */
		long ms = backoff_next(&d->bo);

		d->retry_at = now + (double)(ms > FIFO_MAX_MS ? FIFO_MAX_MS : ms) / 1000.0;
		if (d->err[0] != '\0')
			log_info("%s: %s", d->label, d->err);
		return 1;
	}
	d->wait_out = 0;
	/* Protocol kinds wait for a reply, a handler for its first read. */
	if (!protocol(d) && !(d->kind->flags & DEST_TAKEN_LATER))
		dest_ok(d);
	return 0;
}

static void
service_one(struct dest *d, double now, int idle)
{
	if (d->dead || d->evicted)
		return;
	if (d->want_reopen && dq_inflight(&d->q) == 0) {
		d->want_reopen = 0;
		if (d->fd != -1)
			dest_close(d);
		d->retry_at = 0;
	}
	if (d->fd == -1 && !protocol(d) && !dest_has_work(d))
		return;	/* a stream opens when it has work; a protocol kind connects at once */
	if (d->connecting && now >= d->retry_at) {
		dest_close(d);
		dest_fail(d, now, "no connection after %.0f seconds", CONNECT_SECS);
		return;
	}
	if (d->connecting)
		return;
	if (d->fd == -1) {
		/* Waiting for a slot: try again as soon as something settled. */
		if (now < d->retry_at && !(d->wait_room && reg_slot_maybe()))
			return;
		d->wait_room = 0;
		if (open_step(d, now) != 0)
			return;
	}
	work(d, 0, now, idle);
}

void
dest_service(double now, int idle)
{
	struct dest *d;

	reg_sweep();
	for (d = dest_first(); d != NULL; d = d->next)
		service_one(d, now, idle);
	reg_trim();
}

int
dest_pollset(struct pollfd *pfd, struct dest **who, int max, double now,
    int *timeout)
{
	struct dest *d;
	int n = 0;
	short ev;

	for (d = dest_first(); d != NULL; d = d->next) {
		if (d->dead || d->evicted)
			continue;
		if (d->aux_fd != -1 && n < max) {
			pfd[n].fd = d->aux_fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			who[n++] = d;
		}
		if (d->kind->taken != NULL && d->look_ms >= 0 && dq_inflight(&d->q) > 0 &&
		    (*timeout < 0 || d->look_ms < *timeout))
			*timeout = d->look_ms;
		if (d->fd == -1 || d->connecting) {
			if (d->connecting && n < max) {
				pfd[n].fd = d->fd;
				pfd[n].events = POLLOUT;
				pfd[n].revents = 0;
				who[n++] = d;
			}
			if (protocol(d) || dest_has_work(d) || d->connecting) {
				double ms = (d->retry_at - now) * 1000.0 + 1;
				int t = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;

				if (d->wait_room && reg_slot_maybe())
					t = 0;	/* a slot may be free: look now */

				if (*timeout < 0 || t < *timeout)
					*timeout = t;
			}
			continue;
		}
		ev = events_of(d);
		if (ev == 0 || n == max)
			continue;
		pfd[n].fd = d->fd;
		pfd[n].events = ev;
		pfd[n].revents = 0;
		who[n++] = d;
	}
	return n;
}

void
dest_revents(struct dest *d, int fd, short revents, double now)
{
	if (revents != 0 && fd == d->aux_fd && fd != -1) {
		d->kind->aux(d, now);
		return;
	}
	if (revents == 0 || d->dead || d->fd == -1 || fd != d->fd)
		return;
	if (d->connecting) {
		if (open_step(d, now) == 0)
			service_one(d, now, 1);
		return;
	}
	work(d, revents, now, 1);
}

void
dest_reap(double now)
{
	struct dest *d;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (d = dest_first(); d != NULL; d = d->next)
			if (d->kind->child != NULL && d->kind->child(d, pid, st, now))
				break;
}

void
dest_reopen_all(void)
{
	struct dest *d;

	for (d = dest_first(); d != NULL; d = d->next)
		if (d->kind->reopen)
			d->want_reopen = 1;
}

unsigned long
dest_shutdown(double deadline)
{
	struct dest *d;
	unsigned long kept = 0, before;
	int busy;
	size_t n, pn = 0;
	const char *p;

	/* Let handlers finish their input, within the drain time. */
	do {
		busy = 0;
		for (d = dest_first(); d != NULL; d = d->next)
			if (d->kind->finish != NULL && d->kind->finish(d))
				busy = 1;
		if (busy && mono_now() < deadline) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		} else {
			break;
		}
	} while (busy);
	for (d = dest_first(); d != NULL; d = d->next)
		dest_close(d);
	/* What is left was not delivered: spilled, or dropped. */
	for (d = dest_first(); d != NULL; d = d->next) {
		size_t k;

		for (k = n = 0; k < d->q.nlines; k++)	/* #confirm: some told already */
			n += !dq_ticket(&d->q, k)->done;
		if (n == 0) {
			dest_settle(d, d->q.nlines, DEST_DROPPED, 0, NULL);
			continue;
		}
		before = d->cnt.spilled;
		while ((p = dq_first(&d->q, &pn)) != NULL)
			dest_settle(d, 1, dest_opt.spill_dir != NULL && spill(d, p, pn) == 0 ?
			    DEST_SPILLED : DEST_DROPPED, 0, NULL);
		kept += d->cnt.spilled - before;
		if (d->cnt.spilled - before < n)
			log_warn("%s: %zu line%s not delivered: %s", d->label,
			    n - (d->cnt.spilled - before), n - (d->cnt.spilled - before) == 1 ? "" : "s",
			    d->err[0] ? d->err : "no time left");
	}
	for (d = dest_first(); d != NULL; d = d->next) {
		if (d->cnt.spilled > 0)
			log_warn("%s: %lu line%s spilled to %s", d->label, d->cnt.spilled,
			    d->cnt.spilled == 1 ? "" : "s", d->spill_path);
		if (d->rejected > 0)
			log_warn("%s: %lu line%s refused by the destination%s%s",
			    d->label, d->rejected, d->rejected == 1 ? "" : "s",
			    d->reject_fd != -1 ? ", kept in " : "",
			    d->reject_fd != -1 ? d->reject_path : "");
	}
	return kept;
}

