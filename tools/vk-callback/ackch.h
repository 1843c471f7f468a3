/*
 * ackch.h - vk-callback --ack PATH: the acknowledgement stream, read.
 *
 * vk-route --ack PATH writes, in pipeline order, the event_id of each
 * Event it has finished with, one a line (the format vk-poll reads). Since
 * the pipeline keeps order, an ack says that its event and every line
 * written before it are done. PATH is a FIFO, opened without blocking (no
 * writer needed yet) and reopened when its writer goes away, ready for the
 * writer's restart; a regular file is read like tail -f (for tests).
 */
#ifndef VKCALLBACK_ACKCH_H
#define VKCALLBACK_ACKCH_H

#include <stddef.h>

#include "buf.h"

#define ACKCH_MAX_LINE	1024	/* an event_id is 40 hex digits */

typedef struct ackch {
	const char *path;
	int	 fd;
	int	 fifo;
	int	 skip;		/* discarding the rest of an overlong line */
	buf	 part;		/* a line not yet ended */
	unsigned long long lines, toolong;
} ackch;

/* 0, or -1 with err set. */
int	ackch_open(ackch *a, const char *path, char *err, size_t errlen);
/* Read what is there; each complete line (no newline, no CR) goes to fn. */
void	ackch_read(ackch *a, void (*fn)(void *arg, const char *id, size_t n), void *arg);
void	ackch_close(ackch *a);

#endif
