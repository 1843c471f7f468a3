/*
 * dest.h - destinations: where vk-route delivers lines.
 *
 * A destination is one string ("stdout", "file:PATH", "exec:CMD ARGS…",
 * "tcp://…", "redis://…"). Each kind is one `struct dest_kind`: a prefix
 * and a table of functions, in a file of its own (dest_std.c, dest_file.c,
 * dest_exec.c, …), listed once in dest_kinds[] in registry.c. Adding a kind
 * is a new file and one line in that list.
 *
 * Behind this header: registry.c (instances found or made by their text,
 * labels, --max-open's least recently used), queue.c (the queue below),
 * dest.c (the driver: open, write, retry, report, shut down), stream.c
 * (a stream kind's bytes to its descriptor), spill.c (dead-letter files);
 * the tracker (track.h) keeps the counts, and knows no destination.
 *
 * Every destination instance owns a bounded queue of whole lines:
 *
 *     head            sent                 len
 *      |  in flight    |  not yet handed    |
 *
 * Bytes before `sent` were given to the destination; lines before `head`
 * have had their fate reported and their room is freed. Each line carries
 * a ticket (who it is for: the tracker's Event, the rule's tally).
 *
 * DELIVERY REPORTS: how a kind tells what became of each line
 * ------------------------------------------------------------
 * Like a message broker's delivery report (kcat's dr_msg_cb), every line
 * queued for a destination gets exactly one final fate, reported by the
 * code that knows it; the tracker (track.h) turns the reports into acks and
 * into every statistic (per destination and per rule). Nobody reads
 * counters from afar. The fates a kind reports:
 *
 *   DEST_DELIVERED  the destination took the line: written whole to a
 *                   file; READ by a handler (or, with exec:…#confirm,
 *                   confirmed by it); a Redis reply; an HTTP 2xx.
 *   DEST_REFUSED    refused for good, with the reason (an HTTP 4xx, a Redis
 *                   error reply, a file name the system will never open:
 *                   ENAMETOOLONG, EISDIR, EINVAL, ENOTDIR). Dead-lettered
 *                   to SPILL/….rejected.ndjson with --spill, else failed;
 *                   reported once; later lines flow.
 *   DEST_RETRY      not taken this time (a connection lost, ENOSPC, EACCES,
 *                   EMFILE, a handler that died or could not start): the
 *                   lines in flight go again, whole, after backoff. Not
 *                   final: say it with dest_retry(), any number of times.
 *
 * In-order kinds (files, pipes, sockets, Redis, HTTP: replies come in the
 * order lines were sent) call
 *
 *     dest_settle(d, k, DEST_DELIVERED, NULL);     the k oldest lines in flight
 *     dest_settle(d, 1, DEST_REFUSED, "HTTP status 404");
 *     dest_retry(d, now, "connection lost: %s", …);  everything in flight again
 *
 * which report and free the lines (queue arithmetic stays in dq_*()).
 * A kind that settles lines out of order (several workers, broker
 * confirms by tag) takes each line out with dq_pop() — bytes and ticket —
 * and later calls dest_report(d, &ticket, line, n, fate, why) once per
 * line; it counts them in its busy() until then. Stream kinds (a file
 * descriptor that takes bytes) only provide open(); the generic code
 * writes, reports delivery as bytes are taken, handles EAGAIN, errors and
 * reconnection. A stream kind whose reader takes bytes later than write()
 * (exec: a pipe) sets DEST_TAKEN_LATER and reports from its taken() hook.
 * Protocol kinds (HTTP, Redis) provide io() and events().
 *
 * What the generic code reports itself: DEST_SPILLED (a full queue or the
 * end of the run, with --spill: the line is in the dead-letter file, which
 * counts as finished), DEST_FAILED (not delivered for good and not kept:
 * stdout closed, a spill file that cannot be written; no ack line of its
 * own) and DEST_DROPPED (still undelivered at exit: neither its Event nor
 * any later one is acknowledged; the poller sends them again).
 */
#ifndef VKROUTE_DEST_H
#define VKROUTE_DEST_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#include "backoff.h"
#include "buf.h"
#include "mono.h"	/* mono_now(): the clock of every time here */
#include "track.h"	/* fates, tickets, tallies, counts */

struct dest;

/* The bounded queue of one destination. */
struct dq {
	buf	 b;
	size_t	 head, sent;
	size_t	 nlines;	/* lines in [head, len) */
	unsigned long long pushed;	/* lines ever queued */
	struct dest_ticket *tk;	/* a ring: the ticket of each line from head */
	size_t	 tkhead, tkcap;
};

