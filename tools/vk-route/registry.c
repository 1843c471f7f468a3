/* registry.c - the destinations: found or made by their text, their labels,
 * template instances bounded by --max-open (least recently used first),
 * closed and forgotten. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alloc.h"
#include "dest.h"
#include "hash.h"
#include "registry.h"

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
#define BACKOFF_MIN_MS	50
#define BACKOFF_MAX_MS	30000
#define LABEL_MAX	256	/* bytes of a destination shown in messages */
#define LABEL_SHOWN	160	/* what is shown of a longer one */

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
/* The forgotten template instances: how many, and their counts. */
static unsigned long ngone;
static struct track_counts gone;
static struct dest *first, *last;
static int ndest;

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

/* Work waits: queued lines, or lines the kind holds on their way. */
int
dest_has_work(struct dest *d)
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

/* Nothing queued, nothing in a handler's hands: may be closed and forgotten. */
static int
idle(struct dest *d)
{
	return !d->evicted && !dq_busy(&d->q) && !dest_has_work(d) && !d->connecting;
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

void
reg_settled(void)
{
	epoch++;
}

int
reg_slot(struct dest *d)
{
	if (!d->tmpl || d->opened)
		return 0;
	if (room_to_open() == -1) {
		d->wait_room = 1;
		room_waiters = 1;
		return -1;
	}
	d->opened = 1;	/* counted from the attempt: descriptors or a process */
	nopened++;
	return 0;
}

int
reg_slot_maybe(void)
{
	return room_none != epoch;
}

void
reg_trim(void)
{
	if (tmpl_full) {
		forget_idle(NULL);
		tmpl_full = ntmpl >= tmpl_cap();
	}
}

int
reg_full(void)
{
	return tmpl_full;
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
	backoff_init(&d->bo, BACKOFF_MIN_MS, BACKOFF_MAX_MS);	/* before init(): exec keeps a copy */
	d->kind = dest_kind_of(d->name, &arg);
	if (d->kind == NULL || d->kind->init(d, arg, err, errlen) == -1) {
		if (d->kind == NULL)
			snprintf(err, errlen, "unknown destination");
		free(d->label);
		free(d->name);
		free(d);
		return NULL;
	}
	if (d->label == NULL)
		d->label = xstrdup(d->name);
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
	*n = ngone;
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

void
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

/* Every destination's counts added up, the forgotten ones' included. */
static struct track_counts
total(void)
{
	struct track_counts t = gone;
	struct dest *d;

	for (d = first; d != NULL; d = d->next) {
		t.lost += d->cnt.lost;
		t.spilled += d->cnt.spilled;
	}
	return t;
}

unsigned long
dest_lost(void)
{
	return total().lost;
}

unsigned long
dest_spilled(void)
{
	return total().spilled;
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
void
reg_sweep(void)
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
		ngone++;
		gone.delivered += d->cnt.delivered;
		gone.failed += d->cnt.failed;
		gone.spilled += d->cnt.spilled;
		gone.lost += d->cnt.lost;
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
	ndest = 0;
	ntmpl = nopened = 0;
	tmpl_full = 0;
}
