/*
 * dest_exec.c - `exec:COMMAND ARGS…[#confirm]`: a handler process fed on
 * its stdin.
 *
 * The command line is split like sh splits words ('…', "…", backslash),
 * with no expansion and no shell: event data never reaches a shell.
 *
 * A line is delivered when the handler READ it: vk-route keeps the pipe's
 * read end too, and FIONREAD tells how much is still unread (bytes written
 * minus bytes unread = bytes taken; whole lines taken are delivered). When
 * a handler dies, what it had not read is taken back out of the pipe and
 * sent, whole lines, to the next one; a handler that cannot start reads
 * nothing, so nothing is delivered. Restarts back off (50 ms, doubling to
 * 30 s) while the handler keeps dying within 10 s of its start.
 *
 * With #confirm the handler's standard output comes back to vk-route: the
 * handler writes the event_id of each Event it has finished with, one per
 * line, in any order, and only then is that line delivered. Lines read
 * but not confirmed when a handler dies go to the next one; at the end of
 * the run they are not delivered. The replies are read as ack lines
 * (common/ack.h: "\r\n" too, blank lines say nothing, an overlong line is
 * skipped whole). An Event without an event_id an ack line can carry (a
 * string of 1 to ACK_ID_MAX bytes, no control character) cannot be
 * confirmed: it is delivered once read.
 */
#define _GNU_SOURCE	/* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ack.h"	/* common/: the reply lines are ack lines */
#include "alloc.h"
#include "track.h"
#include "dest.h"
#include "log.h"
#include "workers.h"

#define STABLE_SECS	10.0
#define LOOK_MS		20	/* how often to see what a handler read */

struct execd {
	char	**argv;
	int	 confirm;	/* #confirm */
	int	 workers;	/* #workers=N: a group (0: a single handler) */
	char	*by;		/* #by=PATH: the key of the group */
	int	 worker;	/* #worker=K: one of a group's workers; -1: not */
	pid_t	 pid;		/* 0: not running */
	int	 rfd, wfd;	/* the pipe, or -1 */
	int	 cfd;		/* #confirm: the handler's stdout (our end), or -1 */
	ack_reader crd;		/* its lines */
	int	 unknown_warned;
	double	 started;
	backoff	 bo;		/* d->bo, kept across restarts */
	int	 closing;
};

static void
free_argv(char **argv)
{
	char **a;

	if (argv == NULL)
		return;
	for (a = argv; *a != NULL; a++)
		free(*a);
	free(argv);
}

int
dest_split_argv(const char *s, char ***argvp, char *err, size_t errlen,
    size_t *col)
{
	char **argv = NULL;
	size_t argc = 0, i = 0, q = 0;
	buf w = BUF_INIT;
	int inword;

	for (;;) {
		while (s[i] == ' ' || s[i] == '\t')
			i++;
		if (s[i] == '\0')
			break;
		buf_reset(&w);
		inword = 1;
		while (inword && s[i] != '\0') {
			char c = s[i];

			if (c == ' ' || c == '\t') {
				inword = 0;
			} else if (c == '\'') {
				q = i++;
				while (s[i] != '\0' && s[i] != '\'')
					buf_putc(&w, s[i++]);
				if (s[i] == '\0')
					goto unterminated;
				i++;
			} else if (c == '"') {
				q = i++;
				while (s[i] != '\0' && s[i] != '"') {
					if (s[i] == '\\' && s[i + 1] != '\0' &&
					    strchr("\"\\$`", s[i + 1]) != NULL)
						i++;
					buf_putc(&w, s[i++]);
				}
				if (s[i] == '\0')
					goto unterminated;
				i++;
			} else if (c == '\\' && s[i + 1] != '\0') {
				buf_putc(&w, s[i + 1]);
				i += 2;
			} else {
				buf_putc(&w, c);
				i++;
			}
		}
		argv = xrealloc(argv, (argc + 2) * sizeof(*argv));
		argv[argc++] = xstrdup(buf_cstr(&w));
		argv[argc] = NULL;
	}
	buf_free(&w);
	if (argc == 0) {
		snprintf(err, errlen, "exec: needs a command");
		*col = 0;
		return -1;
	}
	*argvp = argv;
	return 0;
unterminated:
	snprintf(err, errlen, "unterminated quote in the command");
	*col = q;
	buf_free(&w);
	if (argv != NULL) {
		argv[argc] = NULL;
		free_argv(argv);
	}
	return -1;
}

