/* server.c - HTTP in, lines out: requests held until their line is safe. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "ack.h"
#include "conns.h"
#include "idwin.h"
#include "alloc.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "mono.h"
#include "pending.h"
#include "ratelimit.h"
#include "server.h"
#include "tool.h"

#define CONN_LIMIT	1024		/* concurrent connections; VK opens a few: more cuts the longest reader */
#define CONN_ROOM	64		/* accepted over CONN_LIMIT while the longest readers go */
#define PER_ADDR	128		/* connections from one address: a proxy's share too */
#define CONN_MEMORY	(8u << 10)	/* per connection: VK's headers, with room; bodies are ours */
#define CONN_TIMEOUT_S	10		/* idle keep-alive, or a body that does not come */
#define REQUEST_S	20.0		/* a whole request, from the connection or the last answer */
#define BODY_BUDGET	(64u << 20)	/* bodies being read, all connections together */
#define OUT_BACKLOG	(16u << 20)	/* lines not yet taken by stdout's reader */
#define ACK_BACKLOG	(16u << 20)	/* --ack: ids of lines written, not acknowledged */
#define DRAIN_S		2.0		/* at a stop: how long held requests may wait on */
#define LOG_PER_SEC	10		/* refused requests logged each second */
#define RETRY_AFTER	"5"		/* seconds, with every 503 */
#define ALIVE_S		1.0		/* --alive: the longest between two touches */
#define COLLECT		4		/* more looks for requests before their lines are written */
#define BUSY_TURNS	8		/* turns in a row that need not wait (see server_run) */

_Static_assert(EV_ID_MAX == ACK_ID_MAX, "every event_id remembered fits an ack line");

/* A line number's flag in the window: written, not acknowledged in time. */
#define STALE		(1ULL << 63)

enum { R_READ, R_HELD, R_ANSWER, R_FLUSH };

struct srv;

struct req {
	struct srv *s;
	struct MHD_Connection *conn;
	buf	 body;
	int	 too_big, busy;
	int	 state;
	int	 resumed;	/* held, then let go: counted in answering */
	unsigned long turn;	/* R_FLUSH: the flush it waits for */
	unsigned status;	/* R_ANSWER: 200 or 503 */
	uint64_t seq;		/* R_HELD: the line it waits for */
	double	 deadline;
	char	*rawid;		/* with --ack: the event_id, to mark it STALE */
	size_t	 rawlen;
	char	 id[48];	/* for messages: the event_id, made printable */
};

struct srv {
	const struct server_conf *c;
	struct server_stats *st;
	struct MHD_Daemon *d;
	buf	 id, scratch;
	buf	 ob;		/* lines not yet written, from ob_off */
	size_t	 ob_off;
	uint64_t *ends;		/* ring: the output offset where each unwritten line ends */
	size_t	 e_head, e_n, e_cap;
	uint64_t out_bytes, written_bytes;
	uint64_t queued, written, acked;	/* line numbers: counts so far */
	int	 out_err;	/* errno of the failed write, or 0 */
	ack_in	 ack;
	int	 have_ack;
	conns	 cx;		/* connections reading a request */
	pending	 pend;		/* with --ack: lines acked + 1 .. queued, with their ids */
	idwin	 seen;		/* event_id -> line number (| STALE) */
	struct req **held;
	size_t	 h_n, h_cap;
	size_t	 body_bytes;
	unsigned answering;	/* resumed, not yet completed */
	unsigned flushing;	/* requests in R_FLUSH */
	unsigned fresh;		/* of them, queued by the last MHD_run() */
	unsigned long turn;	/* flushes so far */
	int	 ob_flushed;	/* the last flush wrote all: stdout keeps up */
	unsigned served;	/* handler calls in the last MHD_run() */
	int	 stopping;
	int	 alive_fd;	/* --alive: its mtime is the loop's last turn */
	double	 alive_at;
	double	 now;
	double	 log_sec;
	unsigned log_n;
	unsigned long log_dropped;
	struct MHD_Response *r_ok, *r_400, *r_403, *r_405, *r_413, *r_503, *r_confirm;
};

/* --- diagnostics: never the body (hostile, and it holds the secret) --- */

static void
client_addr(struct MHD_Connection *conn, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, n, "?");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    out, (socklen_t)n);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    out, (socklen_t)n);
}

