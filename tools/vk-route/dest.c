/* dest.c - destination registry, bounded queues, stream writing, spill. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "track.h"
#include "dest.h"
#include "hash.h"
#include "log.h"
#include "spill.h"

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
#define LABEL_MAX	256	/* bytes of a destination shown in messages */
#define LABEL_SHOWN	160	/* what is shown of a longer one */

struct dest_opts dest_opt = { 10000, 256, NULL, 64u << 10 };

static struct dest *htab[1u << HBITS];
/* Template destinations: least recently used first. */
static struct dest *lru_first, *lru_last;
static size_t ntmpl, nopened, open_cap;
static int room_waiters;	/* some instance waits for a free slot */
/*
 * Something settled or closed since room_none: an instance may have become
 * idle (evictable). room_none: the epoch at which a whole scan of the LRU
 * list found no idle open instance; until the epoch moves on, an instance
 * waiting for a slot is told "none" without a scan (cost per Event stays
 * independent of how many instances wait).
 */
static unsigned long epoch = 1, room_none;
/* As many template instances as the bound allows hold work: input waits. */
static int tmpl_full;
static struct {
	unsigned long n, delivered, failed, spilled;
} gone;
static unsigned long lost_gone, spilled_gone;	/* for dest_lost(), dest_spilled() */
static void refull(struct dest *d);
static void free_evicted(void);
static struct dest *first, *last;
static int ndest, nfull;

double
dest_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

/*
 * A label long enough to fill a message (a long template value) is cut,
 * as the "{…} = \"…\"" messages quote values, so that the reason after it
 * and the line number before it still show.
 */
static void
label_shorten(buf *b)
{
	size_t n = LABEL_SHOWN;

	if (b->len <= LABEL_MAX)
		return;
	while (n > 0 && ((unsigned char)b->p[n] & 0xc0) == 0x80)
		n--;	/* not inside a UTF-8 character */
	b->len = n;
	buf_puts(b, "…");
}

static unsigned
hash(const char *s, size_t n)
{
	return (unsigned)(hash_bytes(s, n) & ((1u << HBITS) - 1));
}

static void
lru_unlink(struct dest *d)
{
	if (d->lru_prev != NULL)
		d->lru_prev->lru_next = d->lru_next;
	else if (lru_first == d)
		lru_first = d->lru_next;
	if (d->lru_next != NULL)
		d->lru_next->lru_prev = d->lru_prev;
	else if (lru_last == d)
		lru_last = d->lru_prev;
	d->lru_prev = d->lru_next = NULL;
}

static void
lru_touch(struct dest *d)
{
	if (lru_last == d)
		return;
	lru_unlink(d);
	d->lru_prev = lru_last;
	if (lru_last != NULL)
		lru_last->lru_next = d;
	else
		lru_first = d;
	lru_last = d;
}

static void
hash_unlink(struct dest *d)
{
	struct dest **pp = &htab[hash(d->name, strlen(d->name))];

	while (*pp != NULL && *pp != d)
		pp = &(*pp)->hnext;
	if (*pp == d)
		*pp = d->hnext;
	d->hnext = NULL;
}