/* Append one line (a newline is added) with its ticket. */
void	dq_push(struct dq *q, const char *line, size_t n, const struct dest_ticket *t);
/* The ticket of the k-th line from head (0: the oldest). */
static inline struct dest_ticket *
dq_ticket(struct dq *q, size_t k)
{
	return &q->tk[(q->tkhead + k) & (q->tkcap - 1)];
}
/* The oldest line (without its newline) and its length; NULL when empty. */
const char *dq_first(const struct dq *q, size_t *n);
/* How many whole lines the first nbytes after head hold. */
size_t	dq_whole(const struct dq *q, size_t nbytes);
/* Take the oldest line out (not sent yet): its bytes into out, its ticket. */
int	dq_pop(struct dq *q, buf *out, struct dest_ticket *t);
/* The bytes not handed over yet. */
static inline const char *
dq_unsent(const struct dq *q, size_t *n)
{
	*n = q->b.len - q->sent;
	return q->b.p + q->sent;
}
/* Bytes handed over and not settled (in flight). */
static inline size_t dq_inflight(const struct dq *q) { return q->sent - q->head; }
/* n more bytes were handed over. */
static inline void dq_sent(struct dq *q, size_t n) { q->sent += n; }
/* Free the first k lines, unreported: dest.c only (kinds use dest_settle). */
void	dq_ack(struct dq *q, size_t k);
/* Every whole line before `sent`: how many. */
size_t	dq_sent_lines(const struct dq *q);
/* The connection was lost: send the unconfirmed lines again. */
static inline void dq_rewind(struct dq *q) { q->sent = q->head; }
static inline int dq_busy(const struct dq *q) { return q->b.len > q->head; }

/* Flags of a kind. */
#define DEST_PATH_TEMPLATES	0x1	/* template values become file names */
#define DEST_EPIPE_FINAL	0x2	/* a closed reader is for good (stdout) */
#define DEST_SOCKET		0x4	/* stream: a readable socket is the peer closing */
#define DEST_TAKEN_LATER	0x8	/* stream: written is not taken; taken() reports */
#define DEST_URL_TEMPLATES	0x10	/* template values are URL path data: no dot segments */

struct dest_kind {
	const char *prefix;	/* "file:", or a whole name like "stdout" */
	unsigned flags;
	/*
	 * Check the text after the prefix when the rules are loaded (holes
	 * still in it). 0, or -1 with err and *col (0-based offset in arg).
	 */
	int	(*check)(const char *arg, char *err, size_t errlen, size_t *col);
	/* Does this destination use the tickets' event_ids (NULL: no)? */
	int	(*wants_ids)(const char *arg);
	/* Quote a template value into the destination text (NULL: as is). */
	void	(*quote)(buf *out, const char *s, size_t n);
	/* Set up an instance for arg (holes filled). 0, or -1 with err. */
	int	(*init)(struct dest *d, const char *arg, char *err, size_t errlen);
	/*
	 * A group (d->group: exec:…#workers=N) holds no line itself: the
	 * destination that takes this one (dest_pick). NULL: d itself.
	 */
	struct dest *(*pick)(struct dest *d, const char *line, size_t n);
	/*
	 * Make d->fd ready to take bytes. 0 ready; 1 not yet, call again at
	 * d->retry_at (d->fd still -1); -1 failed, d->err says why (retried
	 * with backoff); 2 never (a name the system refuses for good, see
	 * dest_errno_final()): every line waiting is refused with d->err. A socket connecting without blocking returns 1 with
	 * d->fd set: open() is called again, d->connecting set, once d->fd
	 * polls writable (or the connection timed out: -1 then).
	 */
	int	(*open)(struct dest *d);
	/* Close the connection (errors, reopen). NULL: close(d->fd). */
	void	(*close)(struct dest *d);
	/* SIGHUP: 1 to close and open again (log rotation), 0 to keep. */
	int	reopen;
	/* Protocol kinds only: poll interest and work. NULL: stream. */
	short	(*events)(struct dest *d);
	int	(*io)(struct dest *d, short revents);
	/*
	 * A child process exited (exec); NULL for others. Returns 1 if pid was
	 * d's, having closed d->fd and scheduled the restart (dest_fail).
	 */
	int	(*child)(struct dest *d, pid_t pid, int status, double now);
	/* Lines handed over but not yet taken (exec: unread pipe bytes). NULL: none. */
	int	(*busy)(struct dest *d);
	/*
	 * DEST_TAKEN_LATER: report (dest_settle) what the reader took since
	 * the last call; called whenever d is serviced while lines are in
	 * flight. Returns the ms after which to look again (-1: no need).
	 */
	int	(*taken)(struct dest *d, double now);
	/* d->aux_fd polled readable (exec:…#confirm: the handler's replies). */
	void	(*aux)(struct dest *d, double now);
	/* End of the run: no more lines will come; 1 while still busy. */
	int	(*finish)(struct dest *d);
	void	(*free)(struct dest *d);
};