/* May one more line about a client be logged this second? A flood is summed up. */
static int
log_room(struct srv *s)
{
	if ((double)(long long)s->now != s->log_sec) {
		s->log_sec = (double)(long long)s->now;
		s->log_n = 0;
		if (s->log_dropped)
			log_warn("%lu more refused requests or connection errors not logged",
			    s->log_dropped);
		s->log_dropped = 0;
	}
	if (++s->log_n > LOG_PER_SEC) {
		s->log_dropped++;
		return 0;
	}
	return 1;
}

/* A refused request, logged once; a flood is summed up, not logged line by line. */
static void
log_refusal(struct srv *s, struct MHD_Connection *conn, unsigned code, const char *fmt, ...)
{
	char addr[INET6_ADDRSTRLEN + 1], why[256];
	va_list ap;

	s->st->refused++;
	if (!log_room(s))
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	client_addr(conn, addr, sizeof(addr));
	log_warn("%s: %u: %s", addr, code, why);
}

/* The event_id for -v messages: hex digits in practice, anything in hostile hands. */
static void
printable_id(char *out, size_t outlen, const char *id, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < outlen; i++)
		out[i] = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '-' || id[i] == '_' ? id[i] : '?';
	out[i] = '\0';
}

/* --- answers --- */

static struct MHD_Response *
text_response(const char *s, const char *extra, const char *value)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(strlen(s), (void *)s, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (extra)
		MHD_add_response_header(r, extra, value);
	return r;
}

static enum MHD_Result
answer(struct srv *s, struct MHD_Connection *conn, unsigned code)
{
	struct MHD_Response *r;

	switch (code) {
	case 200:	r = s->r_ok; break;
	case 400:	r = s->r_400; break;
	case 403:	r = s->r_403; break;
	case 405:	r = s->r_405; break;
	case 413:	r = s->r_413; break;
	default:	r = s->r_503; code = 503; break;
	}
	return MHD_queue_response(conn, code, r);
}

/* --- output: non-blocking, so a stalled reader holds answers, not the server --- */

static int
ready(const struct srv *s, uint64_t seq)
{
	return s->have_ack ? s->acked >= seq : s->written >= seq;
}

static void
queue_line(struct srv *s, size_t len, const char *id, size_t idlen)
{
	if (s->e_n == s->e_cap) {
		size_t ncap = s->e_cap ? s->e_cap * 2 : 256, k;
		uint64_t *p = xrealloc(NULL, ncap * sizeof(*p));

		for (k = 0; k < s->e_n; k++)
			p[k] = s->ends[(s->e_head + k) & (s->e_cap - 1)];
		free(s->ends);
		s->ends = p;
		s->e_head = 0;
		s->e_cap = ncap;
	}
	s->out_bytes += len;
	s->ends[(s->e_head + s->e_n) & (s->e_cap - 1)] = s->out_bytes;
	s->e_n++;
	s->queued++;
	if (s->have_ack)
		pending_push(&s->pend, id, idlen);
}

static void
flush_out(struct srv *s)
{
	ssize_t w;

	while (s->ob_off < s->ob.len && !s->out_err) {
		w = write(STDOUT_FILENO, s->ob.p + s->ob_off, s->ob.len - s->ob_off);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				s->out_err = errno;
			break;
		}
		s->ob_off += (size_t)w;
		s->written_bytes += (uint64_t)w;
	}
	while (s->e_n && s->ends[s->e_head] <= s->written_bytes) {
		s->e_head = (s->e_head + 1) & (s->e_cap - 1);
		s->e_n--;
		s->written++;
	}
	if (s->ob_off == s->ob.len) {
		buf_reset(&s->ob);
		s->ob_off = 0;
	} else if (s->ob_off > (1u << 20) && s->ob_off > s->ob.len / 2) {
		memmove(s->ob.p, s->ob.p + s->ob_off, s->ob.len - s->ob_off);
		s->ob.len -= s->ob_off;
		s->ob_off = 0;
	}
}

/*
 * An ack line: the oldest copy of that event not acknowledged yet, and
 * every line before it, are done. Not a later copy: after a 503, VK's
 * resend is written again, and the ack of the first copy (late, as the
 * pipeline keeps order) must not answer for the lines written between.
 */
