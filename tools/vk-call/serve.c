/* serve.c - clients on stdin/stdout or on a Unix socket, one poll loop. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "line.h"
#include "log.h"
#include "loop.h"
#include "mono.h"
#include "ratelimit.h"
#include "req.h"
#include "sched.h"
#include "serve.h"
#include "tool.h"

#define FD_RESERVE	32		/* descriptors kept for VK's connections and ours */
#define MIN_CLIENTS	4		/* clients at once, however low the limit */
#define MAX_CLIENTS	1024		/* beyond, a new client takes an idle one's place */
#define ACCEPT_BURST	256		/* connections accepted per turn */
#define ACCEPT_PAUSE	0.25		/* seconds: full and no one idle to give way */
#define CLIENT_QUEUE	1000		/* a client's requests in the queue at most */
#define CLIENT_OUT	(1u << 20)	/* bytes of results a client has not read */
#define MAX_LINE	(1u << 20)	/* longest request line */
#define CLIENT_FDS	16		/* descriptors a client sent ahead of their lines */

typedef struct client {
	struct client	*next;
	int		 fd, ofd;	/* read and write ends (the same for a socket) */
	linerd		 rd;
	buf		 ob;
	size_t		 ooff;
	int		 eof, dead;
	unsigned long	 pending;
	double		 partial_since;	/* waiting for the rest of a line since, or 0 */
	double		 last_io;	/* when it last sent or was sent something */
	int		 fds[CLIENT_FDS];	/* files sent for uploads, in order */
	int		 nfds;
} client;

static client *clients;
static int nclients, max_clients;
static long line_timeout;	/* seconds a started line may take; 0: no limit */
static double accept_again;	/* out of descriptors, no one to give way: until */
static metrics *mx;	/* --metrics, or NULL */
static unsigned long long nresults, nerrors, nlines, nbad, naccepted;
static int io_failed;
static json_doc doc;
static buf idbuf;
static sched *sch;	/* the one scheduler every client shares */
static int upload_dir = -1;	/* stdin mode's --upload-dir, or -1 */
static const char *upload_dir_path;	/* as given, for absolute "file"s */
static long long max_upload;	/* --max-upload, 0: VK's own limits */

int
serve_signals(void)
{
	/* SIGUSR1 even where it came ignored (vkpipe); a second stop: at once.
	 * SIGALRM (--metrics) is metrics.c's, setting METRICS_DUE in tool_stats. */
	tool_signals(TOOL_SIG_STOP | TOOL_SIG_STATS | TOOL_SIG_HARD);
	return 0;
}

/* -- clients -------------------------------------------------------- */
/*
 * A socket client's bytes, and the descriptors vk-call --connect sends
 * with an upload's line (SCM_RIGHTS), kept in order for those lines.
 */
static ssize_t
client_recv(void *arg, int fd, void *p, size_t n)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = { p, n };
	struct msghdr mh;
	struct cmsghdr *cm;
	client *c = arg;
	ssize_t got;
	size_t k, nfd;
	int f;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	got = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (got == -1)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < nfd; k++) {
			memcpy(&f, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (c->nfds < CLIENT_FDS)
				c->fds[c->nfds++] = f;
			else
				close(f);	/* more than its lines can use */
		}
	}
	return got;
}

void
serve_uploads(const char *dir, int dirfd, long long max)
{
	upload_dir_path = dir;
	upload_dir = dirfd;
	max_upload = max;
}

/*
 * The bytes of r's upload: "data" came with it; a "file" is the
 * descriptor its socket client sent along, or in stdin mode the path
 * opened beneath --upload-dir. 0, or -1 with why filled.
 */
