/* dest.c - destination registry, bounded queues, stream writing, spill. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dest.h"
#include "hash.h"
#include "jsonw.h"
#include "log.h"

/* The kinds, in the order they are tried. A new kind adds one line. */
static const struct dest_kind *const dest_kinds[] = {
	&dest_stdout_kind,
	&dest_stderr_kind,
	&dest_file_kind,
	&dest_exec_kind,
	&dest_tcp_kind,
	&dest_unix_kind,
	&dest_redis_kind,
	&dest_amqp_kind,
	&dest_amqps_kind,
	&dest_http_kind,
	&dest_https_kind,
};
#define NKINDS	(sizeof(dest_kinds) / sizeof(dest_kinds[0]))

#define HBITS		10
#define BACKOFF_MIN	0.05
#define BACKOFF_MAX	30.0
#define CONNECT_SECS	10.0	/* a connection not made by then is retried */

struct dest_opts dest_opt = { 10000, NULL, 64u << 10 };

static struct dest *htab[1u << HBITS];
static struct dest *first, *last;
static int ndest, nfull;

double
dest_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the queue ----------------------------------------------------------- */

void
dq_push(struct dq *q, const char *line, size_t n)
{
	if (q->head == q->b.len) {	/* empty: start over at 0 */
		q->head = q->sent = q->b.len = 0;
	} else if (q->head > (1u << 20) && q->head > q->b.len / 2) {
		memmove(q->b.p, q->b.p + q->head, q->b.len - q->head);
		q->b.len -= q->head;
		q->sent -= q->head;
		q->head = 0;
	}
	buf_put(&q->b, line, n);
	buf_putc(&q->b, '\n');
	q->nlines++;
	q->pushed++;
}

void
dq_ack(struct dq *q, size_t k)
{
	const char *p;

	while (k-- > 0 && q->nlines > 0) {
		p = memchr(q->b.p + q->head, '\n', q->b.len - q->head);
		q->head = (size_t)(p - q->b.p) + 1;
		q->nlines--;
	}
	if (q->sent < q->head)
		q->sent = q->head;
}

size_t
dq_ack_sent(struct dq *q)
{
	const char *p, *e;
	size_t k = 0;

	if (q->sent == q->b.len) {	/* all written: no need to count */
		k = q->nlines;
		q->head = q->sent;
		q->nlines = 0;
		return k;
	}
	p = q->b.p + q->head;
	e = q->b.p + q->sent;
	while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		p++;
		k++;
		q->head = (size_t)(p - q->b.p);
	}
	q->nlines -= k;
	return k;
}

/* --- the registry -------------------------------------------------------- */

const struct dest_kind *
dest_kind_of(const char *text, const char **arg)
{
	size_t k, n;

	for (k = 0; k < NKINDS; k++) {
		n = strlen(dest_kinds[k]->prefix);
		if (strncmp(text, dest_kinds[k]->prefix, n) == 0 &&
		    (dest_kinds[k]->prefix[n - 1] == ':' ||
		    dest_kinds[k]->prefix[n - 1] == '/' ||
		    text[n] == '\0' || text[n] == ' ' || text[n] == '\t')) {
			*arg = text + n;
			return dest_kinds[k];
		}
	}
	return NULL;
}

const char *
dest_kinds_help(void)
{
	static char help[256];
	size_t k, o = 0;

	for (k = 0; k < NKINDS && o < sizeof(help); k++) {
		const char *p = dest_kinds[k]->prefix;
		size_t n = strlen(p);

		o += (size_t)snprintf(help + o, sizeof(help) - o, "%s%s%s",
		    k ? ", " : "", p, p[n - 1] == ':' || p[n - 1] == '/' ? "…" : "");
	}
	return help;
}