static void
on_ack(void *arg, const char *id, size_t n)
{
	struct srv *s = arg;
	uint64_t *v = idwin_find(&s->seen, id, n), last, seq;

	if (v == NULL)
		return;		/* not ours, or long forgotten: a later ack covers it */
	last = *v & ~STALE;	/* the newest copy */
	if (last > s->written)
		last = s->written;
	if (last <= s->acked)
		return;		/* a copy already covered */
	if ((seq = pending_find(&s->pend, id, n, last)) == 0)
		return;
	s->acked = seq;
	pending_drop(&s->pend, seq);
}

/* --- held requests --- */

static enum MHD_Result
hold(struct srv *s, struct req *r, uint64_t seq)
{
	if (s->h_n == s->h_cap) {
		s->h_cap = s->h_cap ? s->h_cap * 2 : 64;
		s->held = xrealloc(s->held, s->h_cap * sizeof(*s->held));
	}
	s->held[s->h_n++] = r;
	r->state = R_HELD;
	r->seq = seq;
	r->deadline = s->now + (double)s->c->hold_ms / 1000.0;
	if (s->stopping && r->deadline > s->now + DRAIN_S)
		r->deadline = s->now + DRAIN_S;
	MHD_suspend_connection(r->conn);
	return MHD_YES;
}

/*
 * Answer the held requests whose line is safe (200) or whose time is up
 * (503); with force, every one not safe yet.
 */
static int
release(struct srv *s, int force)
{
	struct req *r;
	uint64_t *v;
	size_t i = 0;
	int resumed = 0;

	while (i < s->h_n) {
		r = s->held[i];
		if (ready(s, r->seq)) {
			r->status = 200;
		} else if (force || s->now >= r->deadline || s->out_err) {
			r->status = 503;
			s->st->held_out++;
			/* Written and never acknowledged: downstream may have lost it,
			 * so VK's resend is written again (vk-route --dedup drops it if
			 * it was not lost after all). */
			if (r->rawid && r->seq <= s->written &&
			    (v = idwin_find(&s->seen, r->rawid, r->rawlen)) != NULL &&
			    *v == r->seq)
				*v |= STALE;
			log_info("%s: not %s within %ld ms: 503", r->id[0] ? r->id : "(no event_id)",
			    r->seq <= s->written ? "acknowledged" : "written", s->c->hold_ms);
		} else {
			i++;
			continue;
		}
		s->held[i] = s->held[--s->h_n];
		r->state = R_ANSWER;
		r->resumed = 1;
		s->answering++;
		resumed++;
		MHD_resume_connection(r->conn);
	}
	return resumed;
}

/* --- requests --- */

