/*
 * amqp_conn.h - an amqp:// destination's connection to the broker, run in a
 * thread of its own (amqp_conn.c); dest_amqp.c is the kind, in the loop's
 * thread. The two share struct amqpd: the loop hands lines over in `in`,
 * the thread gives back one outcome per line, in order, in `out`.
 */
#ifndef VKROUTE_AMQP_CONN_H
#define VKROUTE_AMQP_CONN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <amqp.h>

#include "buf.h"

/* What the thread reports about each line, in order (one byte each, then a reason). */
#define OUT_OK		'+'
#define OUT_REFUSED	'-'

struct flight;			/* a message published, not yet decided (amqp_conn.c) */

struct amqpd {
	/* the destination, fixed at init */
	int	 tls;
	char	*host, *user, *pass, *vhost;
	int	 port;
	char	*exchange, *key;	/* /queue/NAME: exchange "", key NAME */
	size_t	 exlen, keylen;
	int	 queue;			/* declare key as a durable queue */

	/* the loop's side */
	int	 tfd;			/* the thread's end of the socketpair */
	pthread_t th;
	int	 running;
	size_t	 handed, hbytes;	/* lines (bytes) given to the thread, undecided */

	/* shared with the thread, under mu */
	pthread_mutex_t mu;
	buf	 in;			/* lines to publish: event_id, NUL, line, '\n' */
	buf	 out;			/* outcomes */
	int	 up;			/* the channel is ready */
	int	 gone;			/* the connection ended: why says why */
	int	 stop;			/* the loop wants the thread to end */
	int	 sockfd;		/* the broker's socket, -1 */
	char	 why[256];

	/* the thread's own */
	amqp_connection_state_t conn;
	amqp_channel_t ch;
	buf	 todo;			/* lines taken from in, not published yet */
	size_t	 todo_off;
	buf	 fl;			/* the lines in flight, oldest first */
	size_t	 fl_off;
	struct flight *f;		/* their states, a ring */
	size_t	 fhead, fn, fcap;
	uint64_t next_tag;
	int	 probe;			/* after a channel error: one at a time */
	char	 declare_err[200];	/* the queue could not be declared: why */
	char	 cherr[320];		/* the last channel error */
	buf	 res;			/* outcomes being gathered */
};

/* The thread: connect, then publish what comes in `in` until stop or the
 * connection ends (gone, why). arg: the struct amqpd. */
void	*amqp_conn_run(void *arg);
/* Say "look" on one end of the socketpair; read every such word. */
void	 amqp_poke(int fd);
void	 amqp_drain_pokes(int fd);

#endif