size_t
dest_max_open(void)
{
	struct rlimit rl;
	size_t cap = dest_opt.max_open, fit;

	if (open_cap != 0)
		return open_cap;
	/* A handler holds two descriptors (three with #confirm); keep 32 for
	 * the rest (fixed destinations, spill files, the ack channel). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		fit = rl.rlim_cur > 64 ? (size_t)(rl.rlim_cur - 32) / 3 : 8;
		if (fit < cap)
			cap = fit;
	}
	return open_cap = cap > 0 ? cap : 1;
}

static int has_work(struct dest *d);
static void dest_close(struct dest *d);

/* Nothing queued, nothing in a handler's hands: may be closed and forgotten. */
static int
idle(struct dest *d)
{
	return !d->evicted && !dq_busy(&d->q) && !has_work(d) && !d->connecting;
}

/* Close d for good; dest_service() frees it once its handler is gone. */
static void
evict(struct dest *d)
{
	d->evicted = 1;
	lru_unlink(d);
	hash_unlink(d);	/* a new line for this text makes a new instance */
	ntmpl--;
	if (d->kind->finish != NULL && d->opened && d->kind->finish(d))
		return;	/* a handler finishing its input keeps its slot until it exits */
	dest_close(d);
	if (d->opened) {	/* closed now: the slot is free now */
		d->opened = 0;
		nopened--;
	}
}

/*
 * Make room for one more open template destination: close the least
 * recently used idle one. 0, or -1: none idle (the caller waits).
 */
static int
room_to_open(void)
{
	struct dest *d;

	if (nopened < dest_max_open())
		return 0;
	if (room_none == epoch)	/* nothing changed since the last scan found none */
		return -1;
	for (d = lru_first; d != NULL; d = d->lru_next)
		if (d->opened && idle(d)) {
			evict(d);
			break;
		}
	if (nopened < dest_max_open())
		return 0;
	room_none = epoch;
	return -1;
}

/*
 * The bound on template instances alive at once: 4 times --max-open. Idle
 * ones beyond it are forgotten (least recently used first); when those
 * left all hold work, input waits (dest_blocked) until some is delivered.
 */
static size_t
tmpl_cap(void)
{
	return 4 * dest_max_open();
}

/* Forget the least recently used idle instances beyond the bound, but keep. */
static void
forget_idle(struct dest *keep)
{
	struct dest *d, *nx;

	for (d = lru_first; d != NULL && ntmpl > tmpl_cap(); d = nx) {
		nx = d->lru_next;
		if (d != keep && idle(d))
			evict(d);
	}
}

struct dest *
dest_get(const char *name, size_t n, int tmpl, char *err, size_t errlen)
{
	unsigned h = (unsigned)(hash_bytes(name, n) & ((1u << HBITS) - 1));
	struct dest *d;
	const char *arg;

	for (d = htab[h]; d != NULL; d = d->hnext)
		if (strlen(d->name) == n && memcmp(d->name, name, n) == 0) {
			if (d->tmpl && tmpl) {
				lru_touch(d);
			} else if (d->tmpl) {	/* a fixed rule names it too: kept */
				d->tmpl = 0;
				lru_unlink(d);
				ntmpl--;
				nopened -= d->opened;
			}
			return d;
		}
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->name = strndup(name, n)) == NULL) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->fd = -1;
	d->spill_fd = -1;
	d->reject_fd = -1;
	d->aux_fd = -1;
	d->look_ms = -1;
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
	{	/* template values may hold anything: no raw control byte in a message */
		buf shown = BUF_INIT;

		dest_escape(&shown, d->label, strlen(d->label));
		free(d->label);
		/* the spill files' names tell every text apart, however long */
		d->label_hash = (unsigned long long)hash_bytes(shown.p, shown.len);
		label_shorten(&shown);
		d->label = buf_cstr(&shown);
	}
	d->hnext = htab[h];
	htab[h] = d;
	if (last != NULL)
		last->next = d;
	else
		first = d;
	last = d;
	ndest++;
	if (tmpl) {
		d->tmpl = 1;
		ntmpl++;
		lru_touch(d);
		forget_idle(d);
		if (ntmpl >= tmpl_cap())
			tmpl_full = 1;
	}
	return d;
}

void
dest_closed_counts(unsigned long *n, unsigned long *delivered,
    unsigned long *failed, unsigned long *spilled)
{
	*n = gone.n;
	*delivered = gone.delivered;
	*failed = gone.failed;
	*spilled = gone.spilled;
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

void
dest_escape(buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (; n > 0; s++, n--) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f) {
			buf_puts(out, "\\x");
			buf_putc(out, hex[c >> 4]);
			buf_putc(out, hex[c & 15]);
		} else {
			buf_putc(out, (char)c);
		}
	}
}

/* --- delivery reports ---------------------------------------------------- */