static enum MHD_Result
event(struct srv *s, struct req *r)
{
	const struct server_conf *c = s->c;
	struct ev_result res;
	size_t before = s->ob.len;
	const char *rc;
	uint64_t *v, seq;
	int stale = 0;

	ev_read(r->body.p ? r->body.p : "", r->body.len, &c->ev, &res, &s->ob, &s->id,
	    &s->scratch);
	/* The body held the secret: gone before anything else happens. */
	if (r->body.p)
		memset(r->body.p, 0, r->body.cap);
	s->body_bytes -= r->body.len;
	buf_free(&r->body);

	switch (res.kind) {
	case EV_BAD:
		log_refusal(s, r->conn, 400, "%s", res.why);
		return answer(s, r->conn, 400);
	case EV_NOSECRET:
		log_refusal(s, r->conn, 403, "no secret");
		return answer(s, r->conn, 403);
	case EV_BADSECRET:
		log_refusal(s, r->conn, 403, "wrong secret");
		return answer(s, r->conn, 403);
	case EV_GROUP:
		if (res.group == -1)
			log_refusal(s, r->conn, 403, "no group_id");
		else
			log_refusal(s, r->conn, 403, "group_id %lld is not ours",
			    (long long)res.group);
		return answer(s, r->conn, 403);
	case EV_CONFIRM:
		if (s->r_confirm == NULL) {
			log_refusal(s, r->conn, 403, "a confirmation request, and no code to "
			    "answer it: set VK_CALLBACK_CONFIRM or use --confirm CODE");
			return answer(s, r->conn, 403);
		}
		s->st->confirms++;
		log_info("confirmation request of group %lld answered", (long long)res.group);
		return MHD_queue_response(r->conn, 200, s->r_confirm);
	case EV_LINE:
		break;
	}

	printable_id(r->id, sizeof(r->id), s->id.p, s->id.len);
	if (s->have_ack && s->id.len && (r->rawid = malloc(s->id.len)) != NULL) {
		memcpy(r->rawid, s->id.p, s->id.len);
		r->rawlen = s->id.len;
	}
	if (log_verbose && (rc = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "X-Retry-Counter")) != NULL) {
		char n[16];

		printable_id(n, sizeof(n), rc, strlen(rc));
		log_info("%s: X-Retry-Counter %s", r->id[0] ? r->id : "(no event_id)", n);
	}
	if (s->id.len && (v = idwin_find(&s->seen, s->id.p, s->id.len)) != NULL) {
		/* A copy not acknowledged in time is written again, unless its
		 * ack came after all. */
		if (!(*v & STALE) || (*v & ~STALE) <= s->acked) {
			*v &= ~STALE;
			s->ob.len = before;	/* a repeat: answered as its first copy */
			s->st->dups++;
			if (ready(s, *v))
				return answer(s, r->conn, 200);
			return hold(s, r, *v);
		}
		stale = 1;
	}
	if (s->ob.len - s->ob_off > OUT_BACKLOG || s->out_err ||
	    (s->have_ack && pending_bytes(&s->pend) > ACK_BACKLOG)) {
		/* stdout, or the pipeline's acks, not keeping up: VK will resend */
		s->ob.len = before;
		s->st->held_out++;
		return answer(s, r->conn, 503);
	}
	queue_line(s, s->ob.len - before, s->id.p, s->id.len);
	seq = s->queued;
	s->st->lines++;
	if (stale)
		*v = seq;
	else if (s->id.len && idwin_add(&s->seen, s->id.p, s->id.len, seq, s->now) == -1)
		log_warn("out of memory: event %s cannot be deduplicated", r->id);
	/* Without --ack the line is safe once written, which is at the end of
	 * this turn unless stdout was already behind: the lines of all the
	 * requests a turn reads go in one write (one wakeup of the reader, not
	 * one a line), and the handler, called again on the next MHD_run(),
	 * answers then, with no suspend and resume. */
	if (!s->have_ack && s->ob_flushed) {
		r->state = R_FLUSH;
		r->turn = s->turn + 1;
		r->seq = seq;
		s->flushing++;
		s->fresh++;
		return MHD_YES;
	}
	return hold(s, r, seq);
}

static int
too_long(const char *cl, size_t max)
{
	unsigned long long v;
	char *end;

	if (cl == NULL || *cl < '0' || *cl > '9')
		return 0;	/* MHD refuses a malformed length itself */
	errno = 0;
	v = strtoull(cl, &end, 10);
	return errno == ERANGE || v > max;
}

static struct rconn *
rconn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* The whole request is in: no deadline for it any more (a held one has its own). */
static void
reading_done(struct srv *s, struct MHD_Connection *conn)
{
	struct rconn *rc = rconn_of(conn);

	if (rc != NULL)
		conns_read(&s->cx, rc);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *data, size_t *size, void **ctx)
{
	struct srv *s = cls;
	struct req *r = *ctx;

	(void)url;
	(void)version;
	s->served++;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;	/* closes the connection: VK retries */
		r->s = s;
		r->conn = conn;
		*ctx = r;
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
			log_refusal(s, conn, 405, "method %s", strcmp(method, "GET") == 0 ?
			    "GET" : strcmp(method, "HEAD") == 0 ? "HEAD" : "not POST");
			return answer(s, conn, 405);
		}
		if (too_long(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH), s->c->max_body)) {
			log_refusal(s, conn, 413, "a body over %zu bytes", s->c->max_body);
			return answer(s, conn, 413);
		}
		return MHD_YES;
	}
	if (r->state == R_ANSWER) {
		r->state = R_READ;
		return answer(s, conn, r->status);
	}
	if (r->state == R_FLUSH) {
		if (s->turn < r->turn)
			return MHD_YES;		/* asked again before the flush */
		s->flushing--;
		r->state = R_READ;
		if (ready(s, r->seq))
			return answer(s, conn, 200);
		return hold(s, r, r->seq);	/* stdout fell behind */
	}
	if (*size == 0)
		reading_done(s, conn);
	if (*size) {
		if (r->too_big || r->busy) {
			;	/* read and dropped: the answer comes at the end */
		} else if (r->body.len + *size > s->c->max_body) {
			r->too_big = 1;
		} else if (s->body_bytes + *size > BODY_BUDGET) {
			r->busy = 1;
		} else {
			buf_put(&r->body, data, *size);
			s->body_bytes += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	if (r->too_big || r->busy) {
		s->body_bytes -= r->body.len;
		if (r->body.p)
			memset(r->body.p, 0, r->body.cap);
		buf_free(&r->body);
		if (r->busy) {
			s->st->held_out++;
			return answer(s, conn, 503);
		}
		log_refusal(s, conn, 413, "a body over %zu bytes", s->c->max_body);
		return answer(s, conn, 413);
	}
	return event(s, r);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_RequestTerminationCode toe)
{
	struct srv *s = cls;
	struct req *r = *ctx;

	struct rconn *rc = rconn_of(conn);

	(void)toe;
	if (rc != NULL)
		conns_answered(&s->cx, rc, s->now);
	if (r == NULL)
		return;
	if (r->resumed)
		s->answering--;
	if (r->state == R_FLUSH)
		s->flushing--;
	free(r->rawid);
	s->body_bytes -= r->body.len;
	if (r->body.p)
		memset(r->body.p, 0, r->body.cap);
	buf_free(&r->body);
	free(r);
	*ctx = NULL;
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	struct srv *s = cls;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci != NULL)
			*socket_ctx = conns_open(&s->cx, ci->connect_fd, s->now);
	} else if (*socket_ctx != NULL) {
		conns_close(&s->cx, *socket_ctx);
		*socket_ctx = NULL;
	}
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	if (!log_verbose || !log_room(cls))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_info("libmicrohttpd: %s", msg);
}

