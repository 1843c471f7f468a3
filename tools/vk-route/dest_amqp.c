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
 * Why a thread: rabbitmq-c's calls block. Its handshake and declare are
 * round trips, and amqp_basic_publish() writes with no deadline: a broker
 * that stops reading (stopped, partitioned, out of memory) would hold it
 * forever, and with it every other destination of this single-threaded
 * loop. So each amqp destination runs its connection in a thread of its
 * own that does nothing else; the loop only ever meets a mutex held for a
 * memcpy and a socketpair that says "look" (the destination's d->fd). The
 * queue, the counters, the logging and the backoff stay in the loop's
 * thread, as for every other kind: the thread gets copies of the lines in
 * order and gives back one outcome per line, in order. One thread lives as
 * long as one connection; the next connection, after backoff, is a new
 * thread. To stop, the loop shuts the broker socket down (which wakes any
 * blocked call) and joins the thread.
 *
 * A channel error (the broker closes the channel, e.g. 404 for an exchange
 * that does not exist) names no message: the channel is opened again and
 * the unconfirmed messages are sent one at a time until one is confirmed,
 * so that an error that comes again belongs to the one message in flight,
 * which is then refused with it.
 *
 * amqps:// verifies the certificate and the host name against the CA
 * bundle in SSL_CERT_FILE, else Debian's /etc/ssl/certs/ca-certificates.crt
 * (rabbitmq-c 0.11 loads no default trust store of its own).
 */
#define _GNU_SOURCE	/* SOCK_NONBLOCK */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "dest.h"
#include "json.h"
#include "log.h"

#define WINDOW		1024		/* messages awaiting their confirm */
#define WINDOW_BYTES	(8u << 20)	/* and their bytes, past the first */
#define HEARTBEAT	30		/* seconds; a silent broker is gone after two */
#define CONNECT_TMO	5		/* seconds to connect (not interruptible) */
#define RPC_TMO		10		/* seconds for the handshake and each round trip */
#define CA_FILE		"/etc/ssl/certs/ca-certificates.crt"

/* What the thread reports about each line, in order (one byte each, then a reason). */
#define OUT_OK		'+'
#define OUT_REFUSED	'-'

struct flight {			/* a message published, not yet decided */
	uint64_t tag;
	int	 acked, nacked;
	char	*ret;		/* returned as unroutable: why */
};

struct amqpd {
	/* the destination, fixed at init */
	int	 tls;
	char	*host, *user, *pass, *vhost;
	int	 port;
	char	*exchange, *key;	/* /queue/NAME: exchange "", key NAME */
	size_t	 exlen, keylen;
	int	 queue;			/* declare key as a durable queue */

	/* the loop's side */
	int	 tfd;			/* the thread's end of the socketpair */
	pthread_t th;
	int	 running;
	size_t	 handed, hbytes;	/* lines (bytes) given to the thread, undecided */

	/* shared with the thread, under mu */
	pthread_mutex_t mu;
	buf	 in;			/* lines to publish, each ending in '\n' */
	buf	 out;			/* outcomes */
	int	 up;			/* the channel is ready */
	int	 gone;			/* the connection ended: why says why */
	int	 stop;			/* the loop wants the thread to end */
	int	 sockfd;		/* the broker's socket, -1 */
	char	 why[256];

	/* the thread's own */
	amqp_connection_state_t conn;
	amqp_channel_t ch;
	buf	 todo;			/* lines taken from in, not published yet */
	size_t	 todo_off;
	buf	 fl;			/* the lines in flight, oldest first */
	size_t	 fl_off;
	struct flight *f;		/* their states, a ring */
	size_t	 fhead, fn, fcap;
	uint64_t next_tag;
	int	 probe;			/* after a channel error: one at a time */
	char	 declare_err[200];	/* the queue could not be declared: why */
	char	 cherr[320];		/* the last channel error */
	buf	 res;			/* outcomes being gathered */
};

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

			if ((a->host = strndup(hp + o, hpn - 2 * o)) == NULL)
				abort();
			a->port = tls ? 5671 : 5672;
		}
	}
	a->tls = tls;
	if (first) {
		if (name_seg(arg, seg[0], segn[0], "vhost", &a->vhost, NULL, err,
		    errlen, col) == -1)
			return -1;
	} else if ((a->vhost = strdup("/")) == NULL) {
		abort();
	}
	if (segn[first] == 5) {
		a->queue = 1;
		if ((a->exchange = strdup("")) == NULL)
			abort();
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
	} else if ((a->user = strdup("guest")) == NULL ||
	    (a->pass = strdup("guest")) == NULL) {
		abort();
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

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
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

/* --- the connection's thread -------------------------------------------------- */

static void
poke(int fd)
{
	ssize_t w;

	do
		w = write(fd, "", 1);
	while (w == -1 && errno == EINTR);
	/* EAGAIN: a poke is pending already */
}

static void
drain_pokes(int fd)
{
	char tmp[256];

	while (read(fd, tmp, sizeof(tmp)) > 0)
		;
}

/* An RPC's failure, as words. */
static void
describe(amqp_rpc_reply_t r, char *out, size_t n)
{
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		snprintf(out, n, "no error");
		break;
	case AMQP_RESPONSE_NONE:
		snprintf(out, n, "no reply");
		break;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		snprintf(out, n, "%s", amqp_error_string2(r.library_error));
		break;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *m = r.reply.decoded;

			snprintf(out, n, "%u %.*s", m->reply_code,
			    (int)m->reply_text.len, (char *)m->reply_text.bytes);
		} else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t *m = r.reply.decoded;

			snprintf(out, n, "%u %.*s", m->reply_code,
			    (int)m->reply_text.len, (char *)m->reply_text.bytes);
		} else {
			snprintf(out, n, "unexpected method 0x%08x", r.reply.id);
		}
		break;
	}
}

