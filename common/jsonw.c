/* jsonw.c - compact JSON writer that always emits valid UTF-8. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "alloc.h"
#include "jsonesc.h"
#include "jsonw.h"

static const char hexdig[] = "0123456789abcdef";

/* 1 for bytes that end a plain ASCII run: '"', '\\', controls, non-ASCII. */
static unsigned char special[256];

static void
init_special(void)
{
	int c;

	for (c = 0; c < 256; c++)
		special[c] = (c < 0x20 || c == '"' || c == '\\' || c >= 0x80);
}

size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)	/* overlong */
			return 0;
		if (c == 0xED && s[1] >= 0xA0)	/* UTF-16 surrogate */
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)	/* overlong */
			return 0;
		if (c == 0xF4 && s[1] >= 0x90)	/* beyond U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

/* The first byte at or after s[i] (before n) that is not plain printable ASCII. */
static size_t
ascii_run(const unsigned char *s, size_t i, size_t n)
{
#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);

	while (n - i >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		/* a quote, a backslash, a byte <= 0x1f, or one >= 0x80 (its sign bit) */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
		    _mm_cmpeq_epi8(x, bslash)), _mm_cmpeq_epi8(_mm_min_epu8(x, ctl), x));
		int bits = _mm_movemask_epi8(m) | _mm_movemask_epi8(x);

		if (bits != 0)
			return i + (size_t)__builtin_ctz((unsigned)bits);
		i += 16;
	}
#endif
	while (i < n && !special[s[i]])
		i++;
	return i;
}

/* A character below 0x20, '"' or '\\' (c), escaped at o: its length. */
static size_t
escaped(char *o, unsigned char c)
{
	o[0] = '\\';
	switch (c) {
	case '"': o[1] = '"'; return 2;
	case '\\': o[1] = '\\'; return 2;
	case '\b': o[1] = 'b'; return 2;
	case '\f': o[1] = 'f'; return 2;
	case '\n': o[1] = 'n'; return 2;
	case '\r': o[1] = 'r'; return 2;
	case '\t': o[1] = 't'; return 2;
	default:
		memcpy(o + 1, "u00", 3);
		o[4] = hexdig[c >> 4];
		o[5] = hexdig[c & 15];
		return 6;
	}
}

/*
 * The escapes at s[i] (a backslash) and those that follow it, apart at
 * most by a plain byte (the space between escaped words), written as
 * their characters would be. None takes more room written than escaped
 * (six bytes for \u0001, two for \n, at most three for \uXXXX and four
 * for a pair), so room is made once. Returns where they end.
 */
static size_t
escapes(buf *b, const unsigned char *s, size_t i, size_t n)
{
	char *o;
	unsigned cp;
	size_t k;

	if (buf_grow(b, n - i) == -1)
		alloc_fail();
	o = b->p + b->len;
	while (i < n) {
		if (s[i] != '\\') {
			if (special[s[i]] || i + 1 >= n || s[i + 1] != '\\')
				break;
			*o++ = (char)s[i++];
			continue;
		}
		if ((k = json_escape((const char *)s + i, n - i, &cp)) == 0) {
			i = n;	/* cut short: never in a validated string */
			break;
		}
		i += k;
		if (cp < 0x20 || cp == '"' || cp == '\\')
			o += escaped(o, (unsigned char)cp);
		else
			o += json_utf8(cp, o);
	}
	b->len = (size_t)(o - b->p);
	return i;
}

/*
 * The body of a string (no quotes): escapes and UTF-8 repair. With raw,
 * s is the escaped text of a validated JSON string, and each escape is
 * written as its character would be: the same bytes as unescaping it
 * first and writing that, in one pass and with no copy (an escape always
 * stands for whole UTF-8 characters, so it cannot make or break a
 * sequence of the bytes around it).
 */
