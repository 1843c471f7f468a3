/* loop.c - one round of an event loop: the pollfd set, the deadline, the wait. */
#define _GNU_SOURCE	/* ppoll */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "loop.h"
#include "tool.h"

void
loop_init(loop *l, int sigs)
{
	sigset_t block;
	int s;

	l->pfd = NULL;
	l->ent = NULL;
	l->n = l->cap = 0;
	l->timeout_ms = -1;
	tool_sigset(sigs, &block);
	sigprocmask(SIG_BLOCK, &block, &l->old_mask);
	l->wait_mask = l->old_mask;
	for (s = 1; s < NSIG; s++)
		if (sigismember(&block, s) == 1)
			sigdelset(&l->wait_mask, s);
	l->blocked = 1;
}

void
loop_begin(loop *l)
{
	l->n = 0;
	l->timeout_ms = -1;
}

static void
room(loop *l, size_t n)
{
	size_t cap;

	if (l->cap - l->n >= n)
		return;
	cap = l->cap ? l->cap : 8;
	while (cap - l->n < n)
		cap *= 2;
	l->pfd = xrealloc(l->pfd, cap * sizeof(*l->pfd));
	l->ent = xrealloc(l->ent, cap * sizeof(*l->ent));
	l->cap = cap;
}

size_t
loop_add(loop *l, int fd, short events, loop_fn *fn, void *owner)
{
	room(l, 1);
	l->pfd[l->n] = (struct pollfd){ .fd = fd, .events = events };
	l->ent[l->n] = (struct loop_entry){ fn, owner };
	return l->n++;
}

struct pollfd *
loop_reserve(loop *l, size_t n)
{
	room(l, n);
	return l->pfd + l->n;
}

void
loop_commit(loop *l, size_t used)
{
	size_t i;

	for (i = l->n; i < l->n + used; i++)
		l->ent[i] = (struct loop_entry){ NULL, NULL };
	l->n += used;
}

void
loop_timeout(loop *l, long ms)
{
	if (ms >= 0 && (l->timeout_ms < 0 || ms < l->timeout_ms))
		l->timeout_ms = ms;
}

void
loop_deadline(loop *l, double at, double now)
{
	double ms = (at - now) * 1000.0;

	loop_timeout(l, ms <= 0 ? 0 : ms > 86400000.0 ? 86400000L : (long)ms + 1);
}

int
loop_wait(loop *l)
{
	struct timespec ts, *tp = NULL;
	size_t i;
	int n;

	for (i = 0; i < l->n; i++)
		l->pfd[i].revents = 0;
	if (l->timeout_ms >= 0) {
		ts.tv_sec = l->timeout_ms / 1000;
		ts.tv_nsec = (l->timeout_ms % 1000) * 1000000L;
		tp = &ts;
	}
	n = ppoll(l->pfd, (nfds_t)l->n, tp, &l->wait_mask);
	if (n == -1)
		for (i = 0; i < l->n; i++)
			l->pfd[i].revents = 0;
	return n;
}

void
loop_signals(loop *l)
{
	sigset_t pend, old;

	if (sigpending(&pend) == -1 || sigisemptyset(&pend))
		return;
	sigprocmask(SIG_SETMASK, &l->wait_mask, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

void
loop_dispatch(loop *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->pfd[i].revents && l->ent[i].fn != NULL)
			l->ent[i].fn(l->ent[i].owner, l->pfd[i].fd, l->pfd[i].revents);
}

const sigset_t *
loop_sigmask(const loop *l)
{
	return &l->old_mask;
}

void
loop_free(loop *l)
{
	free(l->pfd);
	free(l->ent);
	l->pfd = NULL;
	l->ent = NULL;
	l->n = l->cap = 0;
	if (l->blocked)
		sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
	l->blocked = 0;
}
