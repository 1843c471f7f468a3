/* jsonv.c - values in validated JSON text: lookups by skipping, strings, numbers. */
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "jsonsimd.h"

static int
isdig(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * The first '"' or '\\' at or after p, of the text before e; the text was
 * validated, so one comes before e.
 */
static inline const char *
quote_or_escape(const char *p, const char *e)
{
	const int simd = HAVE_SIMD;

	SSE_RUN(p, e, str_stop);	/* no control bytes in validated strings */
	while (*p != '"' && *p != '\\')
		p++;
	return p;
}

/*
 * The closing quote of the string opening at p, before e. The text was
 * validated: a backslash always has its escaped byte, and the quote is there.
 */
static const char *
str_end(const char *p, const char *e)
{
	const char *q = p + 1;

	for (;;) {
		q = quote_or_escape(q, e);
		if (*q == '"')
			return q;
		q += 2;
	}
}

/* Bytes that matter when skipping a container. */
static const unsigned char structural[256] = {
	['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1,
};

/* The first of those at or after p, before e (one is: the closing bracket). */
static inline const char *
next_structural(const char *p, const char *e)
{
	const int simd = HAVE_SIMD;

	SSE_RUN(p, e, bracket_stop);
	while (!structural[(unsigned char)*p])
		p++;
	return p;
}

/* The first byte at or after p that is not a digit (one comes before e). */
static inline const char *
digit_run(const char *p, const char *e)
{
	const int simd = HAVE_SIMD;

	SSE_RUN(p, e, not_digit);
	while (isdig(*p))
		p++;
	return p;
}

/* The byte after the validated number at p, before e. */
static const char *
num_end(const char *p, const char *e)
{
	if (*p == '-')
		p++;
	p = digit_run(p, e);
	if (*p == '.')
		p = digit_run(p + 1, e);
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		p = digit_run(p, e);
	}
	return p;
}

/* Read the value at p (before e) into *v; returns the byte after it. */
static const char *
take(const char *p, const char *e, struct jv *v)
{
	const char *q;
	int depth;

	switch (*p) {
	case '"':
		q = str_end(p, e);
		v->t = JSON_STRING;
		v->p = p + 1;
		v->n = (size_t)(q - p - 1);
		return q + 1;
	case '{':
	case '[':
		v->t = *p == '{' ? JSON_OBJECT : JSON_ARRAY;
		for (q = p, depth = 0;; q++) {
			q = next_structural(q, e);
			if (*q == '"')
				q = str_end(q, e);
			else if (*q == '{' || *q == '[')
				depth++;
			else if (--depth == 0)
				break;
		}
		v->p = p;
		v->n = (size_t)(q + 1 - p);
		return q + 1;
	case 't': v->t = JSON_TRUE; v->n = 4; break;
	case 'f': v->t = JSON_FALSE; v->n = 5; break;
	case 'n': v->t = JSON_NULL; v->n = 4; break;
	default:
		v->t = JSON_NUMBER;
		v->n = (size_t)(num_end(p, e) - p);
		break;
	}
	v->p = p;
	return p + v->n;
}

static const char *
skipws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

int
jv_next(const struct jv *c, const char **cur, struct jv *out, struct jv *key)
{
	const char *p = *cur ? *cur : c->p + 1;
	const char *end = c->p + c->n - 1;	/* the closing bracket */
	const char *e = c->p + c->n;
	struct jv k;

	p = skipws(p);
	if (p >= end)
		return 0;
	if (c->t == JSON_OBJECT) {
		p = take(p, e, &k);
		if (key != NULL)
			*key = k;
		p = skipws(p) + 1;	/* ':' */
		p = skipws(p);
	}
	p = skipws(take(p, e, out));
	if (*p == ',')
		p++;
	*cur = p;
	return 1;
}

/* A raw string with an escape is longer than its value: n == klen means none. */
int
json_str_eq(const char *s, size_t n, const char *key, size_t klen)
{
	buf tmp = BUF_INIT;
	int eq;

	if (n == klen)
		return n == 0 || (s[0] == key[0] && memcmp(s, key, n) == 0 &&
		    memchr(s, '\\', n) == NULL);
	if (n < klen || memchr(s, '\\', n) == NULL)
		return 0;
	json_unescape_raw(s, n, &tmp);
	eq = tmp.len == klen && memcmp(tmp.p, key, klen) == 0;
	buf_free(&tmp);
	return eq;
}

/* Is index entry m's key the unescaped bytes key[0..klen)? */
static inline int
memb_is(const struct json_memb *m, const char *key, size_t klen)
{
	/* Most entries differ in length; a key with an escape is longer raw. */
	if (m->kn != klen && !m->esc)
		return 0;
	if (m->esc)
		return json_str_eq(m->k, m->kn, key, klen);
	return klen == 0 || (m->k[0] == key[0] && memcmp(m->k, key, klen) == 0);
}

int
json_member(const struct json_index *ix, int parent, const char *key,
    size_t klen, struct jv *v)
{
	const struct json_memb *m;
	int k, end;

	v->t = JSON_NONE;
	if (ix == NULL || ix->n < 0)
		return -2;
	if (parent < 0) {
		for (k = 0; k < ix->n && !memb_is(&ix->m[k], key, klen); k = ix->m[k].next)
			;
		end = ix->n;
	} else {
		end = ix->m[parent].next;
		for (k = parent + 1; k < end && !memb_is(&ix->m[k], key, klen); k++)
			;
	}
	if (k >= end)
		return -1;
	/* The value's extent is known: no need to skip over it. */
	m = &ix->m[k];
	v->p = m->v;
	v->n = m->vn;
	switch (*m->v) {
	case '{': v->t = JSON_OBJECT; break;
	case '[': v->t = JSON_ARRAY; break;
	case '"': v->t = JSON_STRING; v->p++; v->n -= 2; break;
	case 't': v->t = JSON_TRUE; break;
	case 'f': v->t = JSON_FALSE; break;
	case 'n': v->t = JSON_NULL; break;
	default: v->t = JSON_NUMBER; break;
	}
	return k;
}

struct jv
jv_get(const struct jv *obj, const char *key, size_t klen)
{
	struct jv v = { JSON_NONE, NULL, 0 }, k;
	const char *cur = NULL;

	if (obj->t != JSON_OBJECT)
		return v;
	while (jv_next(obj, &cur, &v, &k))
		if (json_str_eq(k.p, k.n, key, klen))
			return v;
	v.t = JSON_NONE;
	return v;
}

int
jv_len(const struct jv *c)
{
	const char *cur = NULL;
	struct jv v;
	int n = 0;

	if (c->t != JSON_ARRAY && c->t != JSON_OBJECT)
		return 0;
	while (jv_next(c, &cur, &v, NULL))
		n++;
	return n;
}

struct jv
jv_at(const struct jv *arr, long idx)
{
	struct jv v = { JSON_NONE, NULL, 0 };
	const char *cur = NULL;

	if (arr->t != JSON_ARRAY)
		return v;
	if (idx < 0)
		idx += jv_len(arr);
	if (idx < 0)
		return v;
	while (jv_next(arr, &cur, &v, NULL))
		if (idx-- == 0)
			return v;
	v.t = JSON_NONE;
	return v;
}

int
jv_int64(const struct jv *v, int64_t *out)
{
	uint64_t acc = 0, lim;
	size_t k = 0;
	int neg = 0;

	if (v->t != JSON_NUMBER)
		return -1;
	if (v->p[0] == '-')
		neg = k = 1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; k < v->n; k++) {
		unsigned d;

		if (!isdig(v->p[k]))
			return -1;	/* a fraction or an exponent */
		d = (unsigned)(v->p[k] - '0');
		if (acc > (lim - d) / 10)
			return -1;
		acc = acc * 10 + d;
	}
	*out = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) :
	    (int64_t)acc;
	return 0;
}

