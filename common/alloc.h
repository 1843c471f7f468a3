/*
 * alloc.h - the one out-of-memory policy: say so and abort.
 *
 * Every tool bounds what it holds (line lengths, windows, queues), so an
 * allocation that fails means the machine is out of memory, which no
 * caller can repair and no error path could report through. The x*
 * functions never return NULL: they print "PROG: out of memory" on stderr
 * and abort(), which leaves a core for the operator and an exit status the
 * supervisor restarts on. This is the one exception to "libraries never
 * exit"; a size that hostile input chooses is checked before allocating,
 * never left to this.
 */
#ifndef VKPIPE_ALLOC_H
#define VKPIPE_ALLOC_H

#include <stddef.h>

void	alloc_fail(void) __attribute__((noreturn));
void	*xmalloc(size_t n);
void	*xcalloc(size_t n, size_t size);
void	*xrealloc(void *p, size_t n);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);

#endif
