/*
 * dest_amqp.c - `amqp://[USER:PASSWORD@]HOST[:PORT][/VHOST]/queue/NAME`
 * and `amqp://…/exchange/EXCHANGE/KEY` (and amqps://, TLS): RabbitMQ.
 *
 * A queue is declared durable on each new connection (an existing queue
 * declared otherwise is used as it is); an exchange is used as it exists.
 * Each line becomes one persistent message (delivery mode 2, content type
 * application/json, message_id the event_id) published with mandatory set
 * on a channel in confirm mode. A line is delivered when the broker acks
 * it; a nack, or a return (unroutable) followed by its ack, refuses it for
 * good with the reason (DEST_REFUSED). Up to WINDOW messages wait for their
 * confirms. A lost connection is retried with backoff and the unconfirmed
 * lines are published again in order (at least once: at most WINDOW may
 * arrive twice; the event_id tells them apart).
 *
 * The connection runs in a thread of its own (amqp_conn.c says why); this
 * file is the kind: the URL, and the loop's side, which hands the thread
 * the lines in order and applies its outcomes.
 */
#define _GNU_SOURCE	/* SOCK_NONBLOCK */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "amqp_conn.h"
#include "dest.h"

#define WINDOW		1024		/* messages awaiting their confirm */
#define WINDOW_BYTES	(8u << 20)	/* and their bytes, past the first */

/* --- the URL --------------------------------------------------------------- */

/* One path segment, decoded: a name of at most 255 bytes (an AMQP shortstr). */
static int
name_seg(const char *arg, const char *s, size_t n, const char *what,
    char **out, size_t *outlen, char *err, size_t errlen, size_t *col)
{
	size_t len;

	if (dest_pct_decode(s, n, out, &len) == -1) {
		snprintf(err, errlen, "a bad %%XX escape in the %s", what);
		*col = (size_t)(s - arg);
		return -1;
	}
	if (len > 255) {
		snprintf(err, errlen, "the %s is longer than 255 bytes", what);
		*col = (size_t)(s - arg);
		free(*out);
		*out = NULL;
		return -1;
	}
	if (outlen != NULL)
		*outlen = len;
	return 0;
}

/*
 * Parse the text after "amqp://" (tls: "amqps://") into a (whose fields
 * the caller frees, also on failure). 0, or -1 with err and *col.
 *
 * The path is [/VHOST]/queue/NAME or [/VHOST]/exchange/EXCHANGE/KEY: a
 * VHOST is there when the path has one segment more than the form needs.
 */