void
dest_report(struct dest *d, struct dest_ticket *t, const char *line, size_t n,
    enum dest_fate f, int status, const char *why)
{
	if (t->done || f == DEST_RETRY)
		return;
	epoch++;
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
		epoch++;
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

/* Work waits: queued lines, or lines the kind holds on their way. */
static int
has_work(struct dest *d)
{
	size_t unsent;

	/* A kind whose reader takes lines later (exec): once they are all in
	 * its hands, the end of the run may come (EOF lets it finish). */
	if (d->kind->taken != NULL) {
		dq_unsent(&d->q, &unsent);
		return unsent > 0 || (d->kind->busy != NULL && d->kind->busy(d));
	}
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
		service_one(d, dest_now(), 1);	/* spill only what cannot go now */
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
	return (nfull > 0 && dest_opt.spill_dir == NULL) || tmpl_full;
}

int
dest_pending(void)
{
	struct dest *d;

	for (d = first; d != NULL; d = d->next)
		if (!d->dead && !d->evicted && has_work(d))
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
	/* A handler keeps its pipe (and process) until evicted or the end. */
	if (d->tmpl && d->opened && d->kind->finish == NULL && !d->evicted) {
		d->opened = 0;
		nopened--;
	}
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

/*
 * A write failed part-way into a line: take a regular file back to where
 * that line started, so that the retry leaves no fragment behind.
 */
static void
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

/* Write what waits to a stream kind's descriptor. */
static void
stream_write(struct dest *d, double now)
{
	const char *p;
	size_t n;
	ssize_t w;
	int e;

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
		e = w == -1 ? errno : EIO;
		stream_taken(d);
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
		dest_retry(d, now, "write failed: %s", w == -1 ? strerror(e) : "no progress");
		refull(d);
		return;
	}
	stream_taken(d);
	refull(d);
}

/* Call the kind's open(); 0 when d->fd is ready. */
static int
open_step(struct dest *d, double now)
{
	int r;

	d->err[0] = '\0';
	if (d->tmpl && !d->opened) {
		if (room_to_open() == -1) {	/* --max-open busy ones: when one is idle */
			d->retry_at = now + BACKOFF_MIN;
			d->wait_room = 1;
			room_waiters = 1;
			return 1;
		}
		d->opened = 1;	/* counted from the attempt: descriptors or a process */
		nopened++;
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
		d->backoff = d->backoff == 0 ? BACKOFF_MIN :
		    (d->backoff * 2 > 1.0 ? 1.0 : d->backoff * 2);
		d->retry_at = now + d->backoff;
		if (d->err[0] != '\0')
			log_info("%s: %s", d->label, d->err);
		return 1;
	}
	d->wait_out = 0;
	/* Protocol kinds wait for a reply, a handler for its first read. */
	if (d->kind->io == NULL && !(d->kind->flags & DEST_TAKEN_LATER))
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
	stream_taken(d);
	dest_close(d);
	dest_retry(d, now, "the receiver closed the connection%s%s",
	    r == -1 ? ": " : "", r == -1 ? strerror(errno) : "");
	refull(d);
}

static void
service_one(struct dest *d, double now, int idle)
{
	size_t unsent;

	if (d->dead || d->evicted)
		return;
	if (d->want_reopen && dq_inflight(&d->q) == 0) {
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
		/* Waiting for a slot: try again as soon as something settled. */
		if (now < d->retry_at && !(d->wait_room && room_none != epoch))
			return;
		d->wait_room = 0;
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
	if (!d->wait_out && unsent > 0 &&
	    (idle || unsent >= dest_opt.hiwat || d->full))
		stream_write(d, now);
	if (d->kind->taken != NULL && d->fd != -1 && dq_inflight(&d->q) > 0)
		d->look_ms = d->kind->taken(d, now);
}

void
dest_service(double now, int idle)
{
	struct dest *d;

	free_evicted();
	for (d = first; d != NULL; d = d->next)
		service_one(d, now, idle);
	if (tmpl_full) {
		forget_idle(NULL);
		tmpl_full = ntmpl >= tmpl_cap();
	}
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
			if (d->kind->io != NULL || has_work(d) || d->connecting) {
				double ms = (d->retry_at - now) * 1000.0 + 1;
				int t = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;

				if (d->wait_room && room_none != epoch)
					t = 0;	/* a slot may be free: look now */

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
		n += d->cnt.lost;
	return n + lost_gone;
}

unsigned long
dest_spilled(void)
{
	struct dest *d;
	unsigned long n = 0;

	for (d = first; d != NULL; d = d->next)
		n += d->cnt.spilled;
	return n + spilled_gone;
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
	/* What is left was not delivered: spilled, or dropped. */
	for (d = first; d != NULL; d = d->next) {
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
	for (d = first; d != NULL; d = d->next) {
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

static void
dest_free_one(struct dest *d)
{
	if (d->kind->free != NULL)
		d->kind->free(d);
	if (d->spill_fd != -1)
		close(d->spill_fd);
	if (d->reject_fd != -1)
		close(d->reject_fd);
	free(d->spill_path);
	free(d->reject_path);
	buf_free(&d->q.b);
	free(d->q.tk);
	free(d->label);
	free(d->name);
	free(d);
}

/* Free the evicted instances whose handler is gone: their counts are kept. */
static void
free_evicted(void)
{
	struct dest *d, *nx, *prev = NULL;
	int freed = 0;

	for (d = first; d != NULL; d = nx) {
		nx = d->next;
		/* (an instance with lines is never evicted: idle()) */
		if (!d->evicted || dq_busy(&d->q) || (d->kind->finish != NULL &&
		    d->opened && d->kind->finish(d))) {
			prev = d;
			continue;
		}
		dest_close(d);
		if (prev != NULL)
			prev->next = nx;
		else
			first = nx;
		if (last == d)
			last = prev;
		if (d->opened)
			nopened--;
		epoch++;
		gone.n++;
		gone.delivered += d->cnt.delivered;
		gone.failed += d->cnt.failed;
		gone.spilled += d->cnt.spilled;
		lost_gone += d->cnt.lost;
		spilled_gone += d->cnt.spilled;
		ndest--;
		dest_free_one(d);
		freed = 1;
	}
	/* A slot is free: who waits for one need not wait for its retry time. */
	for (d = first; freed && room_waiters && d != NULL; d = d->next)
		if (d->wait_room) {
			d->wait_room = 0;
			d->retry_at = 0;
		}
	if (freed)
		room_waiters = 0;
}

void
dest_free_all(void)
{
	struct dest *d, *nx;

	for (d = first; d != NULL; d = nx) {
		nx = d->next;
		dest_free_one(d);
	}
	first = last = NULL;
	lru_first = lru_last = NULL;
	memset(htab, 0, sizeof(htab));
	ndest = nfull = 0;
	ntmpl = nopened = 0;
	tmpl_full = 0;
}
