/* check.c - the stages' own --check, run as the run would start them. */
#define _GNU_SOURCE	/* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "file.h"
#include "log.h"
#include "spawn.h"
#include "stage.h"
#include "tool.h"

#define RULES_FD	6	/* the built-in rules, as /dev/fd/6 */

static int
wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * vk-route's check says "vk-route: N rules OK" with -v: that count is for
 * vkpipe's start line; every other line goes on to stderr as it came.
 */
static void
relay(int fd, int *rules)
{
	buf b = BUF_INIT;
	char chunk[4096], *nl, *line;
	ssize_t r;
	int n;

	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r > 0)
			buf_put(&b, chunk, (size_t)r);
		line = b.p;
		while (b.len && (nl = memchr(line, '\n', b.len - (size_t)(line - b.p))) != NULL) {
			char end;

			*nl = '\0';
			if (sscanf(line, "vk-route: %d rule%*[s] OK%c", &n, &end) == 1 ||
			    sscanf(line, "vk-route: %d rule OK%c", &n, &end) == 1)
				*rules = n;
			else
				fprintf(stderr, "%s%s\n", log_journal ? "<4>" : "", line);
			line = nl + 1;
		}
		if (b.len) {
			size_t rest = b.len - (size_t)(line - b.p);

			memmove(b.p, line, rest);
			b.len = rest;
		}
		if (r <= 0)
			break;
	}
	if (b.len)
		fprintf(stderr, "%.*s\n", (int)b.len, b.p);
	fflush(stderr);
	buf_free(&b);
}

int
check_stage(const struct settings *s, enum stage_id id, int *rules)
{
	struct stage_paths p;
	struct spawn sp;
	char ack[4096], **argv;
	int pfd[2] = { -1, -1 }, rfd = -1, st;
	pid_t pid;

	memset(&p, 0, sizeof(p));
	memset(&sp, 0, sizeof(sp));
	/* the run directory's name only: nothing is made */
	snprintf(ack, sizeof(ack), "%s/vkpipe.run/ack", s->run_base);
	p.ack = ack;
	p.token_file = s->token_file;
	p.secret_file = s->secret_file;
	p.rules = s->rules;
	sp.out = "/dev/null";
	sp.err_fd = -1;
	/* the token only in its environment: a check writes nothing */
	sp.env_name[0] = "VK_TOKEN";
	sp.env_value[0] = s->token;
	sp.env_name[1] = "VK_CALLBACK_SECRET";
	sp.env_value[1] = s->secret;
	sp.nenv = 2;
	if (id == STAGE_ROUTE) {
		if (!s->rules && s->builtin) {
			/* Not in vk-route's argv: the URLs may hold a password. */
			if ((rfd = memfd_create("vkpipe-rules", MFD_CLOEXEC)) == -1 ||
			    file_write_all(rfd, s->builtin, strlen(s->builtin)) == -1 ||
			    lseek(rfd, 0, SEEK_SET) == -1) {
				log_err("cannot hold the built-in rules: %s", strerror(errno));
				return EXIT_CONFIG;
			}
			sp.from[0] = rfd;
			sp.to[0] = RULES_FD;
			sp.nfd = 1;
			p.rules = "/dev/fd/6";
		}
		if (pipe2(pfd, O_CLOEXEC) == 0)
			sp.err_fd = pfd[1];
	}
	argv = stage_argv(s, id, &p, "--check");
	if (id == STAGE_ROUTE && pfd[1] != -1) {
		/* -v: its count of rules, for the start line */
		size_t n;

		for (n = 0; argv[n]; n++)
			;
		argv = xrealloc(argv, (n + 2) * sizeof(*argv));
		memmove(argv + 2, argv + 1, n * sizeof(*argv));
		argv[1] = xstrdup("-v");
	}
	pid = spawn_run(argv, &sp);
	stage_argv_free(argv);
	if (pfd[1] != -1)
		close(pfd[1]);
	if (rfd != -1)
		close(rfd);
	if (pid == -1) {
		log_err("cannot start %s: %s", stage_prog(s, id), strerror(errno));
		if (pfd[0] != -1)
			close(pfd[0]);
		return EXIT_CONFIG;
	}
	if (pfd[0] != -1) {
		relay(pfd[0], rules);
		close(pfd[0]);
	}
	if ((st = wait_status(pid)) != 0) {
		log_err("%s does not accept its settings (see above); nothing was started "
		    "(its settings: %s)", stage_prog(s, id), stage_vars(s, id));
		return EXIT_CONFIG;
	}
	return 0;
}

int
check_stages(const struct settings *s, int *rules)
{
	static const enum stage_id order[] = { STAGE_ROUTE, STAGE_NORMALIZE, STAGE_SOURCE,
	    STAGE_CALL };
	size_t i;
	int st;

	*rules = -1;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (stage_wanted(s, order[i]) && (st = check_stage(s, order[i], rules)) != 0)
			return st;
	return 0;
}