static int
aparse(const char *arg, int tls, struct amqpd *a, char *err, size_t errlen,
    size_t *col)
{
	const char *slash, *at = NULL, *hp, *p, *seg[5], *brace, *q;
	size_t segn[5], nseg = 0, hpn;
	char *port = NULL;
	int first;

	if ((slash = strchr(arg, '/')) == NULL) {
		snprintf(err, errlen, "amqp://HOST[:PORT][/VHOST]/queue/NAME or "
		    "amqp://HOST[:PORT][/VHOST]/exchange/EXCHANGE/KEY expected");
		*col = strlen(arg);
		return -1;
	}
	for (p = arg; p < slash; p++)
		if (*p == '@')
			at = p;
	hp = at != NULL ? at + 1 : arg;
	if (at != NULL && memchr(arg, ':', (size_t)(at - arg)) == NULL) {
		snprintf(err, errlen, "credentials are written USER:PASSWORD@");
		*col = 0;
		return -1;
	}
	if ((q = strpbrk(arg, "?#")) != NULL) {
		snprintf(err, errlen, "a '%c' in a name is written %s", *q,
		    *q == '?' ? "%3F" : "%23");
		*col = (size_t)(q - arg);
		return -1;
	}
	/* the segments after the host */
	for (p = slash; *p == '/' && nseg < 5; nseg++) {
		const char *e = strchr(p + 1, '/');

		seg[nseg] = p + 1;
		segn[nseg] = e != NULL ? (size_t)(e - p - 1) : strlen(p + 1);
		p = seg[nseg] + segn[nseg];
	}
	/* a vhost, then the form; exchange/queue/KEY is an exchange named "queue" */
#define IS(k, w) (segn[k] == strlen(w) && memcmp(seg[k], w, segn[k]) == 0)
	first = nseg == 4 || (nseg == 3 && !IS(0, "exchange") && IS(1, "queue"));
	if (*p == '/' || nseg < (size_t)first + 2 ||
	    !((IS(first, "queue") && nseg == (size_t)first + 2) ||
	    (IS(first, "exchange") && nseg == (size_t)first + 3))) {
		snprintf(err, errlen, "/queue/NAME or /exchange/EXCHANGE/KEY expected");
		*col = (size_t)(seg[nseg > 1 ? first : 0] - arg);
		if (nseg == 0)
			*col = (size_t)(slash - arg);
		return -1;
	}
#undef IS
	brace = strchr(arg, '{');
	if (brace != NULL && brace < seg[first]) {
		snprintf(err, errlen, "only the queue, exchange or key can be a template");
		*col = (size_t)(brace - arg);
		return -1;
	}
	if (segn[first] == 5 && segn[first + 1] == 0) {
		snprintf(err, errlen, "the queue name is missing");
		*col = (size_t)(seg[first + 1] - arg);
		return -1;
	}
	/* HOST[:PORT] */
	hpn = (size_t)(slash - hp);
	if (hpn == 0) {
		snprintf(err, errlen, "the host is missing");
		*col = (size_t)(hp - arg);
		return -1;
	}
	{
		const char *c = NULL, *e = hp + hpn;

		if (hp[0] == '[') {
			const char *rb = memchr(hp, ']', hpn);

			if (rb == NULL || (rb + 1 < e && rb[1] != ':')) {
				snprintf(err, errlen, "HOST[:PORT] expected, like [::1]:5672");
				*col = (size_t)(hp - arg);
				return -1;
			}
			c = rb + 1 < e ? rb + 1 : NULL;
		} else {
			c = memchr(hp, ':', hpn);
		}
		if (c != NULL && dest_hostport(hp, hpn, NULL, NULL, err, errlen, col) == -1) {
			*col += (size_t)(hp - arg);
			return -1;
		}
		if (c != NULL) {
			char *h;

			dest_hostport(hp, hpn, &h, &port, err, errlen, col);
			a->host = h;
			a->port = atoi(port);
			free(port);
		} else {
			size_t o = hp[0] == '[' ? 1 : 0;

			a->host = xstrndup(hp + o, hpn - 2 * o);
			a->port = tls ? 5671 : 5672;
		}
	}
	a->tls = tls;
	if (first) {
		if (name_seg(arg, seg[0], segn[0], "vhost", &a->vhost, NULL, err,
		    errlen, col) == -1)
			return -1;
	} else {
		a->vhost = xstrdup("/");
	}
	if (segn[first] == 5) {
		a->queue = 1;
		a->exchange = xstrdup("");
		a->exlen = 0;
		if (name_seg(arg, seg[first + 1], segn[first + 1], "queue name",
		    &a->key, &a->keylen, err, errlen, col) == -1)
			return -1;
	} else {
		if (name_seg(arg, seg[first + 1], segn[first + 1], "exchange name",
		    &a->exchange, &a->exlen, err, errlen, col) == -1 ||
		    name_seg(arg, seg[first + 2], segn[first + 2], "routing key",
		    &a->key, &a->keylen, err, errlen, col) == -1)
			return -1;
	}
	if (at != NULL) {
		const char *c = memchr(arg, ':', (size_t)(at - arg));

		if (dest_pct_decode(arg, (size_t)(c - arg), &a->user, NULL) == -1 ||
		    dest_pct_decode(c + 1, (size_t)(at - c - 1), &a->pass, NULL) == -1) {
			snprintf(err, errlen, "a bad %%XX escape in the credentials");
			*col = 0;
			return -1;
		}
	} else {
		a->user = xstrdup("guest");
		a->pass = xstrdup("guest");
	}
	return 0;
}