/*
 * Where the options start: the last '#' outside quotes and not after a
 * backslash (a template value is always quoted: never options). NULL: none.
 */
static const char *
exec_fragment(const char *s)
{
	const char *hash = NULL;
	char q = 0;

	for (; *s != '\0'; s++) {
		if (q == 0 && *s == '\\' && s[1] != '\0')
			s++;
		else if (q == '"' && *s == '\\' && s[1] != '\0')
			s++;
		else if (q == 0 && (*s == '\'' || *s == '"'))
			q = *s;
		else if (q != 0 && *s == q)
			q = 0;
		else if (q == 0 && *s == '#')
			hash = s;
	}
	return hash;
}

/* Parse "#opt,opt" into x (NULL: check only). 0, or -1 with err. */
/* A number from lo to hi, the whole of s[0..n); -1 if not. */
static long
opt_int(const char *s, size_t n, long lo, long hi)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 6)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

/* Parse "#opt,opt" into x (NULL: check only). 0, or -1 with err. */
static int
exec_opts(const char *s, struct execd *x, char *err, size_t errlen)
{
	struct execd tmp;
	int by = 0;

	if (x == NULL) {
		memset(&tmp, 0, sizeof(tmp));
		x = &tmp;
	}
	x->worker = -1;
	while (*s != '\0') {
		size_t n = strcspn(s, ",");

		if (n == 7 && strncmp(s, "confirm", 7) == 0) {
			x->confirm = 1;
		} else if (n > 8 && strncmp(s, "workers=", 8) == 0) {
			if ((x->workers = (int)opt_int(s + 8, n - 8, 1, WORKERS_MAX)) < 0) {
				snprintf(err, errlen, "workers= takes a number from 1 to %d",
				    WORKERS_MAX);
				return -1;
			}
		} else if (n > 3 && strncmp(s, "by=", 3) == 0) {
			if (workers_check_path(s + 3, n - 3, err, errlen) == -1)
				return -1;
			if (x != &tmp)
				x->by = xstrndup(s + 3, n - 3);
			by = 1;
		} else if (n > 7 && strncmp(s, "worker=", 7) == 0) {
			/* one worker of a group: the group names its workers so */
			if ((x->worker = (int)opt_int(s + 7, n - 7, 0, WORKERS_MAX - 1)) < 0) {
				snprintf(err, errlen, "worker= takes a number from 0 to %d",
				    WORKERS_MAX - 1);
				return -1;
			}
		} else {
			snprintf(err, errlen, "unknown option #%.*s: the exec options are "
			    "#confirm, #workers=N,by=PATH", (int)n, s);
			return -1;
		}
		s += n + (s[n] == ',');
	}
	if (x->workers > 0 && !by) {
		snprintf(err, errlen, "workers=N needs by=PATH: the key whose Events "
		    "stay in order on one worker, like by=.peer.bpid");
		return -1;
	}
	if (by && x->workers == 0) {
		snprintf(err, errlen, "by=PATH goes with workers=N");
		return -1;
	}
	return 0;
}

/* Split arg into the command words and the options after '#'. */
static int
exec_parse(const char *arg, char ***argv, struct execd *x, char *err,
    size_t errlen, size_t *col)
{
	const char *hash = exec_fragment(arg);
	char *cmd = hash != NULL ? xstrndup(arg, (size_t)(hash - arg)) : xstrdup(arg);
	int rc;

	rc = dest_split_argv(cmd, argv, err, errlen, col);
	free(cmd);
	if (rc == 0 && hash != NULL && exec_opts(hash + 1, x, err, errlen) == -1) {
		*col = (size_t)(hash - arg) + 1;
		free_argv(*argv);
		*argv = NULL;
		rc = -1;
	}
	return rc;
}

