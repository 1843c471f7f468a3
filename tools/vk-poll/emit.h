/* emit.h - what vk-poll writes besides updates (compact.h): gap markers. */
#ifndef VKPOLL_EMIT_H
#define VKPOLL_EMIT_H

#include <stddef.h>

#include "buf.h"

/*
 * Append a gap marker line (with its newline): from and to are raw JSON
 * tokens (a quoted string or a number), NULL for null.
 */
void	emit_gap(buf *b, const char *reason, const char *from, const char *to);

#endif