/* The connection ends: say why, and stop. Always returns -1. */
static int
end(struct amqpd *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int
end(struct amqpd *a, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&a->mu);
	if (!a->gone) {
		va_start(ap, fmt);
		vsnprintf(a->why, sizeof(a->why), fmt, ap);
		va_end(ap);
	}
	a->gone = 1;
	pthread_mutex_unlock(&a->mu);
	return -1;
}

/* Open a channel in confirm mode; declare the queue. 0, or -1 (ended). */
static int
open_channel(struct amqpd *a)
{
	amqp_rpc_reply_t r;
	char why[200];

	for (;;) {
		/* a closed channel's number may be used again: stay well under
		 * the broker's channel_max (2047 by default) */
		a->ch = a->ch % 1000 + 1;
		amqp_channel_open(a->conn, a->ch);
		r = amqp_get_rpc_reply(a->conn);
		if (r.reply_type != AMQP_RESPONSE_NORMAL) {
			describe(r, why, sizeof(why));
			return end(a, "cannot open a channel: %s", why);
		}
		amqp_confirm_select(a->conn, a->ch);
		r = amqp_get_rpc_reply(a->conn);
		if (r.reply_type != AMQP_RESPONSE_NORMAL) {
			describe(r, why, sizeof(why));
			return end(a, "cannot select publisher confirms: %s", why);
		}
		a->next_tag = 1;
		if (!a->queue || a->declare_err[0] != '\0')
			return 0;
		amqp_queue_declare(a->conn, a->ch, (amqp_bytes_t){ a->keylen, a->key },
		    0, 1, 0, 0, amqp_empty_table);
		r = amqp_get_rpc_reply(a->conn);
		if (r.reply_type == AMQP_RESPONSE_NORMAL)
			return 0;
		describe(r, why, sizeof(why));
		if (r.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION ||
		    r.reply.id != AMQP_CHANNEL_CLOSE_METHOD)
			return end(a, "cannot declare the queue: %s", why);
		/* It exists otherwise (other arguments), or may not be declared:
		 * publish to it as it is; an unroutable return tells the rest. */
		snprintf(a->declare_err, sizeof(a->declare_err), "%s", why);
		amqp_channel_close_ok_t ok = { 0 };
		if (amqp_send_method(a->conn, a->ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != 0)
			return end(a, "connection lost");
	}
}

static int
connect_broker(struct amqpd *a)
{
	amqp_socket_t *s;
	struct timeval ctmo = { CONNECT_TMO, 0 }, rtmo = { RPC_TMO, 0 };
	amqp_rpc_reply_t r;
	const char *ca;
	char why[200];
	int rc;

	if ((a->conn = amqp_new_connection()) == NULL)
		return end(a, "out of memory");
	s = a->tls ? amqp_ssl_socket_new(a->conn) : amqp_tcp_socket_new(a->conn);
	if (s == NULL)
		return end(a, "cannot make a socket");
	if (a->tls) {
		ca = getenv("SSL_CERT_FILE");
		if (ca == NULL || ca[0] == '\0')
			ca = CA_FILE;
		if (amqp_ssl_socket_set_cacert(s, ca) != AMQP_STATUS_OK)
			return end(a, "cannot load the CA certificates from %s", ca);
		amqp_ssl_socket_set_verify_peer(s, 1);
		amqp_ssl_socket_set_verify_hostname(s, 1);
	}
	amqp_set_handshake_timeout(a->conn, &rtmo);
	amqp_set_rpc_timeout(a->conn, &rtmo);
	rc = amqp_socket_open_noblock(s, a->host, a->port, &ctmo);
	if (rc != AMQP_STATUS_OK)
		return end(a, "cannot connect: %s", amqp_error_string2(rc));
	pthread_mutex_lock(&a->mu);
	a->sockfd = amqp_get_sockfd(a->conn);
	rc = a->stop;
	pthread_mutex_unlock(&a->mu);
	if (rc)
		return end(a, "stopped");
	r = amqp_login(a->conn, a->vhost, 0, 131072, HEARTBEAT,
	    AMQP_SASL_METHOD_PLAIN, a->user, a->pass);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		describe(r, why, sizeof(why));
		return end(a, "refused the login or vhost: %s", why);
	}
	return open_channel(a);
}