static int
exec_check(const char *arg, char *err, size_t errlen, size_t *col)
{
	char **argv;

	if (exec_parse(arg, &argv, NULL, err, errlen, col) == -1)
		return -1;
	if (strchr(argv[0], '{') != NULL) {
		snprintf(err, errlen, "the command cannot be a template "
		    "(an event would choose the program)");
		*col = strspn(arg, " \t");
		free_argv(argv);
		return -1;
	}
	free_argv(argv);
	return 0;
}

/* #confirm: the handler's replies are event_ids. */
static int
exec_wants_ids(const char *arg)
{
	struct execd x;
	const char *hash = exec_fragment(arg);
	char err[128];

	int yes;

	memset(&x, 0, sizeof(x));
	yes = hash != NULL && exec_opts(hash + 1, &x, err, sizeof(err)) == 0 && x.confirm;
	free(x.by);
	return yes;
}

/* A template value becomes exactly one word, whatever it holds. */
static void
exec_quote(buf *out, const char *s, size_t n)
{
	buf_putc(out, '\'');
	for (; n > 0; s++, n--) {
		if (*s == '\'')
			buf_puts(out, "'\\''");
		else
			buf_putc(out, *s);
	}
	buf_putc(out, '\'');
}

static int
exec_init(struct dest *d, const char *arg, char *err, size_t errlen)
{
	struct execd *x;
	size_t col;

	x = xcalloc(1, sizeof(*x));
	if (exec_parse(arg, &x->argv, x, err, errlen, &col) == -1) {
		free(x);
		return -1;
	}
	x->rfd = x->wfd = x->cfd = -1;
	x->bo = d->bo;
	d->priv = x;
	d->group = x->workers > 0 && x->worker < 0;
	return 0;
}

/*
 * A group hands each line to its worker (dest_workers.c), found by name:
 * the group's text with ",worker=K" added, a destination of its own.
 */
static struct dest *
exec_pick(struct dest *d, const char *line, size_t n)
{
	struct execd *x = d->priv;
	char num[24], err[256];
	struct dest *w;
	buf name = BUF_INIT;

	if (!d->group)
		return d;
	snprintf(num, sizeof(num), ",worker=%d", workers_index(x->by, x->workers, line, n));
	buf_puts(&name, d->name);
	buf_puts(&name, num);
	if ((w = dest_get(name.p, name.len, d->tmpl, err, sizeof(err))) == NULL) {
		/* the group's own text parsed: only memory can fail here */
		log_warn("%s: %s", d->label, err);
		alloc_fail();
	}
	buf_free(&name);
	return w;
}

static void
close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

