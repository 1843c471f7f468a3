/* spawn.c - fork and exec one program, its descriptors set in the child. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"

/* fd onto target: dup2, or clearing close-on-exec when they are one. */
static int
place(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target) == -1 ? -1 : 0;
}

static int
open_onto(const char *path, int flags, int target)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd == -1) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (place(fd, target) == -1)
		return -1;
	if (fd != target)
		close(fd);
	return 0;
}

static void
child(char *const argv[], const struct spawn *sp, pid_t parent)
{
	struct sigaction sa;
	sigset_t none;
	int i, moved[SPAWN_FDS];

	/* vkpipe's signal set-up is not the program's */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = sp->detach ? SIG_IGN : SIG_DFL;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (sp->detach) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)	/* vkpipe died before that */
			_exit(127);
		setsid();
	}
	/* systemd's channel is vkpipe's alone (NotifyAccess=main) */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	for (i = 0; i < sp->nenv; i++) {
		if (sp->env_value[i])
			setenv(sp->env_name[i], sp->env_value[i], 1);
		else
			unsetenv(sp->env_name[i]);
	}
	/* The passed descriptors out of the way of 0, 1, 2 first. */
	for (i = 0; i < sp->nfd; i++)
		if ((moved[i] = fcntl(sp->from[i], F_DUPFD_CLOEXEC, 10)) == -1)
			_exit(127);
	if (sp->err_fd != -1 && place(sp->err_fd, STDERR_FILENO) == -1)
		_exit(127);
	if (sp->in && open_onto(sp->in, O_RDONLY, STDIN_FILENO) == -1)
		_exit(127);
	if (sp->out && open_onto(sp->out, O_WRONLY, STDOUT_FILENO) == -1)
		_exit(127);
	for (i = 0; i < sp->nfd; i++)
		if (place(moved[i], sp->to[i]) == -1)
			_exit(127);
	execvp(argv[0], argv);
	log_err("cannot run %s: %s", argv[0], strerror(errno));
	_exit(127);
}

pid_t
spawn_run(char *const argv[], const struct spawn *sp)
{
	pid_t parent = getpid(), pid;

	fflush(stderr);
	if ((pid = fork()) == 0)
		child(argv, sp, parent);
	return pid;
}
