/* compact.c - byte-exact compaction of JSON text. */
#include <string.h>

#include "compact.h"

static int
isws(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Index one past the string that opens at s[i]. */
static size_t
string_end(const char *s, size_t i, size_t n)
{
	const char *q;
	size_t j = i + 1, k, bs;

	/* memchr to each quote, then count the backslashes before it:
	 * an even number means the quote is not escaped. */
	while ((q = memchr(s + j, '"', n - j)) != NULL) {
		k = (size_t)(q - s);
		for (bs = k; bs > i + 1 && s[bs - 1] == '\\'; bs--)
			;
		if (((k - bs) & 1) == 0)
			return k + 1;
		j = k + 1;
	}
	return n;
}

void
compact_json(buf *b, const char *s, size_t n)
{
	size_t i = 0, run = 0;

	/* VK sends compact JSON: the common case is one copy of the whole span. */
	(void)buf_grow(b, n + 1);	/* one allocation; buf_put copes if it failed */
	while (i < n) {
		if (s[i] == '"') {
			i = string_end(s, i, n);
		} else if (isws(s[i])) {
			buf_put(b, s + run, i - run);
			while (i < n && isws(s[i]))
				i++;
			run = i;
		} else {
			i++;
		}
	}
	buf_put(b, s + run, n - run);
}