/* --- messages in flight --- */

static struct flight *
fat(struct amqpd *a, size_t k)
{
	return &a->f[(a->fhead + k) & (a->fcap - 1)];
}

/* The k-th line in flight (from fl_off on). */
static const char *
fl_line(struct amqpd *a, size_t k, size_t *n)
{
	const char *p = a->fl.p + a->fl_off, *nl;

	for (;;) {
		nl = memchr(p, '\n', a->fl.len - (size_t)(p - a->fl.p));
		if (k-- == 0)
			break;
		p = nl + 1;
	}
	*n = (size_t)(nl - p);
	return p;
}

/* The event_id of a line as a message_id: a string of at most 255 bytes. */
static int
event_id(const char *line, size_t n, buf *id)
{
	struct json_index ix;
	struct jv root, v;
	char err[64];

	if (json_check(line, n, &root, &ix, err, sizeof(err)) != 0 ||
	    root.t != JSON_OBJECT)
		return -1;
	if (json_member(&ix, -1, "event_id", 8, &v) == -2)
		v = jv_get(&root, "event_id", 8);
	if (v.t != JSON_STRING)
		return -1;
	buf_reset(id);
	json_unescape_raw(v.p, v.n, id);
	return id->len > 0 && id->len <= 255 ? 0 : -1;
}