/* --- the loop --- */

/*
 * Appending to a file whose last line a crash tore: begin with a newline,
 * so the torn line stays one bad line and the first of ours is whole.
 */
static void
mend_torn_line(void)
{
	struct stat st;
	char c;
	int fd;

	if (fstat(STDOUT_FILENO, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return;
	if ((fd = open("/proc/self/fd/1", O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if (pread(fd, &c, 1, st.st_size - 1) == 1 && c != '\n' &&
	    write(STDOUT_FILENO, "\n", 1) == 1)
		log_warn("stdout ended in a torn line: starting on a line of its own");
	close(fd);
}

static int
start(struct srv *s, char *err, size_t errlen)
{
	const struct server_conf *c = s->c;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[3] = {
		{ MHD_OPTION_END, 0, NULL }, { MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL } };

	if (c->tls_cert) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(err, errlen, "this libmicrohttpd has no TLS: use a reverse "
			    "proxy (see vk-callback(1))");
			return -1;
		}
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
		    (void *)c->tls_cert };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
		    (void *)c->tls_key };
	}
	s->r_ok = text_response("ok", NULL, NULL);
	s->r_400 = text_response("bad request\n", NULL, NULL);
	s->r_403 = text_response("forbidden\n", NULL, NULL);
	s->r_405 = text_response("method not allowed\n", MHD_HTTP_HEADER_ALLOW, "POST");
	s->r_413 = text_response("body too large\n", NULL, NULL);
	s->r_503 = text_response("busy, retry later\n", MHD_HTTP_HEADER_RETRY_AFTER,
	    RETRY_AFTER);
	if (c->confirm)
		s->r_confirm = text_response(c->confirm, NULL, NULL);
	if (!s->r_ok || !s->r_400 || !s->r_403 || !s->r_405 || !s->r_413 || !s->r_503 ||
	    (c->confirm && !s->r_confirm)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
	    MHD_OPTION_LISTEN_SOCKET, c->listen_fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)(s->cx.limit + CONN_ROOM),
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_ADDR,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
	    MHD_OPTION_ARRAY, tls,
	    MHD_OPTION_END);
	if (s->d == NULL) {
		snprintf(err, errlen, "libmicrohttpd would not start%s", c->tls_cert ?
		    " (is the TLS key the one of the certificate, both PEM?)" : "");
		return -1;
	}
	return 0;
}

static void
stop_daemon(struct srv *s)
{
	struct MHD_Response **rs[] = { &s->r_ok, &s->r_400, &s->r_403, &s->r_405,
	    &s->r_413, &s->r_503, &s->r_confirm };
	size_t i;

	if (s->d)
		MHD_stop_daemon(s->d);
	for (i = 0; i < sizeof(rs) / sizeof(rs[0]); i++)
		if (*rs[i])
			MHD_destroy_response(*rs[i]);
}

