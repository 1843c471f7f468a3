/* emit.h - what vk-poll writes: updates as VK sent them, and gap markers. */
#ifndef VKPOLL_EMIT_H
#define VKPOLL_EMIT_H

#include <stddef.h>

#include "buf.h"

/*
 * Append the JSON text s[0..n) to b with the white space outside strings
 * removed; every other byte is copied as it is, so numbers, escapes and
 * key order stay exactly as VK sent them. s must be valid JSON.
 */
void	emit_compact(buf *b, const char *s, size_t n);
/*
 * Append a gap marker line (with its newline): from and to are raw JSON
 * tokens (a quoted string or a number), NULL for null.
 */
void	emit_gap(buf *b, const char *reason, const char *from, const char *to);

#endif