static int
publish(struct amqpd *a, const char *line, size_t n, buf *id)
{
	amqp_basic_properties_t pr;
	struct flight *f;
	int rc;

	memset(&pr, 0, sizeof(pr));
	pr._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
	pr.content_type = amqp_cstring_bytes("application/json");
	pr.delivery_mode = 2;
	if (event_id(line, n, id) == 0) {
		pr._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
		pr.message_id = (amqp_bytes_t){ id->len, id->p };
	}
	rc = amqp_basic_publish(a->conn, a->ch, (amqp_bytes_t){ a->exlen, a->exchange },
	    (amqp_bytes_t){ a->keylen, a->key }, 1, 0, &pr, (amqp_bytes_t){ n, (void *)line });
	if (rc != AMQP_STATUS_OK)
		return end(a, "connection lost: %s", amqp_error_string2(rc));
	if (a->fn == a->fcap) {
		size_t ncap = a->fcap ? a->fcap * 2 : 64, k;
		struct flight *nf = malloc(ncap * sizeof(*nf));

		if (nf == NULL)
			abort();
		for (k = 0; k < a->fn; k++)
			nf[k] = *fat(a, k);
		free(a->f);
		a->f = nf;
		a->fhead = 0;
		a->fcap = ncap;
	}
	f = fat(a, a->fn++);
	memset(f, 0, sizeof(*f));
	f->tag = a->next_tag++;
	buf_put(&a->fl, line, n);
	buf_putc(&a->fl, '\n');
	return 0;
}

/* The decided messages at the front become outcomes, in order. */
static void
settle(struct amqpd *a)
{
	struct flight *f;
	const char *nl;

	while (a->fn > 0 && ((f = fat(a, 0))->acked || f->nacked)) {
		if (f->nacked) {
			buf_putc(&a->res, OUT_REFUSED);
			buf_puts(&a->res, "basic.nack: the broker did not take it "
			    "(a full queue that rejects publishing, or an internal error)");
			buf_putc(&a->res, '\0');
		} else if (f->ret != NULL) {
			buf_putc(&a->res, OUT_REFUSED);
			buf_puts(&a->res, f->ret);
			buf_putc(&a->res, '\0');
		} else {
			buf_putc(&a->res, OUT_OK);
		}
		if (f->acked && f->ret == NULL)
			a->probe = 0;
		free(f->ret);
		f->ret = NULL;
		a->fhead = (a->fhead + 1) & (a->fcap - 1);
		a->fn--;
		nl = memchr(a->fl.p + a->fl_off, '\n', a->fl.len - a->fl_off);
		a->fl_off = (size_t)(nl + 1 - a->fl.p);
	}
	if (a->fn == 0) {
		buf_reset(&a->fl);
		a->fl_off = 0;
	} else if (a->fl_off > (1u << 20) && a->fl_off > a->fl.len / 2) {
		memmove(a->fl.p, a->fl.p + a->fl_off, a->fl.len - a->fl_off);
		a->fl.len -= a->fl_off;
		a->fl_off = 0;
	}
}

/* basic.ack / basic.nack for tag (and, with multiple, every one before it). */
static void
confirm(struct amqpd *a, uint64_t tag, int multiple, int ack)
{
	size_t k;
	struct flight *f;

	for (k = 0; k < a->fn; k++) {
		f = fat(a, k);
		if (f->tag > tag)
			break;
		if ((f->tag == tag || multiple) && !f->acked && !f->nacked) {
			if (ack)
				f->acked = 1;
			else
				f->nacked = 1;
		}
	}
}

/* basic.return: its message follows; the oldest one in flight with that body it is. */
static int
returned(struct amqpd *a, amqp_basic_return_t *m)
{
	amqp_message_t msg;
	amqp_rpc_reply_t r;
	char why[400], tmp[200];
	size_t k, n;
	const char *line;

	snprintf(why, sizeof(why), "unroutable (basic.return): %u %.*s%s%s%s",
	    m->reply_code, (int)m->reply_text.len, (char *)m->reply_text.bytes,
	    a->declare_err[0] ? " (declaring the queue: " : "", a->declare_err,
	    a->declare_err[0] ? ")" : "");
	r = amqp_read_message(a->conn, a->ch, &msg, 0);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		describe(r, tmp, sizeof(tmp));
		return end(a, "connection lost: %s", tmp);
	}
	for (k = 0; k < a->fn; k++) {
		struct flight *f = fat(a, k);

		line = fl_line(a, k, &n);
		if (f->ret == NULL && !f->acked && !f->nacked && n == msg.body.len &&
		    memcmp(line, msg.body.bytes, n) == 0) {
			if ((f->ret = strdup(why)) == NULL)
				abort();
			break;
		}
	}
	amqp_destroy_message(&msg);
	return 0;
}