static int
upload_source(client *c, req *r, char *why, size_t whylen)
{
	upload *u = r->up;
	long long limit = upload_limit(u, max_upload);
	const char *path = u->file;
	size_t n;
	int fd;

	if (u->file == NULL) {
		if ((long long)u->size <= limit)
			return 0;
		snprintf(why, whylen, "upload.data: %zu bytes, over the limit of %lld "
		    "(--max-upload)", u->size, limit);
		return -1;
	}
	if (c->fd != STDIN_FILENO) {	/* never a client's path: its descriptor */
		if (c->nfds == 0) {
			snprintf(why, whylen, "upload.file: no descriptor came with the "
			    "line (send files through vk-call --connect)");
			return -1;
		}
		fd = c->fds[0];
		memmove(c->fds, c->fds + 1, (size_t)--c->nfds * sizeof(int));
		return upload_take_fd(u, fd, limit, why, whylen);
	}
	if (upload_dir == -1) {
		snprintf(why, whylen, "upload.file: vk-call reads files only beneath "
		    "--upload-dir (or send them through vk-call --connect)");
		return -1;
	}
	if (upload_dir_path && path[0] == '/') {	/* spelled from the root */
		n = strlen(upload_dir_path);
		if (strncmp(path, upload_dir_path, n) == 0 && path[n] == '/')
			path += n + 1;
	}
	if ((fd = upload_open_beneath(upload_dir, path, why, whylen)) == -1)
		return -1;
	return upload_take_fd(u, fd, limit, why, whylen);
}

static client *
client_new(int fd, int ofd)
{
	client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->ofd = ofd;
	c->last_io = mono_now();
	line_open(&c->rd, fd, MAX_LINE);
	c->rd.pollmode = 1;
	if (fd != STDIN_FILENO) {
		c->rd.readfn = client_recv;
		c->rd.read_arg = c;
	}
	c->next = clients;
	clients = c;
	nclients++;
	return c;
}

static void
client_free(client *c)
{
	client **pp;

	for (pp = &clients; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	nclients--;
	while (c->nfds > 0)
		close(c->fds[--c->nfds]);
	line_close(&c->rd);
	buf_free(&c->ob);
	if (c->fd > STDERR_FILENO)
		close(c->fd);
	free(c);
}

static void
client_flush(client *c)
{
	ssize_t w;

	while (!c->dead && c->ooff < c->ob.len) {
		w = write(c->ofd, c->ob.p + c->ooff, c->ob.len - c->ooff);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w == -1) {
			if (c->ofd == STDOUT_FILENO) {
				log_warn("cannot write results: %s", strerror(errno));
				io_failed = 1;
			} else {
				log_info("a client went away before its results: %s",
				    strerror(errno));
			}
			c->dead = 1;
			break;
		}
		c->ooff += (size_t)w;
		c->last_io = mono_now();
	}
	c->ooff = 0;
	buf_reset(&c->ob);
}

void
serve_stats(void)
{
	log_note("stats: input lines=%llu bad_lines=%llu results=%llu errors=%llu "
	    "clients=%llu connected=%d", nlines, nbad, nresults, nerrors, naccepted,
	    nclients);
	const struct sched_stats *st = sched_stats(sch);

	log_note("stats: api calls=%llu http=%llu execute=%llu retries=%llu "
	    "errors=%llu queued=%lu", st->calls, st->http, st->executes,
	    st->retries, st->errors, sched_pending(sch));
}

void
serve_metrics_to(metrics *m)
{
	mx = m;
}

