/* run.c - start the stages, wait on a signalfd, stop them in order. */
#define _GNU_SOURCE	/* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "mono.h"
#include "notify.h"
#include "run.h"
#include "spawn.h"
#include "stage.h"
#include "tool.h"

#define TOKEN_FD	5	/* the token, as /dev/fd/5, for the stages that call VK */
#define SECRET_FD	7	/* the callback secret, as /dev/fd/7, for vk-callback */
#define CALL_WAIT_MS	100	/* between tries of vk-call's socket at start */

struct stage {
	pid_t	pid;		/* 0: not started */
	int	ended;		/* reaped */
	int	status;		/* exit status, or 128 + signal */
};

struct run {
	const struct settings *s;
	char	dir[PATH_MAX - 64];	/* room for the names of its files */
	char	raw[PATH_MAX], events[PATH_MAX], ack[PATH_MAX];
	char	rules[PATH_MAX], mark[PATH_MAX];
	struct stage st[STAGE_N];
	int	sfd;		/* the signalfd */
	int	status;		/* vkpipe's exit status so far */
	int	call_told;	/* vk-call had its one SIGTERM */
	int	stop_sig;	/* the signal that stopped the run, or 0 */
	int	stopping;	/* STOPPING=1 was sent */
	char	why[512];	/* the first failure, for the stop line */
	struct watchdog wd;
	char	prom[STAGE_N][PATH_MAX];	/* each stage's --metrics file */
	long long metrics_next;	/* monotonic ms: the next merge (VKPIPE_METRICS) */
	int	metrics_failed;	/* a merge failed: said once */
};

static const char *
name(const struct run *r, enum stage_id id)
{
	return stage_prog(r->s, id);
}

static void
path_in(char *dst, const char *dir, const char *file)
{
	size_t n = strlen(dir), m = strlen(file);

	if (n + 1 + m >= PATH_MAX)
		n = PATH_MAX - 2 - m;	/* never: the run directory's name is short */
	memcpy(dst, dir, n);
	dst[n] = '/';
	memcpy(dst + n + 1, file, m + 1);
}

/* The run directory and all it holds (the FIFOs, pid files, built-in rules). */
static void
remove_run_dir(struct run *r)
{
	static const char *files[] = { "raw", "events", "ack", "rules.conf", "vk-route.pid",
	    "vk-call.pid", "vk-normalize.pid", "vk-poll.pid", "vk-callback.pid",
	    "vk-route.prom", "vk-call.prom", "vk-normalize.prom", "vk-poll.prom",
	    "vk-callback.prom", "vk-route.prom.tmp", "vk-call.prom.tmp",
	    "vk-normalize.prom.tmp", "vk-poll.prom.tmp", "vk-callback.prom.tmp" };
	char p[PATH_MAX];
	size_t i;

	if (!r->dir[0])
		return;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path_in(p, r->dir, files[i]);
		unlink(p);
	}
	rmdir(r->dir);
	r->dir[0] = '\0';
}

