/*
 * dest_redis.c - `redis://[USER:PASSWORD@]HOST:PORT[/DB]/publish/CHANNEL`
 * and `redis://…/xadd/STREAM[?maxlen=N]`.
 *
 * One connection per destination, made without blocking. Lines become
 * PUBLISH CHANNEL LINE or XADD STREAM [MAXLEN ~ N] * event LINE, formatted
 * by hiredis and pipelined: up to WINDOW commands wait for their replies.
 * Replies come in order, so each one confirms the oldest line in flight
 * (dest_settle). A lost connection sends the unconfirmed lines again on the next
 * one (at least once: the lines in flight, at most WINDOW, may arrive
 * twice). An error reply refuses the line for good (DEST_REFUSED), except
 * the transient ones (LOADING, BUSY, …), which close and retry.
 *
 * The password never appears in a message: the label masks it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "alloc.h"
#include "dest.h"
#include "log.h"

#define WINDOW		1024		/* commands awaiting their reply */
#define OBUF_HIWAT	(256u << 10)	/* format this much, then write */

enum { R_PUBLISH, R_XADD };

struct redisd {
	char	*host, *port, *user, *pass;
	int	 db;			/* -1: the default */
	int	 cmd;
	char	*key;			/* channel or stream, decoded */
	size_t	 keylen;
	unsigned long maxlen;		/* 0: none */
	redisReader *rd;
	buf	 ob;			/* formatted, not yet written */
	size_t	 ooff;
	int	 npre;			/* AUTH/SELECT replies to come */
	size_t	 inflight;		/* lines sent, reply to come */
};

/*
 * Parse the text after "redis://". With r NULL only check (templates may
 * still be in the key). 0, or -1 with err and *col.
 */
static int
rparse(const char *arg, struct redisd *r, char *err, size_t errlen,
    size_t *col)
{
	const char *slash, *at = NULL, *hp, *p, *seg, *key, *q, *brace;
	size_t k, keyn;
	int db = -1, cmd;
	unsigned long maxlen = 0;

	if ((slash = strchr(arg, '/')) == NULL) {
		snprintf(err, errlen, "redis://HOST:PORT/publish/CHANNEL or "
		    "redis://HOST:PORT/xadd/STREAM expected");
		*col = strlen(arg);
		return -1;
	}
	for (p = arg; p < slash; p++)
		if (*p == '@')
			at = p;
	hp = at != NULL ? at + 1 : arg;
	if (at != NULL && memchr(arg, ':', (size_t)(at - arg)) == NULL) {
		snprintf(err, errlen, "credentials are written USER:PASSWORD@ or :PASSWORD@");
		*col = 0;
		return -1;
	}
	if ((brace = strchr(arg, '{')) != NULL && brace < slash) {
		snprintf(err, errlen, "only the channel or stream can be a template");
		*col = (size_t)(brace - arg);
		return -1;
	}
	if (dest_hostport(hp, (size_t)(slash - hp), NULL, NULL, err, errlen, col) == -1) {
		*col += (size_t)(hp - arg);
		return -1;
	}
	seg = slash + 1;
	k = strspn(seg, "0123456789");
	if (k > 0 && seg[k] == '/') {
		if (k > 5 || (db = atoi(seg)) > 65535) {
			snprintf(err, errlen, "the database is a number from 0 to 65535");
			*col = (size_t)(seg - arg);
			return -1;
		}
		seg += k + 1;
	}
	if (strncmp(seg, "publish/", 8) == 0) {
		cmd = R_PUBLISH;
		key = seg + 8;
	} else if (strncmp(seg, "xadd/", 5) == 0) {
		cmd = R_XADD;
		key = seg + 5;
	} else {
		snprintf(err, errlen, "/publish/CHANNEL or /xadd/STREAM expected");
		*col = (size_t)(seg - arg);
		return -1;
	}
	keyn = strlen(key);
	if ((q = strchr(key, '?')) != NULL) {
		const char *v = q + 8;
		char *end;

		if (cmd != R_XADD || strncmp(q, "?maxlen=", 8) != 0 ||
		    *v < '1' || *v > '9' || (maxlen = strtoul(v, &end, 10), *end != '\0')) {
			snprintf(err, errlen, "only ?maxlen=N (N > 0) may follow a stream; "
			    "a '?' in a name is written %%3F");
			*col = (size_t)(q - arg);
			return -1;
		}
		keyn = (size_t)(q - key);
	}
	if (keyn == 0) {
		snprintf(err, errlen, "the %s name is missing",
		    cmd == R_PUBLISH ? "channel" : "stream");
		*col = (size_t)(key - arg);
		return -1;
	}
	if (r == NULL)
		return 0;
	r->db = db;
	r->cmd = cmd;
	r->maxlen = maxlen;
	if (dest_pct_decode(key, keyn, &r->key, &r->keylen) == -1) {
		snprintf(err, errlen, "a bad %%XX escape in the %s name",
		    cmd == R_PUBLISH ? "channel" : "stream");
		*col = (size_t)(key - arg);
		return -1;
	}
	if (dest_hostport(hp, (size_t)(slash - hp), &r->host, &r->port, err,
	    errlen, col) == -1)
		return -1;
	if (at != NULL) {
		const char *c = memchr(arg, ':', (size_t)(at - arg));

		if (dest_pct_decode(arg, (size_t)(c - arg), &r->user, NULL) == -1 ||
		    dest_pct_decode(c + 1, (size_t)(at - c - 1), &r->pass, NULL) == -1) {
			snprintf(err, errlen, "a bad %%XX escape in the credentials");
			*col = 0;
			return -1;
		}
	}
	return 0;
}