static int
exec_open(struct dest *d)
{
	struct execd *x = d->priv;
	int p[2], c[2] = { -1, -1 };
	pid_t pid;

	if (x->pid > 0) {	/* still running: only the descriptor was dropped */
		d->fd = x->wfd;
		return 0;
	}
	if (x->wfd == -1) {
		if (pipe2(p, O_CLOEXEC) == -1) {
			snprintf(d->err, sizeof(d->err), "pipe: %s", strerror(errno));
			return -1;
		}
		x->rfd = p[0];
		x->wfd = p[1];
		fcntl(x->wfd, F_SETFL, fcntl(x->wfd, F_GETFL) | O_NONBLOCK);
	}
	if (x->confirm && pipe2(c, O_CLOEXEC) == -1) {
		snprintf(d->err, sizeof(d->err), "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == -1) {
		snprintf(d->err, sizeof(d->err), "fork: %s", strerror(errno));
		close_fd(&c[0]);
		close_fd(&c[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(x->rfd, 0) == -1 || (c[1] != -1 && dup2(c[1], 1) == -1))
			_exit(126);
		execvp(x->argv[0], x->argv);
		dprintf(2, "%s: %s: cannot run %s: %s\n", log_prog, d->label,
		    x->argv[0], strerror(errno));
		_exit(127);
	}
	close_fd(&c[1]);
	if (c[0] != -1) {
		fcntl(c[0], F_SETFL, fcntl(c[0], F_GETFL) | O_NONBLOCK);
		x->cfd = d->aux_fd = c[0];
		ack_reader_reset(&x->crd);
	}
	x->pid = pid;
	x->started = mono_now();
	d->fd = x->wfd;
	log_info("%s: started, pid %ld", d->label, (long)pid);
	return 0;
}

/* Bytes in the pipe that no handler has read yet. */
static size_t
unread(struct execd *x)
{
	int n = 0;

	return x->rfd != -1 && ioctl(x->rfd, FIONREAD, &n) == 0 && n > 0 ? (size_t)n : 0;
}

/* Is this line's Event one the handler cannot confirm (no event_id an ack line carries)? */
static int
unconfirmable(const struct dest_ticket *t)
{
	const char *why;

	return t->id == NULL || ack_id_check(t->id, t->idn, &why) == -1;
}

/* Free the lines at the front whose fate is told (#confirm: in any order). */
static void
settle_done(struct dest *d)
{
	size_t k = 0;

	while (k < d->q.nlines && dq_ticket(&d->q, k)->done)
		k++;
	if (k > 0)
		dest_settle(d, k, DEST_DELIVERED, 0, NULL);
}

/* Report what the handler read since the last look. */
static void
take(struct dest *d)
{
	struct execd *x = d->priv;
	size_t inflight = dq_inflight(&d->q), left = unread(x), k, j;

	if (left > inflight)
		left = inflight;
	k = dq_whole(&d->q, inflight - left);
	if (k > 0 && d->failing && x->pid > 0)
		dest_ok(d);	/* this handler reads: log the recovery */
	if (!x->confirm) {
		dest_settle(d, k, DEST_DELIVERED, 0, NULL);
		return;
	}
	for (j = 0; j < k; j++) {
		struct dest_ticket *t = dq_ticket(&d->q, j);

		if (!t->done && unconfirmable(t))
			track_report(&d->cnt, t, DEST_DELIVERED);
	}
	settle_done(d);
}

static int
exec_taken(struct dest *d, double now)
{
	(void)now;
	take(d);
	return unread(d->priv) > 0 ? LOOK_MS : -1;
}

/* #confirm: one line from the handler, an event_id it has finished with. */
static void
confirmed(void *arg, const char *id, size_t n)
{
	struct dest *d = arg;
	struct execd *x = d->priv;
	size_t k, in;

	in = dq_sent_lines(&d->q);
	for (k = 0; k < in; k++) {
		struct dest_ticket *t = dq_ticket(&d->q, k);

		if (!t->done && t->id != NULL && t->idn == n &&
		    memcmp(t->id, id, n) == 0) {
			track_report(&d->cnt, t, DEST_DELIVERED);
			return;
		}
	}
	if (!x->unknown_warned) {
		buf shown = BUF_INIT;

		dest_escape(&shown, id, n > 64 ? 64 : n);
		log_warn("%s: the handler confirmed \"%s\", which is not an Event it "
		    "was given (or was confirmed before): ignored", d->label,
		    buf_cstr(&shown));
		buf_free(&shown);
		x->unknown_warned = 1;
	}
}

/* Read the handler's confirmations; at its end-of-file, close our end. */
static void
exec_aux(struct dest *d, double now)
{
	struct execd *x = d->priv;

	(void)now;
	if (x->cfd == -1)
		return;
	take(d);	/* a confirmation may come before we looked at the pipe */
	if (ack_reader_read(&x->crd, x->cfd, confirmed, d) != ACK_READ_AGAIN) {
		close_fd(&x->cfd);
		d->aux_fd = -1;
	}
	settle_done(d);
}

/*
 * The handler is gone: what it read is reported; what it did not read is
 * taken back out of the pipe, and everything not delivered is sent again,
 * whole lines, to the next one.
 */
static void
handler_gone(struct dest *d)
{
	struct execd *x = d->priv;
	char tmp[65536];
	size_t left;
	ssize_t r;

	if (x->cfd != -1)
		exec_aux(d, 0);
	take(d);
	if (x->cfd != -1) {	/* a grandchild holds it open: stop listening */
		close_fd(&x->cfd);
		d->aux_fd = -1;
	}
	for (left = unread(x); left > 0; left -= (size_t)r) {
		r = read(x->rfd, tmp, left < sizeof(tmp) ? left : sizeof(tmp));
		if (r == -1 && errno == EINTR) {
			r = 0;
			continue;
		}
		if (r <= 0)
			break;
	}
	d->retried += dq_sent_lines(&d->q);
	dq_rewind(&d->q);
	d->fd = -1;
	d->wait_out = 0;
	if (x->closing && d->q.nlines > 0)	/* the reason shown at the end */
		snprintf(d->err, sizeof(d->err), "%s", x->confirm ?
		    "the handler did not confirm them" : "the handler did not read them");
}

static int
exec_child(struct dest *d, pid_t pid, int status, double now)
{
	struct execd *x = d->priv;

	if (x->pid != pid)
		return 0;
	x->pid = 0;
	handler_gone(d);
	if (x->closing)
		return 1;
	if (now - x->started >= STABLE_SECS)
		backoff_reset(&x->bo);
	d->bo = x->bo;
	d->failing = 0;	/* log every exit, once */
	if (WIFSIGNALED(status))
		dest_fail(d, now, "handler killed by signal %d", WTERMSIG(status));
	else
		dest_fail(d, now, "handler exited with status %d",
		    WEXITSTATUS(status));
	x->bo = d->bo;
	return 1;
}

/* Lines handed over, not yet read by the handler. */
static int
exec_busy(struct dest *d)
{
	return unread(d->priv) > 0;
}

/* End of the run: EOF to the handler, then wait for it (within the drain time). */
static int
exec_finish(struct dest *d)
{
	struct execd *x = d->priv;
	int st;

	x->closing = 1;
	close_fd(&x->wfd);
	d->fd = -1;
	if (x->cfd != -1)
		exec_aux(d, 0);
	if (x->pid > 0 && waitpid(x->pid, &st, WNOHANG) == x->pid) {
		x->pid = 0;
		handler_gone(d);
		if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
			log_warn("%s: handler exited with status %d", d->label,
			    WEXITSTATUS(st));
	}
	return x->pid > 0;
}

static void
exec_close(struct dest *d)
{
	struct execd *x = d->priv;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int k;

	if (!x->closing) {
		/* A write error: keep the pipe, the handler goes on. */
		d->fd = -1;
		return;
	}
	close_fd(&x->wfd);
	d->fd = -1;
	if (x->pid > 0) {
		log_warn("%s: handler still running after the drain time; terminating it",
		    d->label);
		kill(x->pid, SIGTERM);
		for (k = 0; k < 100 && x->pid > 0; k++) {
			if (waitpid(x->pid, NULL, WNOHANG) == x->pid)
				x->pid = 0;
			else
				nanosleep(&ts, NULL);
		}
		if (x->pid > 0) {
			kill(x->pid, SIGKILL);
			waitpid(x->pid, NULL, 0);
			x->pid = 0;
		}
		handler_gone(d);
	}
	close_fd(&x->rfd);
	close_fd(&x->cfd);
	d->aux_fd = -1;
}

static void
exec_free(struct dest *d)
{
	struct execd *x = d->priv;

	if (x == NULL)
		return;
	free_argv(x->argv);
	free(x->by);
	ack_reader_free(&x->crd);
	close_fd(&x->rfd);
	close_fd(&x->wfd);
	close_fd(&x->cfd);
	free(x);
}

const struct dest_kind dest_exec_kind = {
	.prefix = "exec:",
	.flags = DEST_TAKEN_LATER,
	.check = exec_check,
	.wants_ids = exec_wants_ids,
	.quote = exec_quote,
	.init = exec_init,
	.pick = exec_pick,
	.open = exec_open,
	.close = exec_close,
	.child = exec_child,
	.busy = exec_busy,
	.taken = exec_taken,
	.aux = exec_aux,
	.finish = exec_finish,
	.free = exec_free,
};