struct dest *
dest_get(const char *name, size_t n, char *err, size_t errlen)
{
	unsigned h = (unsigned)(hash_bytes(name, n) & ((1u << HBITS) - 1));
	struct dest *d;
	const char *arg;

	for (d = htab[h]; d != NULL; d = d->hnext)
		if (strlen(d->name) == n && memcmp(d->name, name, n) == 0)
			return d;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->name = strndup(name, n)) == NULL) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->fd = -1;
	d->spill_fd = -1;
	d->reject_fd = -1;
	d->kind = dest_kind_of(d->name, &arg);
	if (d->kind == NULL || d->kind->init(d, arg, err, errlen) == -1) {
		if (d->kind == NULL)
			snprintf(err, errlen, "unknown destination");
		free(d->label);
		free(d->name);
		free(d);
		return NULL;
	}
	if (d->label == NULL && (d->label = strdup(d->name)) == NULL)
		abort();
	d->hnext = htab[h];
	htab[h] = d;
	if (last != NULL)
		last->next = d;
	else
		first = d;
	last = d;
	ndest++;
	return d;
}

struct dest *
dest_first(void)
{
	return first;
}

int
dest_count(void)
{
	return ndest;
}

/* --- spill --------------------------------------------------------------- */

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Append bytes to SPILL/LABEL.ndjson (suffix ".ndjson"), opened on first use. */
static int
spill_to(struct dest *d, int *fd, char **pathp, const char *suffix,
    const char *p, size_t n)
{
	if (*fd == -1) {
		buf path = BUF_INIT;
		const char *s;

		buf_puts(&path, dest_opt.spill_dir);
		buf_putc(&path, '/');
		for (s = d->label; *s; s++) {
			int ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-';
			buf_putc(&path, ok ? *s : '_');
		}
		buf_puts(&path, suffix);
		free(*pathp);
		*pathp = buf_cstr(&path);
		*fd = open(*pathp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (*fd == -1) {
			log_warn("%s: cannot open the spill file %s: %s",
			    d->label, *pathp, strerror(errno));
			return -1;
		}
	}
	if (write_all(*fd, p, n) == -1) {
		log_warn("%s: cannot write the spill file %s: %s",
		    d->label, *pathp, strerror(errno));
		return -1;
	}
	return 0;
}

/* Append bytes (whole lines) to d's dead-letter file. */
static int
spill(struct dest *d, const char *p, size_t n)
{
	return spill_to(d, &d->spill_fd, &d->spill_path, ".ndjson", p, n);
}

void
dest_reject(struct dest *d, const char *line, size_t n, int status,
    const char *why)
{
	buf b = BUF_INIT;
	int rc = -1;

	if (n > 0 && line[n - 1] == '\n')
		n--;
	d->lost++;
	if (dest_opt.spill_dir != NULL) {
		buf_puts(&b, "{");
		if (status != 0) {
			buf_puts(&b, "\"status\":");
			jw_int(&b, status);
			buf_puts(&b, ",");
		}
		buf_puts(&b, "\"error\":");
		jw_str(&b, why, strlen(why));
		buf_puts(&b, ",\"event\":");
		buf_put(&b, line, n);
		buf_puts(&b, "}\n");
		rc = spill_to(d, &d->reject_fd, &d->reject_path, ".rejected.ndjson",
		    b.p, b.len);
		buf_free(&b);
	}
	if (d->rejected++ == 0)
		log_warn("%s: the destination refused a line: %s%s%s", d->label, why,
		    rc == 0 ? "; kept in " : "", rc == 0 ? d->reject_path : "");
	if (rc == -1)
		d->failed++;
}

/* --- queueing ------------------------------------------------------------ */

/* Work waits: queued lines, or lines the kind holds on their way. */
static int
has_work(struct dest *d)
{
	return dq_busy(&d->q) || (d->kind->busy != NULL && d->kind->busy(d));
}


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

int
dest_push(struct dest *d, const char *line, size_t n)
{
	if (d->dead) {
		d->failed++;
		return -2;
	}
	if (d->q.nlines >= dest_opt.qmax && dest_opt.spill_dir != NULL)
		service_one(d, dest_now(), 1);	/* spill only what cannot go now */
	if (d->q.nlines >= dest_opt.qmax && dest_opt.spill_dir != NULL) {
		struct dq *q = &d->q;
		const char *nl;
		int rc;

		if (q->sent == q->head) {
			/* Spill the oldest line and queue the new one: the
			 * dead-letter file stays in input order. */
			nl = memchr(q->b.p + q->head, '\n', q->b.len - q->head);
			rc = spill(d, q->b.p + q->head, (size_t)(nl + 1 - (q->b.p + q->head)));
			if (rc == 0) {
				q->head = q->sent = (size_t)(nl + 1 - q->b.p);
				q->nlines--;
			}
		} else {
			buf one = BUF_INIT;

			buf_put(&one, line, n);
			buf_putc(&one, '\n');
			rc = spill(d, one.p, one.len);
			buf_free(&one);
		}
		d->lost++;
		if (rc == -1) {
			d->failed++;
			return -1;
		}
		d->spilled++;
		if (q->nlines >= dest_opt.qmax)
			return 0;	/* the new line itself was spilled */
	}
	dq_push(&d->q, line, n);
	refull(d);
	return 0;
}

int
dest_blocked(void)
{
	return nfull > 0 && dest_opt.spill_dir == NULL;
}

int
dest_pending(void)
{
	struct dest *d;

	for (d = first; d != NULL; d = d->next)
		if (!d->dead && has_work(d))
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
	d->backoff = d->backoff == 0 ? BACKOFF_MIN :
	    (d->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : d->backoff * 2);
	d->retry_at = now + d->backoff;
}

void
dest_ok(struct dest *d)
{
	if (d->failing)
		log_warn("%s: delivering again", d->label);
	d->failing = 0;
	d->backoff = 0;
}

void
dest_mask(buf *out, const char *text)
{
	const char *a = strstr(text, "://"), *at = NULL, *p, *c;

	if (a != NULL) {
		a += 3;
		for (p = a; *p != '\0' && *p != '/' && *p != '?' && *p != '#'; p++)
			if (*p == '@')
				at = p;
	}
	if (at == NULL) {
		buf_puts(out, text);
		return;
	}
	c = memchr(a, ':', (size_t)(at - a));
	buf_put(out, text, (size_t)((c != NULL ? c : at) - text));
	buf_puts(out, c != NULL ? ":***" : "");
	buf_puts(out, at);
}

static void
dest_close(struct dest *d)
{
	d->connecting = 0;
	if (d->kind->close != NULL)
		d->kind->close(d);
	else if (d->fd != -1)
		close(d->fd);
	d->fd = -1;
	d->wait_out = 0;
}

/* Give up on d for good: what waits is counted as failed. */
static void
dest_kill(struct dest *d)
{
	d->dead = 1;
	d->failed += d->q.nlines;
	d->q.nlines = 0;
	d->q.head = d->q.sent = d->q.b.len = 0;
	dest_close(d);
	refull(d);
}

/* --- driving ------------------------------------------------------------- */

/* Write what waits to a stream kind's descriptor. */
static void
stream_write(struct dest *d, double now)
{
	const char *p;
	size_t n;
	ssize_t w;

	for (;;) {
		p = dq_unsent(&d->q, &n);
		if (n == 0)
			break;
		w = write(d->fd, p, n > (8u << 20) ? (8u << 20) : n);
		if (w > 0) {
			dq_sent(&d->q, (size_t)w);
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			d->wait_out = 1;
			break;
		}
		if (w == -1 && errno == EPIPE && (d->kind->flags & DEST_EPIPE_FINAL)) {
			log_info("%s: the reader went away", d->label);
			d->delivered += dq_ack_sent(&d->q);
			dest_kill(d);
			return;
		}
		/* The reader went away or the device failed: send again, whole lines. */
		dest_fail(d, now, "write failed: %s", w == -1 ? strerror(errno) : "no progress");
		dest_close(d);
		d->delivered += dq_ack_sent(&d->q);
		dq_rewind(&d->q);
		refull(d);
		return;
	}
	d->delivered += dq_ack_sent(&d->q);
	refull(d);
}

/* Call the kind's open(); 0 when d->fd is ready. */
static int
open_step(struct dest *d, double now)
{
	int r;

	d->err[0] = '\0';
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
	if (r == 1 && d->fd != -1) {	/* connecting */
		d->connecting = 1;
		d->retry_at = now + CONNECT_SECS;
		return 1;
	}
	if (r == 1) {	/* e.g. a FIFO without a reader yet */
		d->backoff = d->backoff == 0 ? BACKOFF_MIN :
		    (d->backoff * 2 > 1.0 ? 1.0 : d->backoff * 2);
		d->retry_at = now + d->backoff;
		if (d->err[0] != '\0')
			log_info("%s: %s", d->label, d->err);
		return 1;
	}
	d->wait_out = 0;
	if (d->kind->io == NULL)	/* protocol kinds wait for a reply */
		dest_ok(d);
	return 0;
}

/* A stream socket polled readable: the peer closed it (what it sends is dropped). */
static void
stream_peer(struct dest *d, double now)
{
	char tmp[4096];
	ssize_t r;

	while ((r = read(d->fd, tmp, sizeof(tmp))) > 0)
		;
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	dest_fail(d, now, "the receiver closed the connection%s%s",
	    r == -1 ? ": " : "", r == -1 ? strerror(errno) : "");
	dest_close(d);
	d->delivered += dq_ack_sent(&d->q);
	dq_rewind(&d->q);
	refull(d);
}

static void
service_one(struct dest *d, double now, int idle)
{
	size_t unsent;

	if (d->dead)
		return;
	if (d->want_reopen && d->q.head == d->q.sent) {
		d->want_reopen = 0;
		if (d->fd != -1)
			dest_close(d);
		d->retry_at = 0;
	}
	if (d->fd == -1 && d->kind->io == NULL && !has_work(d))
		return;
	if (d->connecting && now >= d->retry_at) {
		dest_close(d);
		dest_fail(d, now, "no connection after %.0f seconds", CONNECT_SECS);
		return;
	}
	if (d->connecting)
		return;
	if (d->fd == -1) {
		if (now < d->retry_at)
			return;
		if (open_step(d, now) != 0)
			return;
	}
	if (d->kind->io != NULL) {
		if (d->kind->io(d, 0) == -1)
			dest_close(d);
		refull(d);
		return;
	}
	dq_unsent(&d->q, &unsent);
	if (d->wait_out || unsent == 0)
		return;
	if (idle || unsent >= dest_opt.hiwat || d->full)
		stream_write(d, now);
}

void
dest_service(double now, int idle)
{
	struct dest *d;

	for (d = first; d != NULL; d = d->next)
		service_one(d, now, idle);
}

int
dest_pollset(struct pollfd *pfd, struct dest **who, int max, double now,
    int *timeout)
{
	struct dest *d;
	int n = 0;
	short ev;
	size_t unsent;

	for (d = first; d != NULL; d = d->next) {
		if (d->dead)
			continue;
		if (d->fd == -1 || d->connecting) {
			if (d->connecting && n < max) {
				pfd[n].fd = d->fd;
				pfd[n].events = POLLOUT;
				pfd[n].revents = 0;
				who[n++] = d;
			}
			if (d->kind->io != NULL || has_work(d) || d->connecting) {
				double ms = (d->retry_at - now) * 1000.0 + 1;
				int t = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;

				if (*timeout < 0 || t < *timeout)
					*timeout = t;
			}
			continue;
		}
		if (d->kind->events != NULL) {
			ev = d->kind->events(d);
		} else {
			dq_unsent(&d->q, &unsent);
			ev = unsent > 0 ? POLLOUT : 0;
			if (d->kind->flags & DEST_SOCKET)
				ev |= POLLIN;
		}
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
dest_revents(struct dest *d, short revents, double now)
{
	if (revents == 0 || d->dead || d->fd == -1)
		return;
	if (d->connecting) {
		if (open_step(d, now) == 0)
			service_one(d, now, 1);
		return;
	}
	if ((d->kind->flags & DEST_SOCKET) && (revents & (POLLIN | POLLHUP | POLLERR))) {
		stream_peer(d, now);
		if (d->fd == -1 || !(revents & POLLOUT))
			return;
	}
	if (d->kind->io != NULL) {
		if (d->kind->io(d, revents) == -1)
			dest_close(d);
		refull(d);
		return;
	}
	d->wait_out = 0;
	stream_write(d, now);
}

void
dest_reap(double now)
{
	struct dest *d;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (d = first; d != NULL; d = d->next)
			if (d->kind->child != NULL && d->kind->child(d, pid, st, now))
				break;
}

void
dest_reopen_all(void)
{
	struct dest *d;

	for (d = first; d != NULL; d = d->next)
		if (d->kind->reopen)
			d->want_reopen = 1;
}

unsigned long
dest_lost(void)
{
	struct dest *d;
	unsigned long n = 0;

	for (d = first; d != NULL; d = d->next)
		n += d->lost;
	return n;
}

unsigned long
dest_spilled(void)
{
	struct dest *d;
	unsigned long n = 0;

	for (d = first; d != NULL; d = d->next)
		n += d->spilled;
	return n;
}

unsigned long
dest_shutdown(double deadline)
{
	struct dest *d;
	unsigned long lost = 0;
	int busy;

	for (d = first; d != NULL; d = d->next) {
		size_t n = d->q.nlines;

		if (n == 0 || d->dead)
			continue;
		d->lost += n;
		lost += n;
		if (dest_opt.spill_dir != NULL &&
		    spill(d, d->q.b.p + d->q.head, d->q.b.len - d->q.head) == 0) {
			d->spilled += n;
		} else {
			d->failed += n;
			log_warn("%s: %zu line%s not delivered: %s", d->label, n,
			    n == 1 ? "" : "s", d->err[0] ? d->err : "no time left");
		}
		d->q.nlines = 0;
		d->q.head = d->q.sent = d->q.b.len = 0;
	}
	for (d = first; d != NULL; d = d->next)
	{
		if (d->spilled > 0)
			log_warn("%s: %lu line%s spilled to %s", d->label, d->spilled,
			    d->spilled == 1 ? "" : "s", d->spill_path);
		if (d->rejected > 0)
			log_warn("%s: %lu line%s refused by the destination%s%s",
			    d->label, d->rejected, d->rejected == 1 ? "" : "s",
			    d->reject_fd != -1 ? ", kept in " : "",
			    d->reject_fd != -1 ? d->reject_path : "");
	}
	/* Let handlers finish their input, within the drain time. */
	do {
		busy = 0;
		for (d = first; d != NULL; d = d->next)
			if (d->kind->finish != NULL && d->kind->finish(d))
				busy = 1;
		if (busy && dest_now() < deadline) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		} else {
			break;
		}
	} while (busy);
	for (d = first; d != NULL; d = d->next)
		dest_close(d);
	return lost;
}

void
dest_free_all(void)
{
	struct dest *d, *nx;

	for (d = first; d != NULL; d = nx) {
		nx = d->next;
		if (d->kind->free != NULL)
			d->kind->free(d);
		if (d->spill_fd != -1)
			close(d->spill_fd);
		if (d->reject_fd != -1)
			close(d->reject_fd);
		free(d->spill_path);
		free(d->reject_path);
		buf_free(&d->q.b);
		free(d->label);
		free(d->name);
		free(d);
	}
	first = last = NULL;
	memset(htab, 0, sizeof(htab));
	ndest = nfull = 0;
}
