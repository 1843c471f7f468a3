/*
 * jsonesc.h - one backslash escape of validated JSON text, decoded: for
 * jsonv.c, which unescapes strings, and jsonw.c, which writes them again
 * canonically straight from their escaped text. Internal to common/json*.c.
 */
#ifndef VKPIPE_JSONESC_H
#define VKPIPE_JSONESC_H

#include <stddef.h>

static inline unsigned
json_hex4(const char *s)
{
	unsigned v = 0;
	int k;

	for (k = 0; k < 4; k++) {
		unsigned char c = (unsigned char)s[k];
		v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/*
 * The escape at s (s[0] is its backslash), of the n bytes left in its
 * string: its code point in *cp, a surrogate pair as one and a lone
 * surrogate as U+FFFD. Returns its length, or 0 if the string ends inside
 * it (never in validated text).
 */
static inline size_t
json_escape(const char *s, size_t n, unsigned *cp)
{
	unsigned c, lo;

	if (n < 2)
		return 0;
	switch (s[1]) {
	case 'b': *cp = '\b'; return 2;
	case 'f': *cp = '\f'; return 2;
	case 'n': *cp = '\n'; return 2;
	case 'r': *cp = '\r'; return 2;
	case 't': *cp = '\t'; return 2;
	case 'u':
		break;
	default:	/* " \ / */
		*cp = (unsigned char)s[1];
		return 2;
	}
	if (n < 6)
		return 0;
	c = json_hex4(s + 2);
	if (c >= 0xD800 && c <= 0xDBFF && n >= 12 && s[6] == '\\' && s[7] == 'u' &&
	    (lo = json_hex4(s + 8)) >= 0xDC00 && lo <= 0xDFFF) {
		*cp = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
		return 12;
	}
	*cp = c >= 0xD800 && c <= 0xDFFF ? 0xFFFD : c;
	return 6;
}

/* Code point cp (no surrogate) as UTF-8 at u: its length, 1 to 4. */
static inline size_t
json_utf8(unsigned cp, char *u)
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	u[0] = (char)(0xF0 | cp >> 18);
	u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	u[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

#endif