struct dest {
	char	*name;		/* the full destination text, unique */
	char	*label;		/* as shown in messages: init() may mask a password;
				 * escaped, and cut when long */
	unsigned long long label_hash;	/* of the whole label: spill file names */
	const struct dest_kind *kind;
	void	*priv;		/* the kind's state */
	int	 fd;		/* -1 when closed */
	int	 blocking;	/* writes to fd may block (stderr, tty) */
	struct dq q;
	double	 retry_at;	/* monotonic seconds; 0 = now */
	backoff	 bo;		/* retries: 50 ms doubling to 30 s, with jitter */
	int	 failing;	/* an error was logged; log recovery once */
	int	 want_reopen;
	int	 dead;		/* gave up for good (stdout closed): drop */
	int	 wait_out;	/* the last write met EAGAIN: poll POLLOUT */
	int	 full;		/* the queue holds --queue lines */
	int	 connecting;	/* open() returned 1 with fd set: poll POLLOUT */
	int	 aux_fd;	/* polled readable for kind->aux(), or -1 */
	int	 look_ms;	/* taken(): look again after this (-1: no need) */
	int	 refused_why;	/* a refusal was logged */
	char	 err[256];
	struct track_counts cnt;	/* kept by the tracker from the reports */
	unsigned long retried;	/* lines sent again */
	/* spill (dead-letter) file, opened on first use */
	int	 spill_fd;
	char	*spill_path;
	/* lines the destination refused for good (HTTP 4xx), with why */
	int	 reject_fd;
	char	*reject_path;
	unsigned long rejected;
	/* a template destination: bounded by --max-open, least recently used first */
	int	 tmpl;
	int	 opened;	/* holds descriptors or a process (counted) */
	int	 evicted;	/* closing for good, freed by dest_service() */
	int	 group;		/* holds no line: kind->pick() hands each on */
	int	 wait_room;	/* waits for a slot under --max-open */
	struct dest *lru_prev, *lru_next;
	struct dest *hnext;	/* registry hash chain */
	struct dest *next;	/* registry list, creation order */
};

/* Options shared by every destination. */
struct dest_opts {
	size_t	 qmax;		/* lines per queue */
	size_t	 max_open;	/* template destinations open at once (--max-open) */
	const char *spill_dir;	/* NULL: backpressure instead */
	size_t	 hiwat;		/* write when this many bytes wait, unless idle */
};
extern struct dest_opts dest_opt;

/* The kind a destination text starts with, or NULL. *arg is what follows. */
const struct dest_kind *dest_kind_of(const char *text, const char **arg);
/* A text listing the known kinds, for messages. */
const char *dest_kinds_help(void);

/*
 * The instance for a (filled) destination text: found or made. NULL + err.
 * tmpl: the text came from a template: at most dest_opt.max_open such
 * instances are open at once (the least recently used idle one is closed:
 * a file closed, a handler given end-of-file and waited for), and idle
 * closed ones are forgotten (their counts go to one "closed" line).
 */
struct dest *dest_get(const char *name, size_t n, int tmpl, char *err,
	    size_t errlen);
/* The bound in use: --max-open, lowered to fit the descriptors allowed. */
size_t	dest_max_open(void);
/* What the forgotten template destinations delivered, failed, spilled. */
void	dest_closed_counts(unsigned long *n, unsigned long *delivered,
	    unsigned long *failed, unsigned long *spilled);
/* Every instance, in creation order. */
struct dest *dest_first(void);

/*
 * Queue one line for d with its ticket; with a full queue and --spill,
 * write what can be written, then spill the oldest. Its fate comes as a
 * report (the tracker), also when it cannot be queued at all.
 */
void	dest_push(struct dest *d, const char *line, size_t n,
	    const struct dest_ticket *t);
/* Is some queue full (stop reading input)? */
int	dest_blocked(void);