static inline __attribute__((always_inline)) void
str_body(buf *b, const unsigned char *s, size_t n, int raw)
{
	size_t i = 0, run, k;
	char esc[6];

	if (!special['"'])
		init_special();
	while (i < n) {
		/* Plain ASCII and valid UTF-8 go out as they are, in one piece. */
		for (run = ascii_run(s, i, n); run < n && s[run] >= 0x80; ) {
			/* Cyrillic and emoji come in runs: no ASCII scan between */
			if (s[run] >= 0xC2 && s[run] <= 0xDF && run + 1 < n &&
			    (s[run + 1] & 0xC0) == 0x80)
				run += 2;	/* the common case, inline */
			else if ((k = utf8_len(s + run, n - run)) != 0)
				run += k;
			else
				break;
			if (run < n && s[run] < 0x80)
				run = ascii_run(s, run, n);
		}
		if (run > i)
			buf_put(b, s + i, run - i);
		i = run;
		if (i >= n)
			break;
		if (s[i] >= 0x80) {
			buf_put(b, "\xEF\xBF\xBD", 3);	/* not UTF-8 */
			i++;
		} else if (raw && s[i] == '\\') {
			i = escapes(b, s, i, n);
		} else {
			buf_put(b, esc, escaped(esc, s[i]));
			i++;
		}
	}
}

void
jw_str(buf *b, const char *s, size_t n)
{
	buf_putc(b, '"');
	str_body(b, (const unsigned char *)s, n, 0);
	buf_putc(b, '"');
}

void
jw_cstr(buf *b, const char *s)
{
	jw_str(b, s, strlen(s));
}

void
jw_int(buf *b, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	buf_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
jw_rawstr(buf *b, const char *s, size_t n, int esc, buf *scratch)
{
	(void)scratch;
	buf_putc(b, '"');
	str_body(b, (const unsigned char *)s, n, esc);
	buf_putc(b, '"');
}

void
jw_tokstr(buf *b, const json_doc *d, int i, buf *scratch)
{
	size_t n;
	const char *s = json_raw(d, i, &n);

	jw_rawstr(b, s, n, json_escaped(d, i), scratch);
}

void
jw_text(buf *b, const char *p, size_t n, buf *scratch)
{
	const char *e = p + n, *q;
	int esc;

	while (p < e) {
		switch (*p) {
		case ' ': case '\t': case '\n': case '\r':
			p++;
			break;
		case '{': case '}': case '[': case ']': case ',': case ':':
			buf_putc(b, *p++);
			break;
		case '"':
			/* validated: the closing quote is there */
			for (esc = 0, q = p + 1; *q != '"'; q++)
				if (*q == '\\')
					esc = 1, q++;
			jw_rawstr(b, p + 1, (size_t)(q - p - 1), esc, scratch);
			p = q + 1;
			break;
		default:	/* a number or a literal */
			for (q = p; q < e && *q != ',' && *q != ']' && *q != '}' && *q != ' ' &&
			    *q != '\t' && *q != '\n' && *q != '\r'; q++)
				;
			buf_put(b, p, (size_t)(q - p));
			p = q;
			break;
		}
	}
}

void
jw_value(buf *b, const json_doc *d, int i, buf *scratch)
{
	int k, n, j;
	size_t len;
	const char *s;

	switch (json_type(d, i)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		if (json_lazy(d, i)) {	/* whole: from its text, no tokens */
			s = json_raw(d, i, &len);
			jw_text(b, s, len, scratch);
			break;
		}
		n = json_size(d, i);
		buf_putc(b, json_type(d, i) == JSON_OBJECT ? '{' : '[');
		j = json_child(d, i);
		for (k = 0; k < n; k++) {
			if (k > 0)
				buf_putc(b, ',');
			if (json_type(d, i) == JSON_OBJECT) {
				jw_tokstr(b, d, j, scratch);
				buf_putc(b, ':');
				j++;
			}
			jw_value(b, d, j, scratch);
			j = json_next(d, j);
		}
		buf_putc(b, json_type(d, i) == JSON_OBJECT ? '}' : ']');
		break;
	case JSON_STRING:
		jw_tokstr(b, d, i, scratch);
		break;
	case JSON_NONE:
		jw_null(b);
		break;
	default:
		s = json_raw(d, i, &len);
		buf_put(b, s, len);
		break;
	}
}
