/*
 * amqp_conn.c - an amqp:// destination's connection, in a thread of its
 * own: the handshake, a channel in confirm mode, publishing, and the
 * broker's confirms and returns turned into one outcome per line.
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
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "alloc.h"
#include "amqp_conn.h"

#define HEARTBEAT	30		/* seconds; a silent broker is gone after two */
#define CONNECT_TMO	5		/* seconds to connect (not interruptible) */
#define RPC_TMO		10		/* seconds for the handshake and each round trip */
#define CA_FILE		"/etc/ssl/certs/ca-certificates.crt"

struct flight {			/* a message published, not yet decided */
	uint64_t tag;
	int	 acked, nacked;
	char	*ret;		/* returned as unroutable: why */
};

void
amqp_poke(int fd)
{
	ssize_t w;

	do
		w = write(fd, "", 1);
	while (w == -1 && errno == EINTR);
	/* EAGAIN: a poke is pending already */
}

void
amqp_drain_pokes(int fd)
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
		alloc_fail();
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

/* A line handed over: its event_id (*idn bytes), then a NUL; the line follows. */
static const char *
body_of(const char *e, size_t en, size_t *idn, size_t *n)
{
	const char *z = memchr(e, '\0', en);

	*idn = (size_t)(z - e);
	*n = en - *idn - 1;
	return z + 1;
}

/* The k-th line in flight (from fl_off on), as handed over: id, NUL, line. */
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

/* Publish one line handed over (e: id, NUL, line; en bytes). */
static int
publish(struct amqpd *a, const char *e, size_t en)
{
	amqp_basic_properties_t pr;
	struct flight *f;
	size_t idn, n;
	const char *line = body_of(e, en, &idn, &n);
	int rc;

	memset(&pr, 0, sizeof(pr));
	pr._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
	pr.content_type = amqp_cstring_bytes("application/json");
	pr.delivery_mode = 2;
	if (idn > 0 && idn <= 255) {	/* a message_id is a shortstr */
		pr._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
		pr.message_id = (amqp_bytes_t){ idn, (void *)e };
	}
	rc = amqp_basic_publish(a->conn, a->ch, (amqp_bytes_t){ a->exlen, a->exchange },
	    (amqp_bytes_t){ a->keylen, a->key }, 1, 0, &pr, (amqp_bytes_t){ n, (void *)line });
	if (rc != AMQP_STATUS_OK)
		return end(a, "connection lost: %s", amqp_error_string2(rc));
	if (a->fn == a->fcap) {
		size_t ncap = a->fcap ? a->fcap * 2 : 64, k;
		struct flight *nf = xmalloc(ncap * sizeof(*nf));

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
	buf_put(&a->fl, e, en);
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
	size_t k, n, idn;
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
		line = body_of(line, n, &idn, &n);
		if (f->ret == NULL && !f->acked && !f->nacked && n == msg.body.len &&
		    memcmp(line, msg.body.bytes, n) == 0) {
			f->ret = xstrdup(why);
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
		f->ret = xstrdup(why);
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
publish_todo(struct amqpd *a)
{
	const char *p, *nl;
	int k = 0;

	while (a->todo_off < a->todo.len && (!a->probe || a->fn == 0)) {
		p = a->todo.p + a->todo_off;
		nl = memchr(p, '\n', a->todo.len - a->todo_off);
		if (publish(a, p, (size_t)(nl - p)) == -1)
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

void *
amqp_conn_run(void *arg)
{
	struct amqpd *a = arg;
	struct pollfd p[2];
	int stop, more;

	if (connect_broker(a) == 0) {
		pthread_mutex_lock(&a->mu);
		a->up = 1;
		pthread_mutex_unlock(&a->mu);
		amqp_poke(a->tfd);
		for (;;) {
			pthread_mutex_lock(&a->mu);
			stop = a->stop;
			buf_put(&a->todo, a->in.p, a->in.len);
			buf_reset(&a->in);
			pthread_mutex_unlock(&a->mu);
			if (stop)
				break;
			if (publish_todo(a) == -1 || read_frames(a) == -1)
				break;
			settle(a);
			if (a->res.len > 0) {
				pthread_mutex_lock(&a->mu);
				buf_put(&a->out, a->res.p, a->res.len);
				pthread_mutex_unlock(&a->mu);
				buf_reset(&a->res);
				amqp_poke(a->tfd);
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
				amqp_drain_pokes(a->tfd);
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
	amqp_poke(a->tfd);
	return NULL;
}