static int
redis_check(const char *arg, char *err, size_t errlen, size_t *col)
{
	return rparse(arg, NULL, err, errlen, col);
}

/* A template value in a channel or stream name: '%' and '?' escaped. */
static void
redis_quote(buf *out, const char *s, size_t n)
{
	for (; n > 0; s++, n--) {
		if (*s == '%')
			buf_puts(out, "%25");
		else if (*s == '?')
			buf_puts(out, "%3F");
		else
			buf_putc(out, *s);
	}
}

static void
redis_free(struct dest *d)
{
	struct redisd *r = d->priv;

	if (r == NULL)
		return;
	if (r->rd != NULL)
		redisReaderFree(r->rd);
	free(r->host);
	free(r->port);
	free(r->user);
	free(r->pass);
	free(r->key);
	buf_free(&r->ob);
	free(r);
	d->priv = NULL;
}

static int
redis_init(struct dest *d, const char *arg, char *err, size_t errlen)
{
	struct redisd *r;
	buf lb = BUF_INIT;
	size_t col;

	r = xcalloc(1, sizeof(*r));
	d->priv = r;
	if (rparse(arg, r, err, errlen, &col) == -1) {
		redis_free(d);
		return -1;
	}
	dest_mask(&lb, d->name);
	d->label = buf_cstr(&lb);
	return 0;
}

/* Format one command into the output buffer. */
static void
append_cmd(struct redisd *r, int argc, const char **argv, const size_t *argvlen)
{
	char *cmd;
	int n;

	n = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
	if (n < 0)	/* fails only to allocate */
		alloc_fail();
	buf_put(&r->ob, cmd, (size_t)n);
	free(cmd);
}

static int
redis_open(struct dest *d)
{
	struct redisd *r = d->priv;
	const char *argv[3];
	size_t argvlen[3];
	char dbs[16];
	int rc;

	rc = dest_connect(d, r->host, r->port, NULL);
	if (rc != 0)
		return rc;
	if (r->rd != NULL)
		redisReaderFree(r->rd);
	if ((r->rd = redisReaderCreate()) == NULL)
		alloc_fail();
	buf_reset(&r->ob);
	r->ooff = 0;
	r->npre = 0;
	r->inflight = 0;
	dq_rewind(&d->q);
	if (r->pass != NULL) {
		int n = 0;

		argv[n] = "AUTH";
		argvlen[n++] = 4;
		if (r->user[0] != '\0') {
			argv[n] = r->user;
			argvlen[n++] = strlen(r->user);
		}
		argv[n] = r->pass;
		argvlen[n++] = strlen(r->pass);
		append_cmd(r, n, argv, argvlen);
		r->npre++;
	}
	if (r->db >= 0) {
		snprintf(dbs, sizeof(dbs), "%d", r->db);
		argv[0] = "SELECT";
		argvlen[0] = 6;
		argv[1] = dbs;
		argvlen[1] = strlen(dbs);
		append_cmd(r, 2, argv, argvlen);
		r->npre++;
	}
	return 0;
}

static void
redis_close(struct dest *d)
{
	struct redisd *r = d->priv;

	if (d->fd != -1)
		close(d->fd);
	d->fd = -1;
	buf_reset(&r->ob);
	r->ooff = 0;
	r->inflight = 0;
	dq_rewind(&d->q);
}

static short
redis_events(struct dest *d)
{
	struct redisd *r = d->priv;

	return POLLIN | (r->ob.len > r->ooff ? POLLOUT : 0);
}

/* The connection is gone: retry later, sending again what was not confirmed. */
static int
lost(struct dest *d, const char *fmt, const char *arg)
{
	dest_fail(d, mono_now(), fmt, arg);
	return -1;
}

/* Errors that say "not now" rather than "never". */
static int
transient(const char *s)
{
	static const char *const words[] = { "LOADING", "BUSY", "OOM", "READONLY",
	    "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "NOAUTH", "NOREPLICAS" };
	size_t k, n;

	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		n = strlen(words[k]);
		if (strncmp(s, words[k], n) == 0 && (s[n] == ' ' || s[n] == '\0'))
			return 1;
	}
	return 0;
}