void
serve_metrics(void)
{
	static unsigned long long seen;
	static time_t last;
	const struct sched_stats *st;

	if (mx == NULL || mx->path == NULL || sch == NULL)
		return;
	st = sched_stats(sch);
	if (nlines != seen) {	/* the clock read per write, not per line */
		seen = nlines;
		last = time(NULL);
	}
	metrics_counter(mx, "vkpipe_call_lines_total", "Request lines read.",
	    (double)nlines);
	metrics_counter(mx, "vkpipe_call_bad_lines_total",
	    "Lines that were not requests (answered with an error).",
	    (double)nbad);
	metrics_family(mx, "vkpipe_call_requests_total", "counter",
	    "API requests answered, by method and code (ok, net, refused, VK's error code).");
	mtally_values(mx, &st->by_method, "vkpipe_call_requests_total", "method", "code");
	metrics_counter(mx, "vkpipe_call_api_calls_total",
	    "API calls sent to VK (inside execute too).", (double)st->calls);
	metrics_counter(mx, "vkpipe_call_http_requests_total",
	    "HTTP requests made to VK.", (double)st->http);
	metrics_counter(mx, "vkpipe_call_executes_total",
	    "execute requests batching calls.", (double)st->executes);
	metrics_counter(mx, "vkpipe_call_retries_total", "Calls tried again.",
	    (double)st->retries);
	metrics_gauge(mx, "vkpipe_call_queued_requests",
	    "Requests waiting for the rate limit or VK.",
	    (double)sched_pending(sch));
	metrics_counter(mx, "vkpipe_call_clients_total", "Clients accepted.",
	    (double)naccepted);
	metrics_gauge(mx, "vkpipe_call_clients", "Clients connected.",
	    (double)nclients);
	metrics_gauge(mx, "vkpipe_call_last_request_timestamp_seconds",
	    "When the last request line came, to within the interval (0: never).",
	    (double)last);
	metrics_flush(mx);
}

void
serve_result(void *arg, req *r, const buf *line, int error)
{
	client *c = r->cl;

	(void)arg;	/* the client is r's own */
	nresults++;
	if (error)
		nerrors++;
	c->pending--;
	if (!c->dead)
		buf_put(&c->ob, line->p, line->len);
}

static void
line_error(client *c, unsigned long lineno, const char *why)
{
	char text[300];
	req r;

	nbad++;
	snprintf(text, sizeof(text), "line %lu: %s", lineno, why);
	memset(&r, 0, sizeof(r));
	r.cl = c;
	c->pending++;
	{
		buf line = BUF_INIT;

		res_error(&line, idbuf.len ? idbuf.p : "null", ERR_LINE, text, NULL, -1, NULL);
		serve_result(NULL, &r, &line, 1);
		buf_free(&line);
	}
	log_info("%s", text);
}

/* Read what c has sent, as far as its share of the queue allows. */
static void
client_read(client *c)
{
	char why[256];
	const char *p;
	size_t n;
	req *r;
	int st;

	while (!c->eof && c->pending < CLIENT_QUEUE && c->ob.len < CLIENT_OUT) {
		st = line_next(&c->rd, &p, &n);
		if (st == LINE_AGAIN)
			return;
		if (st == LINE_EOF) {
			c->eof = 1;
			return;
		}
		if (st == LINE_ERR) {
			if (c->fd == STDIN_FILENO) {
				log_warn("cannot read requests: %s", strerror(errno));
				io_failed = 1;
			}
			c->eof = 1;
			return;
		}
		nlines++;
		c->partial_since = 0;	/* a whole line came: the next one's clock */
		c->last_io = mono_now();
		buf_reset(&idbuf);
		if (st == LINE_TOOLONG) {
			snprintf(why, sizeof(why), "longer than %u bytes", MAX_LINE);
			line_error(c, c->rd.lineno, why);
			continue;
		}
		if (req_blank(p, n))
			continue;
		if ((r = req_parse(&doc, p, n, c->rd.lineno, &idbuf, why, sizeof(why))) == NULL) {
			line_error(c, c->rd.lineno, why);
			continue;
		}
		if (r->up && upload_source(c, r, why, sizeof(why)) == -1) {
			buf_cstr(&idbuf);
			req_free(r);
			line_error(c, c->rd.lineno, why);
			continue;
		}
		r->cl = c;
		c->pending++;
		if (sched_fatal(sch)) {
			/* Nothing goes out any more: say so at once. */
			buf line = BUF_INIT;

			res_error(&line, r->id, 5, "VK refused the token (error 5)", NULL, -1, NULL);
			serve_result(NULL, r, &line, 1);
			buf_free(&line);
			req_free(r);
			continue;
		}
		sched_add(sch, r);
	}
}

static int
client_done(const client *c)
{
	return (c->eof || tool_stop) && c->pending == 0 && (c->dead || c->ob.len == 0);
}

