/*
 * dest_exec.c - `exec:COMMAND ARGS…`: a handler process fed on its stdin.
 *
 * The command line is split like sh splits words ('…', "…", backslash),
 * with no expansion and no shell: event data never reaches a shell.
 *
 * The pipe outlives the handler: vk-route keeps its read end, so when a
 * handler dies, what it had not read stays in the pipe for the next one,
 * and lines still queued here wait meanwhile. Restarts back off (50 ms,
 * doubling to 30 s) while the handler keeps dying within 10 s of its start.
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

#include "dest.h"
#include "log.h"

#define STABLE_SECS	10.0

struct execd {
	char	**argv;
	pid_t	 pid;		/* 0: not running */
	int	 rfd, wfd;	/* the pipe, or -1 */
	double	 started;
	double	 bo;		/* backoff kept across restarts */
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
		argv = realloc(argv, (argc + 2) * sizeof(*argv));
		if (argv == NULL)
			abort();
		argv[argc++] = strdup(buf_cstr(&w));
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

static int
exec_check(const char *arg, char *err, size_t errlen, size_t *col)
{
	char **argv;

	if (dest_split_argv(arg, &argv, err, errlen, col) == -1)
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

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (dest_split_argv(arg, &x->argv, err, errlen, &col) == -1) {
		free(x);
		return -1;
	}
	x->rfd = x->wfd = -1;
	d->priv = x;
	return 0;
}

static int
exec_open(struct dest *d)
{
	struct execd *x = d->priv;
	int p[2];
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
	pid = fork();
	if (pid == -1) {
		snprintf(d->err, sizeof(d->err), "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(x->rfd, 0) == -1)
			_exit(126);
		execvp(x->argv[0], x->argv);
		dprintf(2, "%s: %s: cannot run %s: %s\n", log_prog, d->label,
		    x->argv[0], strerror(errno));
		_exit(127);
	}
	x->pid = pid;
	x->started = dest_now();
	d->fd = x->wfd;
	log_info("%s: started, pid %ld", d->label, (long)pid);
	return 0;
}

static int
exec_child(struct dest *d, pid_t pid, int status, double now)
{
	struct execd *x = d->priv;

	if (x->pid != pid)
		return 0;
	x->pid = 0;
	if (x->closing)
		return 1;
	d->fd = -1;	/* the pipe stays: the next handler reads on */
	d->wait_out = 0;
	if (now - x->started >= STABLE_SECS)
		x->bo = 0;
	d->backoff = x->bo;
	d->failing = 0;	/* log every exit, once */
	if (WIFSIGNALED(status))
		dest_fail(d, now, "handler killed by signal %d", WTERMSIG(status));
	else
		dest_fail(d, now, "handler exited with status %d",
		    WEXITSTATUS(status));
	x->bo = d->backoff;
	return 1;
}

static void
close_pipe(struct execd *x, struct dest *d)
{
	if (x->wfd != -1)
		close(x->wfd);
	if (x->rfd != -1)
		close(x->rfd);
	x->wfd = x->rfd = -1;
	d->fd = -1;
}

/* Bytes in the pipe that no handler has read yet. */
static int
exec_busy(struct dest *d)
{
	struct execd *x = d->priv;
	int n = 0;

	return x->rfd != -1 && ioctl(x->rfd, FIONREAD, &n) == 0 && n > 0;
}

/* End of the run: EOF to the handler, then wait for it (within the drain time). */
static int
exec_finish(struct dest *d)
{
	struct execd *x = d->priv;
	int st;

	x->closing = 1;
	close_pipe(x, d);
	if (x->pid > 0 && waitpid(x->pid, &st, WNOHANG) == x->pid) {
		x->pid = 0;
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
	close_pipe(x, d);
	if (x->pid <= 0)
		return;
	log_warn("%s: handler still running after the drain time; terminating it",
	    d->label);
	kill(x->pid, SIGTERM);
	for (k = 0; k < 100; k++) {
		if (waitpid(x->pid, NULL, WNOHANG) == x->pid) {
			x->pid = 0;
			return;
		}
		nanosleep(&ts, NULL);
	}
	kill(x->pid, SIGKILL);
	waitpid(x->pid, NULL, 0);
	x->pid = 0;
}

static void
exec_free(struct dest *d)
{
	struct execd *x = d->priv;

	if (x == NULL)
		return;
	free_argv(x->argv);
	free(x);
}

const struct dest_kind dest_exec_kind = {
	.prefix = "exec:",
	.check = exec_check,
	.quote = exec_quote,
	.init = exec_init,
	.open = exec_open,
	.close = exec_close,
	.child = exec_child,
	.busy = exec_busy,
	.finish = exec_finish,
	.free = exec_free,
};
