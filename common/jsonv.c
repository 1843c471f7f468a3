/* jsonv.c - values in validated JSON text: lookups by skipping, strings, numbers. */
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "jsonesc.h"
#include "jsonsimd.h"

static int
isdig(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * The closing quote of the string opening at p, before e. The text was
 * validated: a backslash always has its escaped byte, and the quote is
 * there. Sixteen bytes at a time, escapes and all: a block's backslashes
 * mark the bytes they escape, and the first quote left unmarked ends the
 * string (text written with \uXXXX escapes has one every six bytes).
 */
static const char *
str_end(const char *p, const char *e)
{
	const char *q = p + 1;
#if !HAVE_SIMD
	(void)e;
#else
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	unsigned qm, bm, esc, i;

	while (e - q >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);

		qm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, quote));
		bm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, bslash));
		if (bm == 0 || (qm != 0 && (qm & -qm) < (bm & -bm))) {
			if (qm != 0)	/* a quote before any backslash */
				return q + __builtin_ctz(qm);
			q += 16;
			continue;
		}
		/* Each backslash that is not itself escaped escapes the next byte. */
		for (esc = 0; bm != 0; bm &= ~(3u << i)) {
			i = (unsigned)__builtin_ctz(bm);
			esc |= 2u << i;
		}
		if ((qm &= ~esc) != 0)
			return q + __builtin_ctz(qm);
		q += 16 + (esc >> 16);	/* the last byte's escape is the next block's first */
	}
#endif
	for (;;) {
		if (*q == '"')
			return q;
		q += *q == '\\' ? 2 : 1;
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

/*
 * The closing bracket of the container opening at p, before e (validated
 * text). Sixteen bytes at a time: the block's quotes that no backslash
 * escapes delimit its strings (a running xor of them, carried from block
 * to block), and only the brackets outside those count, in order only in
 * a block that closes one. A container of many short strings (an
 * attachment's keys) costs no stop per string.
 */
static const char *
container_end(const char *p, const char *e)
{
	const char *q = p;
	int depth = 0;
#if HAVE_SIMD
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i lo = _mm_set1_epi8(0x20);
	const __m128i open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}');
	unsigned qm, bm, om, cm, esc, carry = 0, in = 0, str, i;

	while (e - q >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
		__m128i y = _mm_or_si128(x, lo);	/* '[' -> '{', ']' -> '}' */

		qm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, quote));
		bm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, bslash));
		om = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(y, open));
		cm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(y, close));
		/* Each backslash that is not itself escaped escapes the next byte. */
		esc = carry;
		for (bm &= ~esc; bm != 0; bm &= ~(3u << i)) {
			i = (unsigned)__builtin_ctz(bm);
			esc |= 2u << i;
		}
		carry = esc >> 16;
		qm &= ~esc;
		/* Bytes inside a string: from an opening quote to its closing one. */
		str = qm ^ (qm << 1);
		str ^= str << 2;
		str ^= str << 4;
		str ^= str << 8;
		str = (str ^ in) & 0xffffu;
		in = str & 0x8000u ? 0xffffu : 0;
		om &= ~str;
		cm &= ~str;
		if (cm == 0) {
			depth += __builtin_popcount(om);
			q += 16;
			continue;
		}
		for (om |= cm; om != 0; om &= om - 1) {
			i = (unsigned)__builtin_ctz(om);
			if (!(cm >> i & 1))
				depth++;
			else if (--depth == 0)
				return q + i;
		}
		q += 16;
	}
	if (in) {	/* the rest of a string the last block began */
		if (carry)
			q++;
		while (*q != '"')
			q += *q == '\\' ? 2 : 1;
		q++;
	}
#endif
	for (;; q++) {
		q = next_structural(q, e);
		if (*q == '"')
			q = str_end(q, e);
		else if (*q == '{' || *q == '[')
			depth++;
		else if (--depth == 0)
			return q;
	}
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
		q = container_end(p, e);
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
	*v = json_value_at(ix->m[k].v, ix->m[k].vn);
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
	if (v->n - k <= 18) {	/* under 10^18: no overflow to watch for */
		for (; k < v->n; k++) {
			if (!isdig(v->p[k]))
				return -1;	/* a fraction or an exponent */
			acc = acc * 10 + (unsigned)(v->p[k] - '0');
		}
		*out = neg ? -(int64_t)acc : (int64_t)acc;
		return 0;
	}
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

/*
 * The value is never longer than its escaped text: room for it is made
 * once, and the pieces are copied without a check each.
 */
size_t
json_unescape_some(const char *s, size_t n, size_t want, buf *out)
{
	const char *p = s, *e = s + n, *bs;
	char *o, *stop;
	unsigned cp;
	size_t k;

	if (n == 0)
		return 0;
	if (buf_grow(out, n) == -1)
		alloc_fail();
	o = out->p + out->len;
	stop = want < n ? o + want : o + n;
	while (p < e && o < stop) {
		if (*p != '\\') {
			bs = memchr(p, '\\', (size_t)(e - p));
			k = bs ? (size_t)(bs - p) : (size_t)(e - p);
			if (k > (size_t)(stop - o))
				k = (size_t)(stop - o);	/* bytes as they are: cut anywhere */
			memcpy(o, p, k);
			o += k;
			p += k;
			continue;
		}
		/* Escapes often come in runs (\u0430\u0431…): no search between. */
		if ((k = json_escape(p, (size_t)(e - p), &cp)) == 0)
			break;	/* cut short: never in a validated string */
		o += json_utf8(cp, o);
		p += k;
	}
	out->len = (size_t)(o - out->p);
	return (size_t)(p - s);
}

void
json_unescape_raw(const char *s, size_t n, buf *out)
{
	json_unescape_some(s, n, (size_t)-1, out);
}