static int
wants_input(const client *c)
{
	return !c->eof && !tool_stop && c->pending < CLIENT_QUEUE && c->ob.len < CLIENT_OUT;
}

/* Bytes of an unfinished line are buffered (linerd keeps them in
 * buf[beg..end), or is skipping the rest of one too long). */
static int
has_partial(const client *c)
{
	return c->rd.end > c->rd.beg || c->rd.toolong;
}

/*
 * A line must be whole within line_timeout of the moment it was seen
 * begun while its client was being read: a client trickling bytes cannot
 * hold its connection (and a descriptor) for ever. Returns the next
 * deadline, or 0 for none.
 */
static double
line_deadlines(double now)
{
	double next = 0, due;
	char why[128];
	client *c;

	for (c = clients; c; c = c->next) {
		if (line_timeout == 0 || !wants_input(c) || !has_partial(c)) {
			c->partial_since = 0;
			continue;
		}
		if (c->partial_since == 0)
			c->partial_since = now;
		due = c->partial_since + (double)line_timeout;
		if (now < due) {
			if (next == 0 || due < next)
				next = due;
			continue;
		}
		buf_reset(&idbuf);
		snprintf(why, sizeof(why), "incomplete after %ld s (--line-timeout)",
		    line_timeout);
		line_error(c, c->rd.lineno + 1, why);
		c->eof = 1;	/* closed once its results are written */
		c->partial_since = 0;
	}
	return next;
}

/*
 * Out of room for one more client: the one that can best give way, a
 * client stalled inside a line, else one idle the longest; never one
 * with requests or results under way. NULL if there is none.
 */
static client *
victim(void)
{
	client *c, *best = NULL;
	int tier, best_tier = 0;
	double since, best_since = 0;

	for (c = clients; c; c = c->next) {
		if (c->fd == STDIN_FILENO || c->pending > 0 || c->ob.len > 0)
			continue;
		tier = has_partial(c) ? 2 : 1;
		since = tier == 2 && c->partial_since > 0 ? c->partial_since : c->last_io;
		if (tier > best_tier || (tier == best_tier && since < best_since)) {
			best = c;
			best_tier = tier;
			best_since = since;
		}
	}
	return best;
}

static void
evict(client *c)
{
	char text[200];
	buf line = BUF_INIT;
	ssize_t w;

	snprintf(text, sizeof(text), "line %lu: closed: %d clients at once, and "
	    "this one %s", c->rd.lineno + 1, nclients, has_partial(c) ?
	    "held an unfinished line" : "was idle the longest");
	res_error(&line, "null", ERR_LINE, text, NULL, -1, NULL);
	w = write(c->ofd, line.p, line.len);	/* a courtesy: it may not fit */
	(void)w;
	buf_free(&line);
	log_info("a client: %s", text);
	client_free(c);
}

