/*
 * compact.h - JSON text with the white space outside strings removed.
 *
 * What vk-poll and vk-callback write for each update: VK's bytes, so that
 * numbers, escapes and key order stay exactly as VK sent them, without the
 * indentation a server may add. Both programs must write the same line for
 * the same update, hence one function.
 */
#ifndef VKPIPE_COMPACT_H
#define VKPIPE_COMPACT_H

#include <stddef.h>

#include "buf.h"

/* Append s[0..n) (valid JSON, or a piece of it that cuts no string) to b, compacted. */
void	compact_json(buf *b, const char *s, size_t n);

#endif
