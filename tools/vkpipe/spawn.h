/*
 * spawn.h - start one program with its descriptors and environment set.
 *
 * Descriptors are opened in the child, so that opening a FIFO (which waits
 * for its other end) holds up that child alone. vkpipe's own descriptors
 * are all close-on-exec; what a child gets is what is listed here.
 */
#ifndef VKPIPE_SPAWN_H
#define VKPIPE_SPAWN_H

#include <sys/types.h>

#define SPAWN_FDS	3

struct spawn {
	const char	*in;		/* stdin's path, or NULL: vkpipe's own */
	const char	*out;		/* stdout's path, or NULL: vkpipe's own */
	int		 err_fd;	/* stderr, or -1: vkpipe's own */
	/* descriptors passed on: from[i] becomes to[i] in the child */
	int		 from[SPAWN_FDS], to[SPAWN_FDS], nfd;
	/* variables set in the child only ("NAME", value); value NULL: unset */
	const char	*env_name[2], *env_value[2];
	int		 nenv;
	/*
	 * A stage of the run: in a session of its own (a terminal's ^C or
	 * hang-up reaches vkpipe alone), SIGTERM when vkpipe dies (even by
	 * SIGKILL), SIGHUP and SIGUSR1 ignored until the program sets its
	 * handlers (an early one is lost, but cannot kill a stage starting).
	 */
	int		 detach;
};

/*
 * Start argv[0] (looked up in PATH) as sp says. Returns its pid, or -1
 * with errno set when fork itself failed; a child that cannot set up or
 * exec says why on stderr and exits 127.
 */
pid_t	spawn_run(char *const argv[], const struct spawn *sp);

#endif