/* Take new connections, making room where it must be made. */
static void
accept_clients(int lfd, double now)
{
	static int warned;
	client *v;
	int fd, k;

	for (k = 0; k < ACCEPT_BURST; k++) {
		v = NULL;
		if (nclients >= max_clients && (v = victim()) == NULL) {
			accept_again = now + ACCEPT_PAUSE;	/* the backlog holds them */
			return;
		}
		fd = accept(lfd, NULL, NULL);
		if (fd == -1 && (errno == EMFILE || errno == ENFILE)) {
			if (!warned++)
				log_warn("out of descriptors at %d clients (ulimit -n): "
				    "idle ones give way to new ones", nclients);
			if ((v = victim()) != NULL) {
				evict(v);
				continue;
			}
			accept_again = now + ACCEPT_PAUSE;
			return;
		}
		if (fd == -1)
			return;
		fcntl(fd, F_SETFL, O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (v != NULL)
			evict(v);
		if (client_new(fd, fd) == NULL)
			close(fd);
		else
			naccepted++;
	}
}

/* -- the loop ------------------------------------------------------- */
static loop lp = LOOP_INIT;	/* the signals are open only in its wait */

/* The listening socket is readable: accepted after the round, since making
 * room may free clients the round still names. */
static void
on_listen(void *arg, int fd, short rev)
{
	(void)fd;
	*(int *)arg |= (rev & POLLIN) != 0;
}

/* A client's entry polled for POLLIN (and maybe POLLOUT). */
static void
on_client_in(void *arg, int fd, short rev)
{
	client *c = arg;

	(void)fd;
	if (rev & (POLLIN | POLLHUP | POLLERR)) {
		c->rd.readable = 1;
		client_read(c);
	}
	if (rev & (POLLOUT | POLLERR | POLLHUP))
		client_flush(c);
}

/* A client's entry polled for POLLOUT only. */
static void
on_client_out(void *arg, int fd, short rev)
{
	(void)fd;
	if (rev & (POLLOUT | POLLERR | POLLHUP))
		client_flush(arg);
}

static void
drain_calls(vkasync *m)
{
	vkapi_err e;
	vka_call *c;
	int resp, st;

	while ((c = vka_done(m, &doc, &resp, &st, &e)) != NULL) {
		sched_done(sch, c, &doc, resp, st, &e);
		vka_release(m, c);
	}
}

/*
 * One turn: start what may go, write what is ready, wait for input,
 * output or a transfer, then read. lfd is the listening socket or -1.
 */
static void
turn(vkasync *m, int lfd, int stdio)
{
	client *c, *nx;
	long wake;
	double now, due;
	int incoming = 0;

	if (!lp.blocked)
		loop_init(&lp, TOOL_SIG_STOP | TOOL_SIG_STATS | TOOL_SIG_ALRM);
	sched_set_eof(sch, stdio && clients && clients->eof);
	sched_run(sch, mono_now());
	for (c = clients; c; c = nx) {
		nx = c->next;
		client_flush(c);
		if (!stdio && client_done(c))
			client_free(c);
	}
	if (stdio && client_done(clients) && sched_idle(sch))
		return;		/* all answered: no need to wait for anything */
	now = mono_now();
	due = line_deadlines(now);
	loop_begin(&lp);
	if (lfd != -1 && !tool_stop && now >= accept_again)
		loop_add(&lp, lfd, POLLIN, on_listen, &incoming);
	else if (lfd != -1 && !tool_stop && (due == 0 || accept_again < due))
		due = accept_again;
	for (c = clients; c; c = c->next) {
		short ev = 0;

		if (wants_input(c))
			ev |= POLLIN;
		if (c->ob.len > 0 && !c->dead)
			ev |= POLLOUT;
		if (ev) {
			/* a socket is polled once for both; stdio apart */
			if ((ev & POLLIN) && c->fd != c->ofd) {
				loop_add(&lp, c->fd, POLLIN, on_client_in, c);
				ev &= (short)~POLLIN;
			}
			if (ev)
				loop_add(&lp, c->ofd, ev, ev & POLLIN ? on_client_in :
				    on_client_out, c);
		}
	}
	wake = sched_wake(sch, mono_now());
	loop_timeout(&lp, wake < 0 || wake > 1000 ? 1000 : wake);
	if (due > 0)
		loop_deadline(&lp, due, mono_now());
	vka_wait_on(m, &lp);
	if (loop_wait(&lp) > 0)
		loop_dispatch(&lp);
	vka_after(m);
	if (incoming)
		accept_clients(lfd, mono_now());
	drain_calls(m);
	if (tool_stats) {
		int w = tool_stats;

		tool_stats = 0;
		if (w & ~METRICS_DUE)
			serve_stats();
		if (w & METRICS_DUE)
			serve_metrics();
	}
	/* Lines already buffered need no POLLIN: a client held back by its
	 * share of the queue goes on as soon as results free room. */
	for (c = clients; c; c = c->next)
		if (!c->eof && !tool_stop)
			client_read(c);
}

int
serve_stdio(vkasync *m, sched *s)
{
	client *c;

	sch = s;
	json_init(&doc);
	if ((c = client_new(STDIN_FILENO, STDOUT_FILENO)) == NULL) {
		log_warn("out of memory");
		return EXIT_PARTIAL;
	}
	while (!(client_done(c) && sched_idle(sch))) {
		if (sched_fatal(sch) && sched_idle(sch) && c->ob.len == 0)
			break;
		turn(m, -1, 1);
	}
	client_flush(c);
	client_free(c);
	loop_free(&lp);
	json_free(&doc);
	buf_free(&idbuf);
	if (sched_fatal(sch))
		return EXIT_REMOTE;
	return io_failed || nerrors ? EXIT_PARTIAL : EXIT_OK;
}

/*
 * Can path be listened on: short enough, in a writable directory, nothing
 * there or a socket no one answers on (*stale)? 0, or -1 with a message.
 */
static int
listen_check(const char *path, struct sockaddr_un *sa, int *stale)
{
	struct stat st;
	const char *slash = strrchr(path, '/');
	char dir[sizeof(sa->sun_path)];
	int probe;

	*stale = 0;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		log_warn("--listen unix:%s: the path is too long for a socket "
		    "(%zu bytes at most)", path, sizeof(sa->sun_path) - 1);
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path));
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1,
	    slash ? path : ".");
	if (access(dir, W_OK | X_OK) == -1) {
		log_warn("--listen unix:%s: cannot create it in %s: %s", path, dir,
		    strerror(errno));
		return -1;
	}
	if (lstat(path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		log_warn("--listen unix:%s: a file that is not a socket is there", path);
		return -1;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe != -1 && connect(probe, (struct sockaddr *)sa, sizeof(*sa)) == 0) {
		close(probe);
		log_warn("--listen unix:%s: another process listens there", path);
		return -1;
	}
	if (probe != -1)
		close(probe);
	*stale = 1;	/* left behind by a vk-call that died */
	return 0;
}

