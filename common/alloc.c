/* alloc.c - allocation that reports and aborts when memory runs out. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

void
alloc_fail(void)
{
	log_warn("out of memory");
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		alloc_fail();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		alloc_fail();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		alloc_fail();
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		alloc_fail();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		alloc_fail();
	return p;
}
