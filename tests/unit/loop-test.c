/*
 * loop-test - drives common/loop.h for tests/06-loop.bats.
 *   race       SIGTERM comes after the look at the flag, before the wait
 *              (raised while the loop holds it blocked): the wait must end
 *              at once, not after its 5 s timeout. Prints "woke" or "slept".
 *   dispatch   a pipe with a byte, another without: only the ready entry's
 *              callback runs, with its owner. Prints "ready <owner>".
 *   deadline   no entry, a deadline 200 ms on: the wait ends at it.
 *              Prints "timeout" when it ended between 150 ms and 2 s.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "mono.h"
#include "tool.h"

static void
on_ready(void *owner, int fd, short revents)
{
	(void)fd;
	(void)revents;
	printf("ready %s\n", (const char *)owner);
}

int
main(int argc, char *argv[])
{
	loop l = LOOP_INIT;
	double t0;
	int p[2], q[2], n;

	tool_init(argv[0], "usage: loop-test race | dispatch | deadline\n");
	if (argc != 2)
		usage();
	tool_signals(TOOL_SIG_STOP);
	loop_init(&l, TOOL_SIG_STOP);
	if (strcmp(argv[1], "race") == 0) {
		if (tool_stop)
			return 1;
		raise(SIGTERM);		/* blocked: pending until the wait */
		loop_begin(&l);
		loop_timeout(&l, 5000);
		t0 = mono_now();
		n = loop_wait(&l);
		puts(n == -1 && errno == EINTR && tool_stop && mono_now() - t0 < 2.5 ?
		    "woke" : "slept");
	} else if (strcmp(argv[1], "dispatch") == 0) {
		if (pipe(p) == -1 || pipe(q) == -1 || write(p[1], "x", 1) != 1)
			return 1;
		loop_begin(&l);
		loop_add(&l, q[0], POLLIN, on_ready, "q");
		loop_add(&l, p[0], POLLIN, on_ready, "p");
		loop_add(&l, -1, POLLIN, on_ready, "none");
		loop_timeout(&l, 5000);
		if (loop_wait(&l) != 1)
			return 1;
		loop_dispatch(&l);
	} else if (strcmp(argv[1], "deadline") == 0) {
		loop_begin(&l);
		t0 = mono_now();
		loop_deadline(&l, t0 + 0.2, t0);
		n = loop_wait(&l);
		t0 = mono_now() - t0;
		puts(n == 0 && t0 >= 0.15 && t0 < 2 ? "timeout" : "late or early");
	} else {
		usage();
	}
	loop_free(&l);
	return 0;
}
