/*
 * ackch.h - vk-callback --ack PATH: where the acknowledgements come from.
 *
 * The lines are common/ack.h's (the stream vk-route --ack writes and
 * vk-poll reads). PATH is a FIFO, opened without blocking (no writer
 * needed yet) and reopened when its writer goes away, ready for the
 * writer's restart; a regular file is read like tail -f (for tests).
 */
#ifndef VKCALLBACK_ACKCH_H
#define VKCALLBACK_ACKCH_H

#include <stddef.h>

#include "ack.h"

typedef struct ackch {
	const char *path;
	int	 fd;
	int	 fifo;
	ack_reader rd;
} ackch;

/* 0, or -1 with err set. */
int	ackch_open(ackch *a, const char *path, char *err, size_t errlen);
/* Read what is there; fn gets each id. */
void	ackch_read(ackch *a, ack_id_fn *fn, void *arg);
void	ackch_close(ackch *a);

#endif
