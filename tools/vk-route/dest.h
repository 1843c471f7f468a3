/*
 * dest.h - destinations: where vk-route delivers lines.
 *
 * A destination is one string ("stdout", "file:PATH", "exec:CMD ARGS…",
 * later "tcp://…", "redis://…"). Each kind is one `struct dest_kind`: a
 * prefix and a table of functions, in a file of its own (dest_std.c,
 * dest_file.c, dest_exec.c), listed once in dest_kinds[] in dest.c.
 * Adding a kind is a new file and one line in that list.
 *
 * Every destination instance owns a bounded queue of whole lines:
 *
 *     head            sent                 len
 *      |  in flight    |  not yet handed    |
 *
 * Bytes before `sent` were given to the destination; lines before `head`
 * are acknowledged (written to a file or pipe, or, for a remote kind,
 * confirmed by the peer) and their room is freed. A kind that loses its
 * connection calls dq_rewind(): what was in flight is sent again, whole
 * lines only (at least once).
 *
 * Stream kinds (a file descriptor that takes bytes) only provide open();
 * the generic code writes, handles EAGAIN, errors and reconnection with
 * backoff. Kinds with their own protocol (HTTP, Redis) provide io() and
 * events() and acknowledge lines themselves with dq_ack().
 */
#ifndef VKROUTE_DEST_H
#define VKROUTE_DEST_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

struct dest;

/* The bounded queue of one destination. */
struct dq {
	buf	 b;
	size_t	 head, sent;
	size_t	 nlines;	/* lines in [head, len) */
	unsigned long long pushed;	/* lines ever queued (ack.h) */
};

/* Append one line (a newline is added). */
void	dq_push(struct dq *q, const char *line, size_t n);
/* The bytes not handed over yet. */
static inline const char *
dq_unsent(const struct dq *q, size_t *n)
{
	*n = q->b.len - q->sent;
	return q->b.p + q->sent;
}
/* n more bytes were handed over. */
static inline void dq_sent(struct dq *q, size_t n) { q->sent += n; }
/* The first k lines are confirmed: free them. */
void	dq_ack(struct dq *q, size_t k);
/* Confirm every whole line before `sent` (stream kinds). Returns lines. */
size_t	dq_ack_sent(struct dq *q);
/* The connection was lost: send the unconfirmed lines again. */
static inline void dq_rewind(struct dq *q) { q->sent = q->head; }
static inline int dq_busy(const struct dq *q) { return q->b.len > q->head; }

/* Flags of a kind. */
#define DEST_PATH_TEMPLATES	0x1	/* template values become file names */
#define DEST_EPIPE_FINAL	0x2	/* a closed reader is for good (stdout) */
#define DEST_SOCKET		0x4	/* stream: a readable socket is the peer closing */

struct dest_kind {
	const char *prefix;	/* "file:", or a whole name like "stdout" */
	unsigned flags;
	/*
	 * Check the text after the prefix when the rules are loaded (holes
	 * still in it). 0, or -1 with err and *col (0-based offset in arg).
	 */
	int	(*check)(const char *arg, char *err, size_t errlen, size_t *col);
	/* Quote a template value into the destination text (NULL: as is). */
	void	(*quote)(buf *out, const char *s, size_t n);
	/* Set up an instance for arg (holes filled). 0, or -1 with err. */
	int	(*init)(struct dest *d, const char *arg, char *err, size_t errlen);
	/*
	 * Make d->fd ready to take bytes. 0 ready; 1 not yet, call again at
	 * d->retry_at (d->fd still -1); -1 failed, d->err says why (retried
	 * with backoff). A socket connecting without blocking returns 1 with
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
	/* End of the run: no more lines will come; 1 while still busy. */
	int	(*finish)(struct dest *d);
	void	(*free)(struct dest *d);
};

