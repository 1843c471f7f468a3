/*
 * loop.h - the wait at the heart of each program's event loop.
 *
 * Each round, the program's modules add their descriptors, each with an
 * owner and a callback, and the times they must wake at; loop_wait() then
 * sleeps in ppoll(2) until a descriptor is ready, the earliest deadline
 * passes, or a signal comes, and loop_dispatch() hands each ready entry to
 * its owner. The loop never learns who is behind an entry (Redis's ae.c).
 *
 * Signals: loop_init() blocks the program's signals (tool.h's flags) for
 * good; ppoll unblocks them only while it waits. A signal that lands
 * between the check of its flag and the wait stays pending and ends the
 * wait at once, instead of going unnoticed until the timeout. A child
 * started with posix_spawn or fork must restore loop_sigmask() (the mask
 * from before loop_init) or it inherits the blocked signals.
 *
 *	loop_init(&l, TOOL_SIG_STOP | TOOL_SIG_STATS);
 *	while (!tool_stop) {
 *		loop_begin(&l);
 *		loop_add(&l, fd, POLLIN, on_input, ctx);
 *		loop_deadline(&l, retry_at, now);
 *		if (loop_wait(&l) > 0)
 *			loop_dispatch(&l);
 *	}
 *	loop_free(&l);
 */
#ifndef VKPIPE_LOOP_H
#define VKPIPE_LOOP_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>

typedef void loop_fn(void *owner, int fd, short revents);

typedef struct loop {
	struct pollfd	*pfd;
	struct loop_entry {
		loop_fn	*fn;	/* NULL: the owner looks at the revents itself */
		void	*owner;
	} *ent;
	size_t		 n, cap;
	long		 timeout_ms;	/* the earliest wake-up of this round; -1: none */
	sigset_t	 wait_mask;	/* while waiting: the old mask, the signals open */
	sigset_t	 old_mask;
	int		 blocked;	/* loop_init ran: loop_free restores old_mask */
} loop;

#define LOOP_INIT { 0 }

/* Block the signals of tool_sigset(sigs) from now on except in loop_wait. */
void	loop_init(loop *l, int sigs);
/* A new round: no entries, no deadline. */
void	loop_begin(loop *l);
/*
 * Add fd (fd -1: a place that ppoll ignores) for events; fn(owner, fd,
 * revents) is called by loop_dispatch when it is ready. Returns its index.
 */
size_t	loop_add(loop *l, int fd, short events, loop_fn *fn, void *owner);
/*
 * Room for n entries at the end, to be filled by a module that builds its
 * own pollfd array (then loop_commit(l, used)). The owners stay NULL.
 */
struct pollfd *loop_reserve(loop *l, size_t n);
void	loop_commit(loop *l, size_t used);
/* Wake within ms milliseconds at the latest (the earliest asked wins; < 0: no limit). */
void	loop_timeout(loop *l, long ms);
/* Wake at mono time at (mono.h), now being mono_now(). */
void	loop_deadline(loop *l, double at, double now);
/*
 * Wait (ppoll, the signals open only here). Returns the number of ready
 * entries, 0 at the deadline, -1 with errno (EINTR: a signal came; the
 * revents are then all 0).
 */
int	loop_wait(loop *l);
/*
 * Take the signals pending now (their handlers run): call it after a wait
 * that returned ready entries. Such a wait leaves a signal that came
 * meanwhile pending (the old mask is back before it could be delivered),
 * and an fd that is always ready would keep it waiting for ever.
 */
void	loop_signals(loop *l);
/* The ready entries' callbacks, in the order they were added. */
void	loop_dispatch(loop *l);
/* The revents of entry i after loop_wait. */
static inline short
loop_revents(const loop *l, size_t i)
{
	return l->pfd[i].revents;
}
/* The signal mask from before loop_init: for children. */
const sigset_t *loop_sigmask(const loop *l);
/* Free the set and restore the signal mask (a signal pending now is handled). */
void	loop_free(loop *l);

#endif