/*
 * Descriptors for limit connections and their room, the soft limit raised
 * toward the hard one if need be (systemd's soft limit is 1024): else fewer
 * connections, so that accept(2) never fails for want of one.
 */
static size_t
fd_room(size_t limit)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)(limit + CONN_ROOM + 64);

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return limit;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
		    want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		limit = rl.rlim_cur > CONN_ROOM + 64 + 16 ?
		    (size_t)rl.rlim_cur - CONN_ROOM - 64 : 16;
	return limit;
}

/* How long the wait may sleep: until MHD's next timeout or a held request's deadline. */
static int
poll_timeout(struct srv *s)
{
	MHD_UNSIGNED_LONG_LONG mt;
	double t = 60.0, dl;
	size_t i;

	if (MHD_get_timeout(s->d, &mt) == MHD_YES && (double)mt / 1000.0 < t)
		t = (double)mt / 1000.0;
	for (i = 0; i < s->h_n; i++)
		if ((dl = s->held[i]->deadline - s->now) < t)
			t = dl;
	if (conns_next(&s->cx) > 0 && (dl = conns_next(&s->cx) - s->now) < t)
		t = dl;
	if (s->have_ack && (!s->ack.fifo || s->ack.fd == -1) && t > 0.05)
		t = 0.05;	/* a regular file cannot be waited on, nor a
				 * FIFO that could not be opened again: retried */
	if (s->stopping && t > 0.05)
		t = 0.05;
	if (s->flushing)
		t = 0;		/* their answers are due */
	if (s->alive_fd != -1 && t > ALIVE_S)
		t = ALIVE_S;
	return t <= 0 ? 0 : (int)(t * 1000.0) + 1;
}

void
server_stats_log(const struct server_stats *st)
{
	log_note("stats: callback lines=%llu repeats=%llu unsafe_503=%llu refused=%llu "
	    "confirmations=%llu held=%zu cut=%llu", st->lines, st->dups, st->held_out,
	    st->refused, st->confirms, st->held, st->cut);
}

