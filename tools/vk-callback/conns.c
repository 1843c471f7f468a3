/* conns.c - connections reading a request: deadlines, and room for newcomers. */
#include <stdlib.h>
#include <sys/socket.h>

#include "alloc.h"
#include "conns.h"

void
conns_init(conns *c, size_t limit, double span)
{
	c->head = c->tail = NULL;
	c->open = 0;
	c->limit = limit;
	c->span = span;
	c->cut = 0;
}

static void
unlink_r(conns *c, struct rconn *r)
{
	if (!r->reading)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		c->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		c->tail = r->prev;
	r->prev = r->next = NULL;
	r->reading = 0;
}

static void
append(conns *c, struct rconn *r, double now)
{
	unlink_r(c, r);
	r->deadline = now + c->span;
	r->prev = c->tail;
	r->next = NULL;
	if (c->tail)
		c->tail->next = r;
	else
		c->head = r;
	c->tail = r;
	r->reading = 1;
}

/*
 * Cut: libmicrohttpd sees the end of the stream on its next turn and closes
 * the connection itself (a request begun is completed as failed), so its
 * state stays its own.
 */
static void
cut(conns *c, struct rconn *r)
{
	unlink_r(c, r);
	shutdown(r->fd, SHUT_RDWR);
	r->cut = 1;
	c->cut++;
}

struct rconn *
conns_open(conns *c, int fd, double now)
{
	struct rconn *r = xcalloc(1, sizeof(*r));

	r->fd = fd;
	c->open++;
	if (c->open > c->limit && c->head)
		cut(c, c->head);
	append(c, r, now);
	return r;
}

void
conns_close(conns *c, struct rconn *r)
{
	unlink_r(c, r);
	c->open--;
	free(r);
}

void
conns_read(conns *c, struct rconn *r)
{
	unlink_r(c, r);
}

void
conns_answered(conns *c, struct rconn *r, double now)
{
	if (!r->cut)
		append(c, r, now);
}

size_t
conns_expire(conns *c, double now)
{
	size_t n = 0;

	while (c->head && c->head->deadline <= now) {
		cut(c, c->head);
		n++;
	}
	return n;
}