/*
 * Drive every destination: open what is due, write what waits (everything
 * when idle, else only queues past the high-water mark).
 */
void	dest_service(double now, int idle);
/* Fill pfd[] (room for 2 per destination) with what to wait for; returns count; *timeout in ms. */
int	dest_pollset(struct pollfd *pfd, struct dest **who, int max,
	    double now, int *timeout);
/* pfd[k] polled for who[k]: pass its fd and revents. */
void	dest_revents(struct dest *d, int fd, short revents, double now);
int	dest_count(void);
/* SIGCHLD: reap children, tell their kinds. */
void	dest_reap(double now);
/* SIGHUP: reopen what can be reopened. */
void	dest_reopen_all(void);
/* Anything left to deliver? */
int	dest_pending(void);
/*
 * Exit: tell kinds to finish (handlers: end-of-file, waited for until
 * deadline), close, then spill (--spill) or drop what is left, reporting
 * each line. Returns the lines spilled here.
 */
unsigned long dest_shutdown(double deadline);
void	dest_free_all(void);
/* Lines spilled or lost so far, over every destination (exit status 1). */
unsigned long dest_lost(void);
/* Lines spilled so far, over every destination. */
unsigned long dest_spilled(void);

/* --- delivery reports (see the top of this file) --- */

/*
 * The fate of one line: DEST_DELIVERED, DEST_REFUSED (why: the reason;
 * status: an HTTP status or 0), or one of the generic ones. A refused line
 * goes to SPILL/NAME.rejected.ndjson as {"status":…,"error":…,"event":LINE}
 * with --spill (then it counts as spilled), else it is failed; the first
 * refusal of a destination is logged with its reason.
 */
void	dest_report(struct dest *d, struct dest_ticket *t, const char *line,
	    size_t n, enum dest_fate f, int status, const char *why);
/* The k oldest lines in flight have fate f: reported and freed. */
void	dest_settle(struct dest *d, size_t k, enum dest_fate f, int status,
	    const char *why);
/*
 * Nothing in flight was taken: send it again, whole, after backoff; log the
 * reason once per episode (printf format).
 */
void	dest_retry(struct dest *d, double now, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * A line for which no destination could be made (a template value that
 * fails its check): with --spill, appended with the reason to
 * SPILL/NAME-HASH.rejected.ndjson for the template text; 0 kept (*where:
 * the file, to free), -1 not.
 */
int	dest_keep_refused(const char *text, const char *line, size_t n,
	    const char *why, char **where);
/* Is this errno a refusal for good of a file name (ENAMETOOLONG, EISDIR, …)? */
int	dest_errno_final(int e);

/* For kinds: a failure to log (once per episode) and retry with backoff. */
void	dest_fail(struct dest *d, double now, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* A protocol kind got proof that the destination works again: log, reset backoff. */
void	dest_ok(struct dest *d);
/* text with the password of a URL's USER:PASSWORD@ shown as *** . */
void	dest_mask(buf *out, const char *text);
/* Bytes for a message: control characters as \xNN (no log line injected). */
void	dest_escape(buf *out, const char *s, size_t n);

/* The kinds of this issue. */
extern const struct dest_kind dest_stdout_kind, dest_stderr_kind;
extern const struct dest_kind dest_file_kind, dest_exec_kind;
extern const struct dest_kind dest_tcp_kind, dest_unix_kind;
extern const struct dest_kind dest_redis_kind;
extern const struct dest_kind dest_amqp_kind, dest_amqps_kind;
extern const struct dest_kind dest_http_kind, dest_https_kind;

/* Network helpers (dest_net.c). */
/* Percent-decode n bytes into a malloc'd, NUL-terminated *out (*outlen
 * bytes, if not NULL). 0, or -1 on a bad escape. */
int	dest_pct_decode(const char *s, size_t n, char **out, size_t *outlen);
/* "HOST:PORT" or "[V6]:PORT", n bytes: 0, or -1 with err and *col. */
int	dest_hostport(const char *s, size_t n, char **host, char **port,
	    char *err, size_t errlen, size_t *col);
/*
 * Connect d->fd without blocking to host:port (path NULL) or to the Unix
 * socket path: 0 connected, 1 in progress (open() returns 1), -1 d->err.
 * With d->connecting set, finish the connection instead.
 */
int	dest_connect(struct dest *d, const char *host, const char *port,
	    const char *path);

/* exec's argv splitting, shared with its check. */
int	dest_split_argv(const char *s, char ***argv, char *err, size_t errlen,
	    size_t *col);

#endif
