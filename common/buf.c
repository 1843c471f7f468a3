/* buf.c - growable byte buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"

int
buf_grow(buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->cap - b->len >= n)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < n) {
		if (cap > (size_t)-1 / 2)
			return -1;
		cap *= 2;
	}
	if ((p = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void
buf_need(buf *b, size_t n)
{
	if (buf_grow(b, n) == -1)
		alloc_fail();
}

void
buf_put_slow(buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_need(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
buf_putc_slow(buf *b, char c)
{
	if (b->len == b->cap)
		buf_need(b, 1);
	b->p[b->len++] = c;
}

void
buf_puts(buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

char *
buf_cstr(buf *b)
{
	buf_need(b, 1);
	b->p[b->len] = '\0';
	return b->p;
}

void
buf_free(buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