static void
free_fields(struct amqpd *a)
{
	free(a->host);
	free(a->user);
	if (a->pass != NULL)
		memset(a->pass, 0, strlen(a->pass));
	free(a->pass);
	free(a->vhost);
	free(a->exchange);
	free(a->key);
}

/* When the rules are loaded: the names may still hold templates. */
static int
check_kind(const char *arg, int tls, char *err, size_t errlen, size_t *col)
{
	struct amqpd a;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = aparse(arg, tls, &a, err, errlen, col);
	free_fields(&a);
	return rc;
}

static int
amqp_check(const char *arg, char *err, size_t errlen, size_t *col)
{
	return check_kind(arg, 0, err, errlen, col);
}

/* Each message's message_id is its Event's event_id (from the ticket). */
static int
amqp_wants_ids(const char *arg)
{
	(void)arg;
	return 1;
}

/* A template value in a name: exactly one path segment, whatever it holds. */
static void
amqp_quote(buf *out, const char *s, size_t n)
{
	for (; n > 0; s++, n--) {
		switch (*s) {
		case '%': buf_puts(out, "%25"); break;
		case '/': buf_puts(out, "%2F"); break;
		case '?': buf_puts(out, "%3F"); break;
		case '#': buf_puts(out, "%23"); break;
		default: buf_putc(out, *s); break;
		}
	}
}

static void
amqp_free(struct dest *d)
{
	struct amqpd *a = d->priv;

	if (a == NULL)
		return;
	free_fields(a);
	buf_free(&a->in);
	buf_free(&a->out);
	buf_free(&a->todo);
	buf_free(&a->fl);
	buf_free(&a->res);
	free(a->f);
	pthread_mutex_destroy(&a->mu);
	free(a);
	d->priv = NULL;
}

static int
init_kind(struct dest *d, const char *arg, int tls, char *err, size_t errlen)
{
	struct amqpd *a;
	buf lb = BUF_INIT;
	size_t col;

	a = xcalloc(1, sizeof(*a));
	pthread_mutex_init(&a->mu, NULL);
	a->tfd = -1;
	a->sockfd = -1;
	d->priv = a;
	if (aparse(arg, tls, a, err, errlen, &col) == -1) {
		amqp_free(d);
		return -1;
	}
	dest_mask(&lb, d->name);
	d->label = buf_cstr(&lb);
	return 0;
}

static int
amqp_init(struct dest *d, const char *arg, char *err, size_t errlen)
{
	return init_kind(d, arg, 0, err, errlen);
}

static int
amqps_init(struct dest *d, const char *arg, char *err, size_t errlen)
{
	return init_kind(d, arg, 1, err, errlen);
}

/* --- the loop's side ------------------------------------------------------------ */

static int
amqp_open(struct dest *d)
{
	struct amqpd *a = d->priv;
	int sp[2];
	sigset_t all, old;
	int rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == -1) {
		snprintf(d->err, sizeof(d->err), "socketpair: %s", strerror(errno));
		return -1;
	}
	a->up = a->gone = a->stop = 0;
	a->why[0] = '\0';
	a->ch = 0;
	a->probe = 0;
	a->declare_err[0] = '\0';
	a->handed = a->hbytes = 0;
	buf_reset(&a->in);
	buf_reset(&a->out);
	buf_reset(&a->todo);
	a->todo_off = 0;
	buf_reset(&a->fl);
	a->fl_off = 0;
	a->fn = a->fhead = 0;
	dq_rewind(&d->q);
	d->fd = sp[0];
	a->tfd = sp[1];
	/* signals are the loop's: the thread blocks them all */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&a->th, NULL, amqp_conn_run, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(d->err, sizeof(d->err), "cannot start a thread: %s", strerror(rc));
		close(sp[0]);
		close(sp[1]);
		d->fd = a->tfd = -1;
		return -1;
	}
	a->running = 1;
	return 0;
}