/*
 * The broker closed the channel: refuse the one message in flight when
 * probing, else send them all again one at a time. A new channel follows.
 */
static int
channel_closed(struct amqpd *a, amqp_channel_close_t *m)
{
	amqp_channel_close_ok_t ok = { 0 };
	char why[300];
	size_t k, n;
	const char *line;
	buf again = BUF_INIT;

	settle(a);	/* what was decided stays decided */
	snprintf(why, sizeof(why), "the broker closed the channel: %u %.*s",
	    m->reply_code, (int)m->reply_text.len, (char *)m->reply_text.bytes);
	if (amqp_send_method(a->conn, a->ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != 0)
		return end(a, "connection lost");
	snprintf(a->cherr, sizeof(a->cherr), "%s", why);
	k = 0;
	if (a->probe && a->fn == 1) {
		struct flight *f = fat(a, 0);

		free(f->ret);
		if ((f->ret = strdup(why)) == NULL)
			abort();
		f->acked = 1;
		settle(a);
	}
	/* what is left goes back before the lines not published yet */
	for (k = 0; k < a->fn; k++) {
		free(fat(a, k)->ret);
		line = fl_line(a, k, &n);
		buf_put(&again, line, n);
		buf_putc(&again, '\n');
	}
	buf_put(&again, a->todo.p + a->todo_off, a->todo.len - a->todo_off);
	buf_free(&a->todo);
	a->todo = again;
	a->todo_off = 0;
	a->fn = 0;
	a->fhead = 0;
	buf_reset(&a->fl);
	a->fl_off = 0;
	a->probe = 1;
	return open_channel(a);
}

/* One frame from the broker. 0, or -1 (ended). */
static int
on_frame(struct amqpd *a, amqp_frame_t *fr)
{
	char tmp[300];

	if (fr->frame_type != AMQP_FRAME_METHOD)
		return 0;	/* heartbeats; content only follows a return */
	switch (fr->payload.method.id) {
	case AMQP_BASIC_ACK_METHOD: {
		amqp_basic_ack_t *m = fr->payload.method.decoded;

		if (fr->channel == a->ch)
			confirm(a, m->delivery_tag, m->multiple, 1);
		return 0;
	}
	case AMQP_BASIC_NACK_METHOD: {
		amqp_basic_nack_t *m = fr->payload.method.decoded;

		if (fr->channel == a->ch)
			confirm(a, m->delivery_tag, m->multiple, 0);
		return 0;
	}
	case AMQP_BASIC_RETURN_METHOD:
		return returned(a, fr->payload.method.decoded);
	case AMQP_CHANNEL_CLOSE_METHOD:
		return channel_closed(a, fr->payload.method.decoded);
	case AMQP_CONNECTION_CLOSE_METHOD: {
		amqp_connection_close_t *m = fr->payload.method.decoded;
		amqp_connection_close_ok_t ok = { 0 };

		snprintf(tmp, sizeof(tmp), "%u %.*s", m->reply_code,
		    (int)m->reply_text.len, (char *)m->reply_text.bytes);
		amqp_send_method(a->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
		return end(a, "the broker closed the connection: %s", tmp);
	}
	default:
		return 0;
	}
}

/* Read every frame that is there, without waiting. */
static int
read_frames(struct amqpd *a)
{
	struct timeval zero = { 0, 0 };
	amqp_frame_t fr;
	int rc;

	for (;;) {
		rc = amqp_simple_wait_frame_noblock(a->conn, &fr, &zero);
		if (rc == AMQP_STATUS_TIMEOUT)
			return 0;
		if (rc != AMQP_STATUS_OK)
			return end(a, "connection lost: %s", amqp_error_string2(rc));
		if (on_frame(a, &fr) == -1)
			return -1;
	}
}

/* Publish what waits, within the window (one at a time while probing). */
static int
publish_todo(struct amqpd *a, buf *id)
{
	const char *p, *nl;
	int k = 0;

	while (a->todo_off < a->todo.len && (!a->probe || a->fn == 0)) {
		p = a->todo.p + a->todo_off;
		nl = memchr(p, '\n', a->todo.len - a->todo_off);
		if (publish(a, p, (size_t)(nl - p), id) == -1)
			return -1;
		a->todo_off = (size_t)(nl + 1 - a->todo.p);
		/* read confirms between publishes: the broker's writes never wait for ours */
		if (++k % 64 == 0 && read_frames(a) == -1)
			return -1;
	}
	if (a->todo_off == a->todo.len) {
		buf_reset(&a->todo);
		a->todo_off = 0;
	}
	return 0;
}

static void *
run(void *arg)
{
	struct amqpd *a = arg;
	struct pollfd p[2];
	buf id = BUF_INIT;
	int stop, more;

	if (connect_broker(a) == 0) {
		pthread_mutex_lock(&a->mu);
		a->up = 1;
		pthread_mutex_unlock(&a->mu);
		poke(a->tfd);
		for (;;) {
			pthread_mutex_lock(&a->mu);
			stop = a->stop;
			buf_put(&a->todo, a->in.p, a->in.len);
			buf_reset(&a->in);
			pthread_mutex_unlock(&a->mu);
			if (stop)
				break;
			if (publish_todo(a, &id) == -1 || read_frames(a) == -1)
				break;
			settle(a);
			if (a->res.len > 0) {
				pthread_mutex_lock(&a->mu);
				buf_put(&a->out, a->res.p, a->res.len);
				pthread_mutex_unlock(&a->mu);
				buf_reset(&a->res);
				poke(a->tfd);
			}
			amqp_maybe_release_buffers(a->conn);
			more = a->todo_off < a->todo.len && (!a->probe || a->fn == 0);
			if (more || amqp_data_in_buffer(a->conn) || amqp_frames_enqueued(a->conn))
				continue;
			p[0].fd = amqp_get_sockfd(a->conn);
			p[0].events = POLLIN;
			p[1].fd = a->tfd;
			p[1].events = POLLIN;
			/* a second at most: TLS may hold decrypted bytes poll cannot see,
			 * and heartbeats are due */
			if (poll(p, 2, a->tls ? 100 : 1000) > 0 && (p[1].revents & POLLIN))
				drain_pokes(a->tfd);
		}
	}
	end(a, "stopped");
	pthread_mutex_lock(&a->mu);
	a->sockfd = -1;
	pthread_mutex_unlock(&a->mu);
	if (a->conn != NULL) {
		amqp_destroy_connection(a->conn);
		a->conn = NULL;
	}
	while (a->fn > 0) {
		free(fat(a, 0)->ret);
		a->fhead = (a->fhead + 1) & (a->fcap - 1);
		a->fn--;
	}
	buf_free(&id);
	poke(a->tfd);
	return NULL;
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
	rc = pthread_create(&a->th, NULL, run, a);
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
		poke(d->fd);
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
	const char *p, *nl;
	size_t n;
	int gone, up, gave = 0;
	char why[sizeof(a->why)];

	if (revents & POLLIN)
		drain_pokes(d->fd);
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
		dest_fail(d, dest_now(), "%s", why);
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
		buf_put(&a->in, p, n);
		dq_sent(&d->q, n);
		a->handed++;
		a->hbytes += n;
		gave = 1;
	}
	pthread_mutex_unlock(&a->mu);
	if (gave)
		poke(d->fd);
	return 0;
}

const struct dest_kind dest_amqp_kind = {
	.prefix = "amqp://",
	.check = amqp_check,
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
	.quote = amqp_quote,
	.init = amqps_init,
	.open = amqp_open,
	.close = amqp_close,
	.events = amqp_events,
	.io = amqp_io,
	.free = amqp_free,
};