/* A secret as a descriptor: in memory, never in a file, nor in argv or environ. */
static int
secret_fd(const char *what, const char *value)
{
	size_t n = strlen(value);
	int fd = memfd_create(what, MFD_CLOEXEC);

	/* 0600, as the token file the stages check would be */
	if (fd == -1 || fchmod(fd, 0600) == -1 || file_write_all(fd, value, n) == -1 ||
	    file_write_all(fd, "\n", 1) == -1) {
		log_err("cannot hold the %s for the stages: %s", what, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static int
write_pid(struct run *r, enum stage_id id, pid_t pid)
{
	char p[PATH_MAX], file[64], line[32];
	int fd, n;

	snprintf(file, sizeof(file), "%s.pid", name(r, id));
	path_in(p, r->dir, file);
	n = snprintf(line, sizeof(line), "%ld\n", (long)pid);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return -1;
	if (file_write_all(fd, line, (size_t)n) == -1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Start stage id: in IN, out OUT (NULL: vkpipe's own, as it is). */
static int
start(struct run *r, enum stage_id id, const char *in, const char *out, int tokfd, int secfd)
{
	struct stage_paths p;
	struct spawn sp;
	char **argv;
	pid_t pid;

	memset(&p, 0, sizeof(p));
	memset(&sp, 0, sizeof(sp));
	p.ack = r->ack;
	p.rules = r->rules[0] ? r->rules : NULL;
	p.token_file = r->s->token_file ? r->s->token_file : tokfd != -1 ? "/dev/fd/5" : NULL;
	p.secret_file = r->s->secret_file ? r->s->secret_file : secfd != -1 ? "/dev/fd/7" : NULL;
	p.alive = r->s->source == SOURCE_CALLBACK ? r->mark : NULL;
	p.metrics = r->s->metrics ? r->prom[id] : NULL;
	sp.in = in;
	sp.out = out;
	sp.err_fd = -1;
	sp.detach = 1;
	if (tokfd != -1) {
		sp.from[sp.nfd] = tokfd;
		sp.to[sp.nfd++] = TOKEN_FD;
	}
	if (secfd != -1) {
		sp.from[sp.nfd] = secfd;
		sp.to[sp.nfd++] = SECRET_FD;
	}
	argv = stage_argv(r->s, id, &p, NULL);
	pid = spawn_run(argv, &sp);
	stage_argv_free(argv);
	if (pid == -1) {
		log_err("cannot start %s: %s", name(r, id), strerror(errno));
		return -1;
	}
	r->st[id].pid = pid;
	if (write_pid(r, id, pid) == -1)
		log_warn("cannot write %s/%s.pid: %s", r->dir, name(r, id), strerror(errno));
	return 0;
}

/*
 * VKPIPE_METRICS: every stage's file merged into the one node_exporter
 * reads, each sample labelled with the community (two services in one
 * collector directory must not clash), every interval and at the end.
 */
static void
metrics_merge_all(struct run *r)
{
	const char *files[STAGE_N];
	char err[600];
	size_t n = 0;
	int i;

	if (r->s->metrics == NULL)
		return;
	for (i = 0; i < STAGE_N; i++)
		if (stage_wanted(r->s, i))
			files[n++] = r->prom[i];
	if (metrics_merge(r->s->metrics, files, n, "group", r->s->group, err,
	    sizeof(err)) == -1) {
		if (!r->metrics_failed)
			log_warn("%s", err);
		r->metrics_failed = 1;
	} else {
		r->metrics_failed = 0;
	}
	r->metrics_next = mono_ms() + (long long)(atof(r->s->metrics_interval) * 1000);
}

/* Milliseconds until the next merge is due (-1: none), no later than t. */
static int
metrics_timeout(const struct run *r, int t)
{
	long long left;

	if (r->s->metrics == NULL)
		return t;
	left = r->metrics_next - mono_ms();
	if (left < 0)
		left = 0;
	return t < 0 || left < t ? (int)left : t;
}

static void
tell(struct run *r, enum stage_id id, int sig)
{
	if (r->st[id].pid > 0 && !r->st[id].ended)
		kill(r->st[id].pid, sig);
}

/* Reap what ended: round[id] set for each. */
static void
reap(struct run *r, int *round)
{
	int wst, i;
	pid_t pid;

	while ((pid = waitpid(-1, &wst, WNOHANG)) > 0)
		for (i = 0; i < STAGE_N; i++)
			if (r->st[i].pid == pid && !r->st[i].ended) {
				r->st[i].ended = 1;
				r->st[i].status = WIFEXITED(wst) ? WEXITSTATUS(wst) :
				    128 + WTERMSIG(wst);
				round[i] = 1;
			}
}

/*
 * Why a stage that ended with status 1 did: the usual reason is lines
 * rejected or not delivered (the stage said which); but a state directory
 * that takes no more data (a full disk) makes vk-route fail to save its
 * window although everything was delivered: then that is the cause.
 */
static const char *
partial_reason(struct run *r, char *buf, size_t len)
{
	char probe[PATH_MAX], block[4096];
	struct statvfs vs;
	int fd, e = 0;

	if (statvfs(r->s->state_dir, &vs) == 0 && vs.f_bavail == 0)
		e = ENOSPC;
	else {
		path_in(probe, r->s->state_dir, ".vkpipe-probe");
		memset(block, '\n', sizeof(block));
		if ((fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
			e = errno;
		else {
			if (file_write_all(fd, block, sizeof(block)) == -1 || fsync(fd) == -1)
				e = errno;
			close(fd);
			unlink(probe);
		}
	}
	if (e == 0)
		return "some lines were rejected or not delivered";
	snprintf(buf, len, "the state could not be saved in %s (%s)", r->s->state_dir,
	    strerror(e));
	return buf;
}

/*
 * What the stages that ended this round mean. When the source has ended
 * too (now or before), a status of 1 to 125 from the others is the natural
 * end's report (lines rejected, not delivered); a stage killed, or one that
 * fails while the source runs, takes the pipeline down. (In one round the
 * source may have ended only because of another: vk-poll ends quietly on
 * EPIPE when vk-normalize is killed.)
 */
static void
judge(struct run *r, const int *round)
{
	int i, st, source_ended = r->st[STAGE_SOURCE].ended;
	const char *then;
	char why[512], reason[400];

	for (i = 0; i < STAGE_N; i++) {
		if (!round[i] || (st = r->st[i].status) == 0)
			continue;
		if (i == STAGE_SOURCE)
			then = "";
		else if (source_ended)
			then = st > 125 ? "; stopping the pipeline" : "";
		else
			then = "; stopping the pipeline";
		if (st > 128)
			snprintf(why, sizeof(why), "%s was killed by signal %d%s", name(r, i),
			    st - 128, then);
		else if (!*then && st == 1)
			snprintf(why, sizeof(why), "%s ended with status 1: %s (see above)",
			    name(r, i), partial_reason(r, reason, sizeof(reason)));
		else
			snprintf(why, sizeof(why), "%s failed with status %d%s", name(r, i), st,
			    then);
		log_err("%s", why);
		if (r->status == 0) {
			r->status = st;
			memcpy(r->why, why, sizeof(r->why));
		}
		/* the others drain: the source stops, the rest see the end of input */
		tell(r, STAGE_SOURCE, SIGTERM);
	}
	/* vk-call serves until the handlers are done: until vk-route has
	 * ended; once, for a second SIGTERM would not let it answer what it holds */
	if (r->st[STAGE_ROUTE].ended && !r->call_told) {
		tell(r, STAGE_CALL, SIGTERM);
		r->call_told = 1;
	}
}

static int
all_ended(const struct run *r)
{
	int i;

	for (i = 0; i < STAGE_N; i++)
		if (r->st[i].pid > 0 && !r->st[i].ended)
			return 0;
	return 1;
}

/*
 * The way down has begun (a stop signal, or the source ended): systemd
 * hears it once, and no longer expects watchdog pings from a source that
 * is gone while the rest drains.
 */
static void
stopping(struct run *r)
{
	if (r->stopping)
		return;
	r->stopping = 1;
	r->wd.usec = 0;		/* no more pings, nor their timer */
	notify("STOPPING=1\nSTATUS=stopping: %s ends, the rest drains", name(r, STAGE_SOURCE));
}

/* A signal for vkpipe: what it means to the stages. */
static void
on_signal(struct run *r, int sig)
{
	int i;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		/* stop the source only; what is in the pipe still flows */
		if (!r->stop_sig)
			r->stop_sig = sig;
		stopping(r);
		tell(r, STAGE_SOURCE, SIGTERM);
		break;
	case SIGHUP:
		log_note("SIGHUP: vk-route reloads its rules and reopens its files");
		tell(r, STAGE_ROUTE, SIGHUP);
		break;
	case SIGUSR1:
		log_note("SIGUSR1: every stage writes its statistics");
		for (i = 0; i < STAGE_N; i++)
			tell(r, i, SIGUSR1);
		break;
	}
}

/* The source's position, for the start line: the ts saved, as VK sent it. */
static void
saved_ts(const struct settings *s, char *out, size_t len)
{
	char path[PATH_MAX], text[4097];
	json_doc d;
	const char *raw;
	size_t n = 0;
	ssize_t got;
	int fd, i;

	snprintf(out, len, "the newest events (no state yet)");
	snprintf(path, sizeof(path), "%s/vk-poll.ts", s->state_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	while (n < sizeof(text) - 1 && (got = read(fd, text + n, sizeof(text) - 1 - n)) > 0)
		n += (size_t)got;
	close(fd);
	json_init(&d);
	if (json_parse(&d, text, n) == 0 && (i = json_get(&d, 0, "ts", 2)) >= 0 &&
	    (raw = json_raw(&d, i, &n)) != NULL)
		snprintf(out, len, "ts %.*s", (int)(n > 64 ? 64 : n), raw);
	json_free(&d);
}

static void
start_line(struct run *r, int rules)
{
	char from[128], nrules[32], call[PATH_MAX + 32];

	if (rules >= 0)
		snprintf(nrules, sizeof(nrules), "%d rule%s", rules, rules == 1 ? "" : "s");
	else
		snprintf(nrules, sizeof(nrules), "rules");
	if (r->s->source == SOURCE_CALLBACK)
		snprintf(from, sizeof(from), "on %s", r->s->listen);
	else
		saved_ts(r->s, from, sizeof(from));
	call[0] = '\0';
	if (r->s->call_socket)
		snprintf(call, sizeof(call), ", vk-call on %s", r->s->call_socket);
	log_note("started: community %s, %s from %s, %s%s%s%s", r->s->group,
	    name(r, STAGE_SOURCE), from, nrules, r->s->rules ? " in " : " (built in)",
	    r->s->rules ? r->s->rules : "", call);
	notify("READY=1\nSTATUS=running: community %s, %s from %s, %s", r->s->group,
	    name(r, STAGE_SOURCE), from, nrules);
}

static void
stop_line(struct run *r, double secs)
{
	char counts[256];
	size_t n = 0;
	int i, fails = 0;

	counts[0] = '\0';
	for (i = 0; i < STAGE_N; i++) {
		if (!r->st[i].pid)
			continue;
		n += (size_t)snprintf(counts + n, n < sizeof(counts) ? sizeof(counts) - n : 0,
		    "%s%s %d", n ? ", " : "", name(r, i), r->st[i].status);
		if (r->st[i].status)
			fails++;
	}
	log_note("stopped: %s; after %.0f s, %d of %d stages failed (exit statuses: %s)%s%s",
	    r->stop_sig == SIGTERM ? "SIGTERM" : r->stop_sig == SIGINT ? "SIGINT" :
	    r->status ? "a stage failed" : "the source ended", secs, fails,
	    (int)(r->s->call_socket ? 4 : 3), counts, r->why[0] ? ": " : "", r->why);
}

/* vk-call answers on its socket (a handler's first request must not find it missing). */
static int
call_answers(const char *path)
{
	struct sockaddr_un a;
	int fd, ok;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a.sun_path))
		return 0;
	strcpy(a.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int
wait_call(struct run *r)
{
	int round[STAGE_N] = { 0 };

	while (!call_answers(r->s->call_socket)) {
		reap(r, round);
		if (r->st[STAGE_CALL].ended) {
			log_err("vk-call did not start on %s (see above)", r->s->call_socket);
			return -1;
		}
		poll(NULL, 0, CALL_WAIT_MS);
	}
	return 0;
}

/* Every started stage ends: what drains, drains; then the rest is killed. */
static void
stop_all(struct run *r)
{
	int i;

	for (i = 0; i < STAGE_N; i++)
		tell(r, i, SIGTERM);
	for (i = 0; i < STAGE_N; i++)
		if (r->st[i].pid > 0 && !r->st[i].ended)
			waitpid(r->st[i].pid, NULL, 0);
}

/* The stages, started in order: the end of the pipe first, the source last. */
static int
start_all(struct run *r)
{
	const struct settings *s = r->s;
	int tokfd = -1, secfd = -1, rc = -1;

	/* vk-route first, before the token's descriptor exists: it and its
	 * handlers inherit neither the variable nor the descriptor. */
	if (start(r, STAGE_ROUTE, r->events, NULL, -1, -1) == -1)
		goto out;
	if (s->token && (tokfd = secret_fd("token", s->token)) == -1)
		goto out;
	if (s->call_socket) {
		if (start(r, STAGE_CALL, "/dev/null", NULL, tokfd, -1) == -1 ||
		    wait_call(r) == -1)
			goto out;
	}
	if (start(r, STAGE_NORMALIZE, r->raw, r->events, tokfd, -1) == -1)
		goto out;
	if (s->source == SOURCE_CALLBACK) {
		/* vk-callback needs no token; the secret for it alone */
		if (s->secret && (secfd = secret_fd("callback secret", s->secret)) == -1)
			goto out;
		if (start(r, STAGE_SOURCE, "/dev/null", r->raw, -1, secfd) == -1)
			goto out;
	} else if (start(r, STAGE_SOURCE, "/dev/null", r->raw, tokfd, -1) == -1)
		goto out;
	rc = 0;
out:
	if (tokfd != -1)
		close(tokfd);
	if (secfd != -1)
		close(secfd);
	return rc;
}

int
run_pipeline(const struct settings *s, int rules)
{
	struct run r;
	struct signalfd_siginfo si;
	struct pollfd pfd;
	sigset_t sigs;
	double t0;
	int round[STAGE_N], n, status;
	char tmpl[PATH_MAX - 64];

	memset(&r, 0, sizeof(r));
	r.s = s;
	r.sfd = -1;
	if (mkdir(s->state_dir, 0777) == -1 && errno != EEXIST) {
		char *p = strdup(s->state_dir), *q;	/* mkdir -p */

		for (q = p ? p + 1 : NULL; q && *q; q++)
			if (*q == '/') {
				*q = '\0';
				mkdir(p, 0777);
				*q = '/';
			}
		free(p);
		if (mkdir(s->state_dir, 0777) == -1 && errno != EEXIST) {
			log_err("cannot make the state directory %s", s->state_dir);
			return EXIT_CONFIG;
		}
	}
	/* Signals from here on come through the signalfd, and only as the
	 * loop reads them: a stop during start-up is acted on once all runs. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	if ((r.sfd = signalfd(-1, &sigs, SFD_CLOEXEC)) == -1) {
		log_err("signalfd: %s", strerror(errno));
		return EXIT_PARTIAL;
	}
	if (strlen(s->run_base) + sizeof("/vkpipe.XXXXXX") > sizeof(r.dir)) {
		log_err("cannot make a temporary directory: %s is too long a name", s->run_base);
		close(r.sfd);
		return EXIT_PARTIAL;
	}
	snprintf(tmpl, sizeof(tmpl), "%s/vkpipe.XXXXXX", s->run_base);
	if (mkdtemp(tmpl) == NULL) {
		log_err("cannot make a temporary directory");
		close(r.sfd);
		return EXIT_PARTIAL;
	}
	memcpy(r.dir, tmpl, sizeof(r.dir));
	path_in(r.raw, r.dir, "raw");
	path_in(r.events, r.dir, "events");
	path_in(r.ack, r.dir, "ack");
	if (mkfifo(r.raw, 0600) == -1 || mkfifo(r.events, 0600) == -1 ||
	    mkfifo(r.ack, 0600) == -1) {
		log_err("cannot make FIFOs in %s", r.dir);
		remove_run_dir(&r);
		close(r.sfd);
		return EXIT_PARTIAL;
	}
	if (s->rules)
		snprintf(r.rules, sizeof(r.rules), "%s", s->rules);
	else if (s->builtin) {
		/* a file, which SIGHUP reloads as any rules file */
		int fd;
		size_t len = strlen(s->builtin);

		path_in(r.rules, r.dir, "rules.conf");
		if ((fd = open(r.rules, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1 ||
		    file_write_all(fd, s->builtin, len) == -1 || close(fd) == -1) {
			log_err("cannot write %s", r.rules);
			remove_run_dir(&r);
			close(r.sfd);
			return EXIT_PARTIAL;
		}
	}
	for (n = 0; n < STAGE_N; n++) {
		char file[64];

		snprintf(file, sizeof(file), "%s.prom", stage_prog(s, n));
		path_in(r.prom[n], r.dir, file);
	}
	if (s->source == SOURCE_CALLBACK)
		snprintf(r.mark, sizeof(r.mark), "%s/vk-callback.alive", s->state_dir);
	else
		snprintf(r.mark, sizeof(r.mark), "%s/vk-poll.ts", s->state_dir);

	t0 = mono_now();
	if (start_all(&r) == -1) {
		stop_all(&r);
		remove_run_dir(&r);
		close(r.sfd);
		return EXIT_PARTIAL;
	}
	watchdog_init(&r.wd, r.mark);
	start_line(&r, rules);
	if (s->metrics)	/* the first merge once the stages wrote their first files */
		r.metrics_next = mono_ms() + 1000;

	while (!all_ended(&r)) {
		memset(round, 0, sizeof(round));
		pfd.fd = r.sfd;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, metrics_timeout(&r, watchdog_timeout(&r.wd)));
		if (n == -1 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			break;
		}
		while (n > 0 && read(r.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if ((int)si.ssi_signo != SIGCHLD)
				on_signal(&r, (int)si.ssi_signo);
			/* no more queued: the signalfd would block */
			pfd.revents = 0;
			if (poll(&pfd, 1, 0) != 1)
				break;
		}
		reap(&r, round);
		judge(&r, round);
		if (r.st[STAGE_SOURCE].ended)
			stopping(&r);
		else
			watchdog_check(&r.wd, name(&r, STAGE_SOURCE));
		if (s->metrics && mono_ms() >= r.metrics_next)
			metrics_merge_all(&r);
	}
	stopping(&r);
	stop_all(&r);
	metrics_merge_all(&r);	/* what the stages wrote at their exit */
	status = r.status > 125 ? EXIT_PARTIAL : r.status;
	stop_line(&r, mono_now() - t0);
	remove_run_dir(&r);
	close(r.sfd);
	return status;
}
