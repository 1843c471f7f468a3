/* buf.h - a growable byte buffer; the one allocation pattern every tool shares. */
#ifndef VKPIPE_BUF_H
#define VKPIPE_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct buf {
	char	*p;	/* bytes, not NUL-terminated unless buf_cstr() was called */
	size_t	 len;
	size_t	 cap;
} buf;

#define BUF_INIT { NULL, 0, 0 }

/* Make room for n more bytes. Returns 0, or -1 if memory ran out. */
int	buf_grow(buf *b, size_t n);
/* Append; on allocation failure the program cannot go on and aborts. */
void	buf_put_slow(buf *b, const void *p, size_t n);
void	buf_putc_slow(buf *b, char c);
static inline void
buf_put(buf *b, const void *p, size_t n)
{
	if (b->cap - b->len >= n && n > 0) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	} else {
		buf_put_slow(b, p, n);
	}
}
static inline void
buf_putc(buf *b, char c)
{
	if (b->len < b->cap)
		b->p[b->len++] = c;
	else
		buf_putc_slow(b, c);
}
void	buf_puts(buf *b, const char *s);
/* Terminate with NUL (not counted in len) and return the bytes. */
char	*buf_cstr(buf *b);
void	buf_free(buf *b);

static inline void buf_reset(buf *b) { b->len = 0; }

#endif