int
server_run(const struct server_conf *c, volatile sig_atomic_t *stop,
    volatile sig_atomic_t *want_stats, struct server_stats *st, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *di;
	struct srv s;
	loop l = LOOP_INIT;
	size_t ack_at = 0;
	double stop_at = 0;
	int rc = SERVER_STOPPED, fl, n, lfd, busy = 0, k;

	memset(&s, 0, sizeof(s));
	s.ob_flushed = 1;
	s.c = c;
	s.st = st;
	s.now = mono_now();
	pending_init(&s.pend);
	conns_init(&s.cx, fd_room(CONN_LIMIT), REQUEST_S);
	if (idwin_init(&s.seen, c->dedup_ids, c->dedup_secs) == -1) {
		snprintf(err, errlen, "out of memory for %zu event_ids", c->dedup_ids);
		return SERVER_SETUP;
	}
	if (c->ack_path) {
		if (ack_in_open(&s.ack, c->ack_path, err, errlen) == -1) {
			idwin_free(&s.seen);
			return SERVER_SETUP;
		}
		s.have_ack = 1;
	}
	if (start(&s, err, errlen) == -1 ||
	    (di = MHD_get_daemon_info(s.d, MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		rc = SERVER_SETUP;
		goto out;
	}
	s.alive_fd = -1;
	if (c->alive_path && (s.alive_fd = open(c->alive_path,
	    O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) == -1) {
		snprintf(err, errlen, "--alive %s: %s", c->alive_path, strerror(errno));
		rc = SERVER_SETUP;
		goto out;
	}
	mend_torn_line();
	/* A reader that stops reading must hold answers back, not the loop. */
	if ((fl = fcntl(STDOUT_FILENO, F_GETFL)) != -1)
		fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK);
	/* SIGTERM, SIGUSR1 and the metrics' SIGALRM land only in the wait:
	 * never between the look at *stop and the sleep, which would then
	 * last the whole timeout. */
	loop_init(&l, TOOL_SIG_STOP | TOOL_SIG_STATS | TOOL_SIG_ALRM);

	for (;;) {
		s.now = mono_now();
		if (*stop && !s.stopping) {
			size_t i;

			s.stopping = 1;
			stop_at = s.now;
			if ((lfd = MHD_quiesce_daemon(s.d)) != -1)
				close(lfd);	/* no new connections */
			for (i = 0; i < s.h_n; i++)
				if (s.held[i]->deadline > s.now + DRAIN_S)
					s.held[i]->deadline = s.now + DRAIN_S;
		}
		if (s.stopping && ((s.h_n == 0 && s.answering == 0 && s.flushing == 0 &&
		    (s.ob_off == s.ob.len || s.out_err)) || s.now - stop_at > DRAIN_S + 1))
			break;
		if (s.out_err && !s.stopping) {
			*stop = 1;
			continue;
		}
		/* While senders keep MHD busy, the next request is most likely
		 * there already: MHD_run() looks at once, without the wait before
		 * it (one syscall a turn less). At most BUSY_TURNS in a row, so
		 * that a signal, pending meanwhile, ends the wait soon after.
		 * Requests whose lines the last turn wrote are answered there. */
		if ((s.served || s.flushing) && busy < BUSY_TURNS) {
			busy++;
			n = 0;
		} else {
			busy = 0;
			loop_begin(&l);
			loop_add(&l, di->epoll_fd, POLLIN, NULL, &s);
			loop_add(&l, s.ob_off < s.ob.len && !s.out_err ? STDOUT_FILENO : -1,
			    POLLOUT, NULL, &s);
			ack_at = loop_add(&l, s.have_ack && s.ack.fifo ? s.ack.fd : -1,
			    POLLIN, NULL, &s);
			loop_timeout(&l, poll_timeout(&s));
			n = loop_wait(&l);
			if (n == -1 && errno != EINTR) {
				snprintf(err, errlen, "poll: %s", strerror(errno));
				rc = SERVER_SETUP;
				break;
			}
		}
		s.served = 0;
		s.now = mono_now();
		s.fresh = 0;
		MHD_run(s.d);
		/* While requests come, more are likely on their way (each sender
		 * waits for its ok): looked for, so that one write takes them all. */
		for (k = 0; k < COLLECT && s.fresh; k++) {
			s.fresh = 0;
			MHD_run(s.d);
		}
		if (conns_expire(&s.cx, s.now))
			MHD_run(s.d);	/* closed now, not when another socket wakes us */
		st->cut = s.cx.cut;
		flush_out(&s);
		s.turn++;
		s.ob_flushed = s.ob_off == s.ob.len;
		if (s.flushing)
			MHD_run(s.d);	/* their oks, now that the lines are out */
		if (s.have_ack && (!s.ack.fifo || s.ack.fd == -1 ||
		    (n > 0 && loop_revents(&l, ack_at))))
			ack_in_read(&s.ack, n > 0 && (loop_revents(&l, ack_at) & POLLHUP),
			    on_ack, &s);
		/* Resumed connections are served by the next MHD_run(): now, not
		 * when some other socket wakes the loop. */
		if (release(&s, 0))
			MHD_run(s.d);
		st->held = s.h_n;
		if (s.alive_fd != -1 && s.now - s.alive_at >= ALIVE_S) {
			futimens(s.alive_fd, NULL);
			s.alive_at = s.now;
		}
		if (*want_stats) {
			int w = *want_stats;

			*want_stats = 0;
			if (w & ~METRICS_DUE)
				server_stats_log(st);
			if ((w & METRICS_DUE) && c->metrics)
				c->metrics(st);
		}
	}
	if (s.out_err == EPIPE)
		rc = SERVER_EPIPE;
	else if (s.out_err) {
		snprintf(err, errlen, "cannot write to stdout: %s", strerror(s.out_err));
		rc = SERVER_WRITE;
	}
	/* Whoever is still held gets 503 before the daemon goes: VK resends. */
	{
		size_t i;

		release(&s, 1);
		st->held = 0;
		for (i = 0; i < 20 && s.answering; i++) {
			MHD_run(s.d);
			poll(NULL, 0, 5);
		}
	}
	if ((fl = fcntl(STDOUT_FILENO, F_GETFL)) != -1)
		fcntl(STDOUT_FILENO, F_SETFL, fl & ~O_NONBLOCK);
out:
	loop_free(&l);
	if (s.alive_fd > 0)
		close(s.alive_fd);
	stop_daemon(&s);
	if (s.have_ack)
		ack_in_close(&s.ack);
	idwin_free(&s.seen);
	pending_free(&s.pend);
	buf_free(&s.id);
	buf_free(&s.scratch);
	buf_free(&s.ob);
	free(s.ends);
	free(s.held);
	return rc;
}