int
serve_check(const char *path)
{
	struct sockaddr_un sa;
	int stale;

	return listen_check(path, &sa, &stale);
}

/* Bind path, mode 0660, unless a live vk-call listens there already. */
static int
listen_on(const char *path)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, stale;

	if (listen_check(path, &sa, &stale) == -1)
		return -1;
	if (stale)
		unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		umask(old);
		log_warn("--listen unix:%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	chmod(path, 0660);
	if (listen(fd, 128) == -1) {
		log_warn("--listen unix:%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

/*
 * As many clients as descriptors allow: the soft limit raised to the hard
 * one, less what VK's connections and the process need, up to MAX_CLIENTS.
 */
static void
size_clients(void)
{
	struct rlimit rl;

	max_clients = MAX_CLIENTS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < MAX_CLIENTS + FD_RESERVE)
		max_clients = rl.rlim_cur > MIN_CLIENTS + FD_RESERVE ?
		    (int)rl.rlim_cur - FD_RESERVE : MIN_CLIENTS;
}

int
serve_socket(vkasync *m, sched *s, const char *path, long line_timeout_s)
{
	struct stat mine, now;
	client *c;
	int lfd;

	sch = s;
	line_timeout = line_timeout_s;
	size_clients();
	if ((lfd = listen_on(path)) == -1)
		return EXIT_CONFIG;
	stat(path, &mine);
	json_init(&doc);
	log_info("listening on unix:%s", path);
	while (!(tool_stop && clients == NULL && sched_idle(sch))) {
		if (sched_fatal(sch) && sched_idle(sch))
			break;
		turn(m, lfd, 0);
	}
	/* Results still buffered (error 5 came): a second to take them. */
	for (c = clients; c; c = c->next) {
		struct timeval tv = { 1, 0 };

		fcntl(c->ofd, F_SETFL, fcntl(c->ofd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(c->ofd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		client_flush(c);
	}
	while (clients)
		client_free(clients);
	loop_free(&lp);
	close(lfd);
	/* Remove the socket unless another vk-call has taken the path. */
	if (stat(path, &now) == 0 && now.st_ino == mine.st_ino && now.st_dev == mine.st_dev)
		unlink(path);
	json_free(&doc);
	buf_free(&idbuf);
	return sched_fatal(sch) ? EXIT_REMOTE : EXIT_OK;
}
