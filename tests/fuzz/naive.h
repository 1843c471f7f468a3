/*
 * naive.h - the fuzz harnesses' reference for compaction (vk-poll's and
 * vk-callback's lines are VK's bytes with white space outside strings
 * dropped): the plainest code that does it, to hold the real one to.
 */
#ifndef VKPIPE_FUZZ_NAIVE_H
#define VKPIPE_FUZZ_NAIVE_H

#include "buf.h"

/* White space outside strings dropped, one byte at a time: the reference. */
static inline void
naive_compact(buf *b, const char *s, size_t n)
{
	int str = 0, esc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				str = 0;
		} else if (c == '"') {
			str = 1;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			continue;
		}
		buf_putc(b, c);
	}
}

#endif
