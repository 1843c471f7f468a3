/*
 * conns.h - the connections still reading a request: a deadline for the
 * whole request, and room made for a newcomer when the table is full.
 *
 * libmicrohttpd's timeout counts idleness, and a client trickling one
 * header byte at a time is never idle: 1100 of them held every connection
 * slot, and VK's requests waited until the attacker stopped. So each
 * connection has REQUEST_S (conns_init) from its start, or from its last
 * answer on a keep-alive connection, to send a whole request; and when more
 * than `limit` connections are open, the one reading longest is cut for
 * the newcomer. A connection whose request was read (answered, or held for
 * its line) has no deadline here: held ones have their own.
 *
 * The connections reading are a list in deadline order: every deadline is
 * set as now + the same span, so appending keeps the order, and both the
 * earliest deadline and the longest reader are at its head.
 */
#ifndef VKCALLBACK_CONNS_H
#define VKCALLBACK_CONNS_H

#include <stddef.h>

struct rconn {
	struct rconn *prev, *next;
	double	 deadline;
	int	 fd;
	int	 reading;	/* on the list */
	int	 cut;		/* shut down: never on the list again */
};

typedef struct conns {
	struct rconn *head, *tail;	/* reading, earliest deadline first */
	size_t	 open;		/* connections open, reading or not */
	size_t	 limit;		/* more than this open: cut the longest reader */
	double	 span;		/* seconds for a whole request */
	unsigned long long cut;	/* connections cut so far */
} conns;

void	conns_init(conns *c, size_t limit, double span);
/* A new connection on fd, reading its first request; may cut the longest reader. */
struct rconn *conns_open(conns *c, int fd, double now);
/* It is gone (the struct is freed). */
void	conns_close(conns *c, struct rconn *r);
/* Its request was read: no deadline until it reads the next. */
void	conns_read(conns *c, struct rconn *r);
/* Answered: the next request on it has from now on. */
void	conns_answered(conns *c, struct rconn *r, double now);
/* Cut the connections past their deadline; the number cut. */
size_t	conns_expire(conns *c, double now);
/* The earliest deadline, or 0 when none reads. */
static inline double conns_next(const conns *c) { return c->head ? c->head->deadline : 0; }

#endif