static void
amqp_close(struct dest *d)
{
	struct amqpd *a = d->priv;

	if (a->running) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		if (a->sockfd != -1)
			shutdown(a->sockfd, SHUT_RDWR);	/* wakes a blocked call */
		pthread_mutex_unlock(&a->mu);
		amqp_poke(d->fd);
		pthread_join(a->th, NULL);
		a->running = 0;
	}
	if (d->fd != -1)
		close(d->fd);
	if (a->tfd != -1)
		close(a->tfd);
	d->fd = a->tfd = -1;
	a->handed = a->hbytes = 0;
	dq_rewind(&d->q);
}

static short
amqp_events(struct dest *d)
{
	(void)d;
	return POLLIN;
}

/* Apply the thread's outcomes to the oldest lines handed over. */
static void
apply(struct dest *d, const buf *res)
{
	struct amqpd *a = d->priv;
	const char *p = res->p, *e = res->p + res->len;
	size_t n = 0;

	while (p < e) {
		dq_first(&d->q, &n);
		a->hbytes -= n + 1;
		a->handed--;
		if (*p++ == OUT_OK) {
			dest_settle(d, 1, DEST_DELIVERED, 0, NULL);
			dest_ok(d);
		} else {
			dest_settle(d, 1, DEST_REFUSED, 0, p);
			p += strlen(p) + 1;
		}
	}
}

static int
amqp_io(struct dest *d, short revents)
{
	struct amqpd *a = d->priv;
	buf res = BUF_INIT;
	const struct dest_ticket *t;
	const char *p, *nl;
	size_t n;
	int gone, up, gave = 0;
	char why[sizeof(a->why)];

	if (revents & POLLIN)
		amqp_drain_pokes(d->fd);
	pthread_mutex_lock(&a->mu);
	res = a->out;
	a->out = (buf)BUF_INIT;
	gone = a->gone;
	up = a->up;
	memcpy(why, a->why, sizeof(why));
	pthread_mutex_unlock(&a->mu);
	apply(d, &res);
	buf_free(&res);
	if (gone) {
		dest_fail(d, mono_now(), "%s", why);
		return -1;	/* closed: the unconfirmed lines go again on the next connection */
	}
	if (!up)
		return 0;
	pthread_mutex_lock(&a->mu);
	while (a->handed < WINDOW && (a->handed == 0 || a->hbytes < WINDOW_BYTES)) {
		p = dq_unsent(&d->q, &n);
		if (n == 0)
			break;
		nl = memchr(p, '\n', n);
		n = (size_t)(nl - p) + 1;
		/* the lines before it are the ones handed over, undecided */
		t = dq_ticket(&d->q, a->handed);
		if (t->id != NULL)
			buf_put(&a->in, t->id, t->idn);
		buf_putc(&a->in, '\0');
		buf_put(&a->in, p, n);
		dq_sent(&d->q, n);
		a->handed++;
		a->hbytes += n;
		gave = 1;
	}
	pthread_mutex_unlock(&a->mu);
	if (gave)
		amqp_poke(d->fd);
	return 0;
}

const struct dest_kind dest_amqp_kind = {
	.prefix = "amqp://",
	.check = amqp_check,
	.wants_ids = amqp_wants_ids,
	.quote = amqp_quote,
	.init = amqp_init,
	.open = amqp_open,
	.close = amqp_close,
	.events = amqp_events,
	.io = amqp_io,
	.free = amqp_free,
};

static int
amqps_check(const char *arg, char *err, size_t errlen, size_t *col)
{
	return check_kind(arg, 1, err, errlen, col);
}

const struct dest_kind dest_amqps_kind = {
	.prefix = "amqps://",
	.check = amqps_check,
	.wants_ids = amqp_wants_ids,
	.quote = amqp_quote,
	.init = amqps_init,
	.open = amqp_open,
	.close = amqp_close,
	.events = amqp_events,
	.io = amqp_io,
	.free = amqp_free,
};
