/* jscan.c - one-pass strict JSON check; member lookup by skipping. */
#include <stdio.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "jscan.h"

/* Bytes that end a plain run inside a string: '"', '\\', controls. */
static unsigned char special[256];

static void
init_special(void)
{
	int c;

	for (c = 0; c < 0x20; c++)
		special[c] = 1;
	special['"'] = special['\\'] = 1;
	special[0] = 1;
}

static int
fail(char *err, size_t errlen, const char *s, const char *at, const char *what)
{
	snprintf(err, errlen, "%s at byte %zu", what, (size_t)(at - s) + 1);
	return -1;
}

static inline const char *
ws(const char *p, const char *e)
{
	/* compact JSON has none: one comparison in the common case */
	while (p < e && (unsigned char)*p <= ' ' &&
	    (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int
ishex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static int
isdig(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * The first byte at or after p (before e) that ends a plain run in a
 * string: '"', '\\' or a control character. Eight bytes at a time.
 */
static inline const char *
str_run(const char *p, const char *e)
{
#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);

	while (e - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* bytes <= 0x1f: unsigned min(x, 0x1f) == x */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
		    _mm_cmpeq_epi8(x, bslash)), _mm_cmpeq_epi8(_mm_min_epu8(x, ctl), x));
		int bits = _mm_movemask_epi8(m);

		if (bits != 0)
			return p + __builtin_ctz((unsigned)bits);
		p += 16;
	}
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t w, q, b, m;

	while (e - p >= 8) {
		memcpy(&w, p, 8);
		q = w ^ (ones * '"');
		b = w ^ (ones * '\\');
		/* a zero byte in q or b, or a byte below 0x20 in w; the lowest
		 * flagged byte is always a true one */
		m = (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w)) & high;
		if (m != 0)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
#endif
	while (p < e && !special[(unsigned char)*p])
		p++;
	return p;
}

int
jscan_check(const char *s, size_t n, struct jv *root, struct jscan_index *ix,
    char *err, size_t errlen)
{
	const char *p, *e = s + n, *v0;
	char stk[JSON_MAX_DEPTH + 1], top = 0;	/* top: stk[depth - 1] */
	int depth = 0, rec;	/* rec: record members down to this depth */

	if (!special['"'])
		init_special();
	p = ws(s, e);
	if (p == e)
		return 1;
	v0 = p;
	if (ix != NULL)
		ix->n = 0, ix->open[1] = ix->open[2] = -1;
	if (*v0 != '{')
		ix = NULL;
	rec = ix != NULL ? 2 : 0;
value:
	if (p == e)
		return fail(err, errlen, s, p, "truncated JSON: unexpected end");
	switch (*p) {
	case '{':
	case '[':
		if (depth == JSON_MAX_DEPTH)
			return fail(err, errlen, s, p, "nested too deeply");
		stk[depth++] = top = *p;
		p = ws(p + 1, e);
		if (p < e && *p == top + 2) {	/* '{' + 2 == '}', '[' + 2 == ']' */
			p++;
			top = --depth > 0 ? stk[depth - 1] : 0;
			goto after;
		}
		if (top == '{')
			goto key;
		goto value;
	case '"':
		goto string;
	case 't':
		if (e - p >= 4 && memcmp(p, "true", 4) == 0) {
			p += 4;
			goto after;
		}
		return fail(err, errlen, s, p, "invalid literal");
	case 'f':
		if (e - p >= 5 && memcmp(p, "false", 5) == 0) {
			p += 5;
			goto after;
		}
		return fail(err, errlen, s, p, "invalid literal");
	case 'n':
		if (e - p >= 4 && memcmp(p, "null", 4) == 0) {
			p += 4;
			goto after;
		}
		return fail(err, errlen, s, p, "invalid literal");
	default: {
		const char *b = p;

		if (p < e && *p == '-')
			p++;
		if (p < e && *p == '0')
			p++;
		else if (p < e && isdig(*p))
			while (p < e && isdig(*p))
				p++;
		else
			return fail(err, errlen, s, b, p == b ? "invalid literal" : "invalid number");
		if (p < e && *p == '.') {
			p++;
			if (p == e || !isdig(*p))
				return fail(err, errlen, s, b, "invalid number");
			while (p < e && isdig(*p))
				p++;
		}
		if (p < e && (*p == 'e' || *p == 'E')) {
			p++;
			if (p < e && (*p == '+' || *p == '-'))
				p++;
			if (p == e || !isdig(*p))
				return fail(err, errlen, s, b, "invalid number");
			while (p < e && isdig(*p))
				p++;
		}
		goto after;
	}
	}
key:
	if (p == e)
		return fail(err, errlen, s, p, "truncated JSON: unexpected end");
	if (*p != '"')
		return fail(err, errlen, s, p, "a member name (a string) expected");
	if (depth <= rec) {
		if (ix->n == JSCAN_NMEMB) {
			ix->n = -1, ix = NULL, rec = 0;
		} else {
			struct jscan_memb *m = &ix->m[ix->n];

			m->k = p + 1;
			m->depth = depth;
			m->esc = 0;
			ix->open[depth] = ix->n++;
		}
	}
	depth = -depth - 1;	/* mark: this string is a key */
string:
	for (p++;;) {
		p = str_run(p, e);
		if (p == e)
			return fail(err, errlen, s, p, "truncated JSON: unterminated string");
		if (*p == '"')
			break;
		if (*p != '\\')
			return fail(err, errlen, s, p, "control character in a string");
		if (depth < 0 && -depth - 1 <= rec)
			ix->m[ix->open[-depth - 1]].esc = 1;	/* an indexed key */
		if (p + 1 == e)
			return fail(err, errlen, s, p, "truncated JSON: unterminated string");
		switch (p[1]) {
		case '"': case '\\': case '/': case 'b': case 'f':
		case 'n': case 'r': case 't':
			p += 2;
			break;
		case 'u':
			if (e - p < 6 || !ishex((unsigned char)p[2]) || !ishex((unsigned char)p[3]) ||
			    !ishex((unsigned char)p[4]) || !ishex((unsigned char)p[5]))
				return fail(err, errlen, s, p, "invalid \\u escape");
			p += 6;
			break;
		default:
			return fail(err, errlen, s, p, "invalid escape in a string");
		}
	}
	p++;
	if (depth < 0) {
		depth = -depth - 1;
		if (depth <= rec)
			ix->m[ix->open[depth]].kn = (size_t)(p - 1 - ix->m[ix->open[depth]].k);
		if (p < e && *p == ':') {	/* compact JSON */
			p++;
		} else {
			p = ws(p, e);
			if (p == e || *p != ':')
				return fail(err, errlen, s, p, p == e ?
				    "truncated JSON: unexpected end" : "':' expected");
			p++;
		}
		p = ws(p, e);
		if (depth <= rec)
			ix->m[ix->open[depth]].v = p;
		goto value;
	}
after:
	if (depth <= rec && depth > 0 && ix->open[depth] >= 0) {
		struct jscan_memb *m = &ix->m[ix->open[depth]];

		m->vn = (size_t)(p - m->v);
		m->next = ix->n;
		ix->open[depth] = -1;
	}
	p = ws(p, e);
	if (depth == 0) {
		if (p != e)
			return fail(err, errlen, s, p, "trailing characters after the JSON value");
		if (root != NULL) {
			root->t = *v0 == '{' ? JSON_OBJECT : *v0 == '[' ? JSON_ARRAY :
			    *v0 == '"' ? JSON_STRING : *v0 == 't' ? JSON_TRUE :
			    *v0 == 'f' ? JSON_FALSE : *v0 == 'n' ? JSON_NULL : JSON_NUMBER;
			root->p = v0;
			root->n = (size_t)(p - v0);
			while (root->n > 0 && (v0[root->n - 1] == ' ' || v0[root->n - 1] == '\t' ||
			    v0[root->n - 1] == '\n' || v0[root->n - 1] == '\r'))
				root->n--;
			if (root->t == JSON_STRING) {
				root->p++;
				root->n -= 2;
			}
		}
		return 0;
	}
	if (p == e)
		return fail(err, errlen, s, p, "truncated JSON: unexpected end");
	if (*p == ',') {
		p = ws(p + 1, e);
		if (top == '{')
			goto key;
		goto value;
	}
	if (*p == top + 2) {
		p++;
		top = --depth > 0 ? stk[depth - 1] : 0;
		goto after;
	}
	return fail(err, errlen, s, p, top == '{' ?
	    "',' or '}' expected" : "',' or ']' expected");
}

/* --- walking validated text ---------------------------------------------- */

/* The closing quote of the string opening at p (validated text, ending before e). */
static const char *
str_end(const char *p, const char *e)
{
	const char *q = p + 1;

	for (;;) {
		q = str_run(q, e);
		if (*q == '"')
			return q;
		q += 2;	/* an escape: the validated text has its next byte */
	}
}

/* Bytes that matter when skipping a container. */
static unsigned char structural[256];

/* Read the value at p into *v; returns the byte after it. */
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
		if (!structural['"'])
			structural['"'] = structural['{'] = structural['['] =
			    structural['}'] = structural[']'] = 1;
		v->t = *p == '{' ? JSON_OBJECT : JSON_ARRAY;
		for (q = p, depth = 0;; q++) {
			while (!structural[(unsigned char)*q])
				q++;
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
		for (q = p; isdig(*q) || *q == '-' || *q == '+' || *q == '.' ||
		    *q == 'e' || *q == 'E'; q++)
			;
		v->n = (size_t)(q - p);
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
	struct jv k;

	p = skipws(p);
	if (p >= end)
		return 0;
	if (c->t == JSON_OBJECT) {
		p = take(p, end, &k);
		if (key != NULL)
			*key = k;
		p = skipws(p) + 1;	/* ':' */
		p = skipws(p);
	}
	p = skipws(take(p, end, out));
	if (*p == ',')
		p++;
	*cur = p;
	return 1;
}

/* Does the raw (escaped) key k equal key? */
static int
key_eq(const char *k, size_t kn, const char *key, size_t klen)
{
	buf tmp = BUF_INIT;
	int eq;

	if (kn == klen)
		return kn == 0 || (k[0] == key[0] && memcmp(k, key, klen) == 0);
	/* Only an escaped key can be longer than the name it spells. */
	if (kn < klen || memchr(k, '\\', kn) == NULL)
		return 0;
	json_unescape_raw(k, kn, &tmp);
	eq = tmp.len == klen && memcmp(tmp.p, key, klen) == 0;
	buf_free(&tmp);
	return eq;
}

int
jscan_member(const struct jscan_index *ix, int parent, const char *key,
    size_t klen, struct jv *v)
{
	int k, end;

	v->t = JSON_NONE;
	if (ix == NULL || ix->n < 0)
		return -2;
	if (parent < 0) {
		k = 0;
		end = ix->n;
	} else {
		k = parent + 1;
		end = ix->m[parent].next;
	}
	while (k < end) {
		const struct jscan_memb *m = &ix->m[k];

		if (m->esc ? key_eq(m->k, m->kn, key, klen) :
		    m->kn == klen && (klen == 0 || (m->k[0] == key[0] &&
		    memcmp(m->k, key, klen) == 0))) {
			/* The value's extent is known: no need to skip over it. */
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
		k = parent < 0 ? m->next : k + 1;
	}
	return -1;
}

struct jv
jv_get(const struct jv *obj, const char *key, size_t klen)
{
	struct jv v = { JSON_NONE, NULL, 0 }, k;
	const char *cur = NULL;

	if (obj->t != JSON_OBJECT)
		return v;
	while (jv_next(obj, &cur, &v, &k))
		if (key_eq(k.p, k.n, key, klen))
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
			return -1;
		d = (unsigned)(v->p[k] - '0');
		if (acc > (lim - d) / 10)
			return -1;
		acc = acc * 10 + d;
	}
	*out = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) :
	    (int64_t)acc;
	return 0;
}