static unsigned
hex4(const char *s)
{
	unsigned v = 0;
	int k;

	for (k = 0; k < 4; k++) {
		unsigned char c = (unsigned char)s[k];
		v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

static void
put_utf8(buf *out, unsigned cp)
{
	char u[4];

	if (cp < 0x80) {
		buf_putc(out, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		buf_put(out, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		buf_put(out, u, 3);
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		buf_put(out, u, 4);
	}
}

void
json_unescape_raw(const char *s, size_t n, buf *out)
{
	size_t i = 0, run;
	const char *bs;
	unsigned cp, lo;

	while (i < n) {
		bs = memchr(s + i, '\\', n - i);
		run = bs ? (size_t)(bs - (s + i)) : n - i;
		buf_put(out, s + i, run);
		i += run;
		if (i >= n)
			break;
		if (i + 1 >= n)	/* a validated string never ends in a lone '\' */
			break;
		switch (s[i + 1]) {
		case 'b': buf_putc(out, '\b'); break;
		case 'f': buf_putc(out, '\f'); break;
		case 'n': buf_putc(out, '\n'); break;
		case 'r': buf_putc(out, '\r'); break;
		case 't': buf_putc(out, '\t'); break;
		case 'u':
			if (i + 6 > n)
				return;
			cp = hex4(s + i + 2);
			i += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n &&
			    s[i] == '\\' && s[i + 1] == 'u' &&
			    (lo = hex4(s + i + 2)) >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 6;
			} else if (cp >= 0xD800 && cp <= 0xDFFF) {
				cp = 0xFFFD;	/* a lone surrogate */
			}
			put_utf8(out, cp);
			continue;
		default:	/* " \ / */
			buf_putc(out, s[i + 1]);
			break;
		}
		i += 2;
	}
}