/* One reply: for AUTH/SELECT, or for the oldest line in flight. */
static int
on_reply(struct dest *d, redisReply *rep)
{
	struct redisd *r = d->priv;

	if (r->npre > 0) {
		r->npre--;
		if (rep->type == REDIS_REPLY_ERROR)
			return lost(d, "refused the login or database: %s", rep->str);
		if (r->npre == 0 && !dq_busy(&d->q))
			dest_ok(d);
		return 0;
	}
	if (r->inflight == 0)
		return lost(d, "a reply nothing asked for%s", "");
	if (rep->type == REDIS_REPLY_ERROR && transient(rep->str))
		return lost(d, "%s", rep->str);
	dest_settle(d, 1, rep->type == REDIS_REPLY_ERROR ? DEST_REFUSED :
	    DEST_DELIVERED, 0, rep->type == REDIS_REPLY_ERROR ? rep->str : NULL);
	r->inflight--;
	dest_ok(d);
	return 0;
}

static int
read_replies(struct dest *d)
{
	struct redisd *r = d->priv;
	char tmp[65536];
	void *rep;
	ssize_t n;

	for (;;) {
		n = read(d->fd, tmp, sizeof(tmp));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1)
			return lost(d, "connection lost: %s", strerror(errno));
		if (n == 0)
			return lost(d, "the server closed the connection%s", "");
		if (redisReaderFeed(r->rd, tmp, (size_t)n) != REDIS_OK)
			alloc_fail();	/* fails only to allocate */
		for (;;) {
			int bad;

			rep = NULL;
			if (redisReaderGetReply(r->rd, &rep) != REDIS_OK)
				return lost(d, "bad reply: %s", r->rd->errstr);
			if (rep == NULL)
				break;
			bad = on_reply(d, rep);
			freeReplyObject(rep);
			if (bad)
				return -1;
		}
		if ((size_t)n < sizeof(tmp))
			break;
	}
	return 0;
}

/* Format commands for the unsent lines, within the window. */
static void
fill(struct dest *d)
{
	struct redisd *r = d->priv;
	const char *argv[8], *p, *nl;
	size_t argvlen[8], n;
	char ml[24];
	int argc;

	if (r->npre > 0)	/* not before the login and SELECT are confirmed */
		return;
	while (r->inflight < WINDOW && r->ob.len - r->ooff < OBUF_HIWAT) {
		p = dq_unsent(&d->q, &n);
		if (n == 0)
			break;
		nl = memchr(p, '\n', n);
		argc = 0;
		if (r->cmd == R_PUBLISH) {
			argv[argc] = "PUBLISH";
			argvlen[argc++] = 7;
			argv[argc] = r->key;
			argvlen[argc++] = r->keylen;
		} else {
			argv[argc] = "XADD";
			argvlen[argc++] = 4;
			argv[argc] = r->key;
			argvlen[argc++] = r->keylen;
			if (r->maxlen > 0) {
				snprintf(ml, sizeof(ml), "%lu", r->maxlen);
				argv[argc] = "MAXLEN";
				argvlen[argc++] = 6;
				argv[argc] = "~";
				argvlen[argc++] = 1;
				argv[argc] = ml;
				argvlen[argc++] = strlen(ml);
			}
			argv[argc] = "*";
			argvlen[argc++] = 1;
			argv[argc] = "event";
			argvlen[argc++] = 5;
		}
		argv[argc] = p;
		argvlen[argc++] = (size_t)(nl - p);
		append_cmd(r, argc, argv, argvlen);
		dq_sent(&d->q, (size_t)(nl - p) + 1);
		r->inflight++;
	}
}

/* Write what was formatted. 0, or -1 when the connection is gone. */
static int
flush_out(struct dest *d)
{
	struct redisd *r = d->priv;
	ssize_t w;

	while (r->ooff < r->ob.len) {
		w = write(d->fd, r->ob.p + r->ooff, r->ob.len - r->ooff);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return lost(d, "connection lost: %s",
			    w == -1 ? strerror(errno) : "no progress");
		r->ooff += (size_t)w;
	}
	buf_reset(&r->ob);
	r->ooff = 0;
	return 0;
}

static int
redis_io(struct dest *d, short revents)
{
	struct redisd *r = d->priv;
	size_t sent0;

	if ((revents & (POLLIN | POLLHUP | POLLERR)) && read_replies(d) == -1)
		return -1;
	for (;;) {
		sent0 = d->q.sent;
		fill(d);
		if (flush_out(d) == -1)
			return -1;
		if (r->ob.len > 0 || d->q.sent == sent0)
			return 0;
	}
}

const struct dest_kind dest_redis_kind = {
	.prefix = "redis://",
	.check = redis_check,
	.quote = redis_quote,
	.init = redis_init,
	.open = redis_open,
	.close = redis_close,
	.events = redis_events,
	.io = redis_io,
	.free = redis_free,
};