struct dest {
	char	*name;		/* the full destination text, unique */
	char	*label;		/* as shown in messages: init() may mask a password */
	const struct dest_kind *kind;
	void	*priv;		/* the kind's state */
	int	 fd;		/* -1 when closed */
	int	 blocking;	/* writes to fd may block (stderr, tty) */
	struct dq q;
	double	 retry_at;	/* monotonic seconds; 0 = now */
	double	 backoff;
	int	 failing;	/* an error was logged; log recovery once */
	int	 want_reopen;
	int	 dead;		/* gave up for good (stdout closed): drop */
	int	 wait_out;	/* the last write met EAGAIN: poll POLLOUT */
	int	 full;		/* the queue holds --queue lines */
	int	 connecting;	/* open() returned 1 with fd set: poll POLLOUT */
	char	 err[256];
	/* counters */
	unsigned long delivered, failed, spilled;
	unsigned long lost;	/* not delivered for a reason the exit status tells */
	/* spill (dead-letter) file, opened on first use */
	int	 spill_fd;
	char	*spill_path;
	/* lines the destination refused for good (HTTP 4xx), with why */
	int	 reject_fd;
	char	*reject_path;
	unsigned long rejected;
	struct dest *hnext;	/* registry hash chain */
	struct dest *next;	/* registry list, creation order */
};

/* Options shared by every destination. */
struct dest_opts {
	size_t	 qmax;		/* lines per queue */
	const char *spill_dir;	/* NULL: backpressure instead */
	size_t	 hiwat;		/* write when this many bytes wait, unless idle */
};
extern struct dest_opts dest_opt;

/* The kind a destination text starts with, or NULL. *arg is what follows. */
const struct dest_kind *dest_kind_of(const char *text, const char **arg);
/* A text listing the known kinds, for messages. */
const char *dest_kinds_help(void);

/* The instance for a (filled) destination text: found or made. NULL + err. */
struct dest *dest_get(const char *name, size_t n, char *err, size_t errlen);
/* Every instance, in creation order. */
struct dest *dest_first(void);

/*
 * Queue one line for d; with a full queue and --spill, write what can be
 * written, then spill. 0 queued or spilled; -1 lost (spill failed); -2 the
 * reader went away for good (stdout closed: quietly dropped).
 */
int	dest_push(struct dest *d, const char *line, size_t n);
/* Is some queue full (stop reading input)? */
int	dest_blocked(void);

/*
 * Drive every destination: open what is due, write what waits (everything
 * when idle, else only queues past the high-water mark).
 */
void	dest_service(double now, int idle);
/* Fill pfd[] with what to wait for; returns count; *timeout in ms. */
int	dest_pollset(struct pollfd *pfd, struct dest **who, int max,
	    double now, int *timeout);
void	dest_revents(struct dest *d, short revents, double now);
int	dest_count(void);
/* SIGCHLD: reap children, tell their kinds. */
void	dest_reap(double now);
/* SIGHUP: reopen what can be reopened. */
void	dest_reopen_all(void);
/* Anything left to deliver? */
int	dest_pending(void);
/* Exit: spill or count what is left, tell kinds to finish. Lines lost. */
unsigned long dest_shutdown(double deadline);
void	dest_free_all(void);
/* Lines spilled or lost so far, over every destination (exit status 1). */
unsigned long dest_lost(void);
/* Lines spilled so far, over every destination. */
unsigned long dest_spilled(void);

/* For kinds: a failure to log (once per episode) and retry with backoff. */
void	dest_fail(struct dest *d, double now, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
double	dest_now(void);
/*
 * The destination refused the line for good (an HTTP 4xx, a Redis error
 * reply): appended to SPILL/LABEL.rejected.ndjson as {"status":…,
 * "error":…,"event":LINE} with --spill, else counted as failed. status 0:
 * none. Counts toward exit status 1. The caller frees the line (dq_ack).
 */
/* A protocol kind got proof that the destination works again: log, reset backoff. */
void	dest_ok(struct dest *d);
/* text with the password of a URL's USER:PASSWORD@ shown as *** . */
void	dest_mask(buf *out, const char *text);
void	dest_reject(struct dest *d, const char *line, size_t n, int status,
	    const char *why);

/* The kinds of this issue. */
extern const struct dest_kind dest_stdout_kind, dest_stderr_kind;
extern const struct dest_kind dest_file_kind, dest_exec_kind;
extern const struct dest_kind dest_tcp_kind, dest_unix_kind;
extern const struct dest_kind dest_redis_kind;
extern const struct dest_kind dest_amqp_kind, dest_amqps_kind;
extern const struct dest_kind dest_http_kind, dest_https_kind;

/* Network helpers (dest_net.c). */
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
