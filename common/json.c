/* json.c - strict JSON over jsmn: tokenize, validate, look up, unescape. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "json.h"

struct json_tok {
	int	type;	/* enum json_type */
	int	start;	/* first byte (strings: after the quote) */
	int	end;	/* one past the last byte (strings: the closing quote) */
	int	size;	/* members or elements */
	int	next;	/* index after this subtree */
	int	esc;	/* strings: holds a backslash escape */
};

void
json_init(json_doc *d)
{
	memset(d, 0, sizeof(*d));
}

void
json_free(json_doc *d)
{
	free(d->tok);
	free(d->jtok);
	json_init(d);
}

static int
grow(json_doc *d)
{
	int cap = d->cap ? d->cap * 2 : 256;
	void *a, *b;

	if (d->cap > INT_MAX / 4)
		return -1;
	if ((a = realloc(d->jtok, (size_t)cap * sizeof(jsmntok_t))) == NULL)
		return -1;
	d->jtok = a;
	if ((b = realloc(d->tok, (size_t)cap * sizeof(struct json_tok))) == NULL)
		return -1;
	d->tok = b;
	d->cap = cap;
	return 0;
}

/* Errors are rare: keep them out of the hot loops. */
static int __attribute__((cold, noinline))
fail(json_doc *d, size_t at, const char *what)
{
	snprintf(d->err, sizeof(d->err), "%s at byte %zu", what, at + 1);
	return -1;
}

static int
isws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t
skipws(const json_doc *d, size_t p)
{
	while (p < d->len && isws(d->src[p]))
		p++;
	return p;
}

/*
 * The text between quotes. jsmn has checked the escapes; what it lets
 * through are raw control characters. Eight bytes at a time: a word has
 * a byte below 0x20 or a '\\' when the classic "has a byte less than"
 * test fires. Returns 1 if the string holds escapes, 0 if not, -1 if bad.
 */
#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL
static int
check_string(json_doc *d, size_t p, size_t end)
{
	const unsigned char *s = (const unsigned char *)d->src;
	uint64_t w, bs;
	int esc = 0;

	while (p < end) {
		size_t lim = end;

		if (p + 8 <= d->len) {
			uint64_t hit, keep = ~0ULL;

			memcpy(&w, s + p, 8);
			bs = w ^ (ONES * '\\');
			hit = (((w - ONES * 0x20) & ~w) | ((bs - ONES) & ~bs)) & HIGHS;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			/* A short tail: bytes past the string are ignored
			 * (a borrow only runs upwards, from a real hit). */
			if (end - p < 8)
				keep = ~0ULL >> (8 * (8 - (end - p)));
#else
			if (end - p < 8)
				keep = 0;
#endif
			if (!(hit & keep)) {
				p = end - p < 8 ? end : p + 8;
				continue;
			}
			lim = p + 8 < end ? p + 8 : end;
		}
		for (; p < lim; p++) {
			if (s[p] < 0x20)
				return fail(d, p, "control character in string");
			if (s[p] == '\\') {
				esc = 1;
				p++;	/* the escaped byte, checked by jsmn */
			}
		}
	}
	return esc;
}

static int
isdigit_(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259 number grammar, or true/false/null. Sets the token's type. */
static int
check_primitive(json_doc *d, struct json_tok *t)
{
	const char *s = d->src + t->start;
	size_t n = (size_t)(t->end - t->start), i = 0;

	if (n == 4 && memcmp(s, "true", 4) == 0) {
		t->type = JSON_TRUE;
		return 0;
	}
	if (n == 5 && memcmp(s, "false", 5) == 0) {
		t->type = JSON_FALSE;
		return 0;
	}
	if (n == 4 && memcmp(s, "null", 4) == 0) {
		t->type = JSON_NULL;
		return 0;
	}
	t->type = JSON_NUMBER;
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && isdigit_(s[i]))
		while (i < n && isdigit_(s[i]))
			i++;
	else
		goto bad;
	if (i < n && s[i] == '.') {
		if (++i >= n || !isdigit_(s[i]))
			goto bad;
		while (i < n && isdigit_(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !isdigit_(s[i]))
			goto bad;
		while (i < n && isdigit_(s[i]))
			i++;
	}
	if (i == n)
		return 0;
bad:
	return fail(d, (size_t)t->start, "invalid literal");
}

/*
 * Check the token stream jsmn produced, in one pass, in document order:
 * every byte between two tokens must be white space and exactly the
 * punctuation JSON puts there (':' after a key, ',' between members, the
 * closing brackets of the containers that ended), every primitive must be
 * a JSON literal and every string free of raw control characters. This is
 * where whatever jsmn tolerated is caught. jsmn's parent links say where
 * each token belongs; a stack holds the containers still open.
 */
/*
 * Container c, with `seen` children read, ends at *pos: white space, then
 * its closing bracket, which must be where jsmn ended it. The token after
 * its subtree is `next`.
 */
static int
close_container(json_doc *d, int c, int seen, int next, size_t *pos)
{
	const jsmntok_t *jt = (const jsmntok_t *)d->jtok + c;
	size_t p = skipws(d, *pos);

	if (seen != jt->size || p >= d->len || p + 1 != (size_t)jt->end ||
	    d->src[p] != (jt->type == JSMN_OBJECT ? '}' : ']'))
		return fail(d, p, jt->type == JSMN_OBJECT ?
		    "expected ',' or '}'" : "expected ',' or ']'");
	d->tok[c].next = next;
	*pos = p + 1;
	return 0;
}

static int
validate(json_doc *d, size_t pos)
{
	const jsmntok_t *jt = (const jsmntok_t *)d->jtok;
	struct json_tok *t = d->tok;
	const char *s = d->src;
	int open[JSON_MAX_DEPTH];	/* containers not yet closed */
	int seen[JSON_MAX_DEPTH];	/* children (keys, for objects) so far */
	int sp = 0, i, par;
	size_t beg;

	for (i = 0; i < d->ntok; i++) {
		par = jt[i].parent;
		if (par >= 0 && jt[par].type == JSMN_STRING) {
			/* An object member's value: right after its key, a
			 * string whose parent is an object (jsmn also hangs a
			 * value on a top-level string or on another value). */
			if (par != i - 1 || jt[par].parent < 0 ||
			    jt[jt[par].parent].type != JSMN_OBJECT ||
			    (sp > 0 && open[sp - 1] != jt[par].parent))
				return fail(d, pos, "unexpected ':'");
			pos = skipws(d, pos);
			if (pos >= d->len || s[pos] != ':')
				return fail(d, pos, "expected ':'");
			pos++;
		} else {
			/* Close the containers this token is not inside. */
			while (sp > 0 && open[sp - 1] != par) {
				sp--;
				if (close_container(d, open[sp], seen[sp], i, &pos) == -1)
					return -1;
			}
			if (sp == 0 ? (i > 0 || par != -1) : open[sp - 1] != par)
				return fail(d, pos, "trailing characters after the JSON value");
			if (sp > 0) {
				if (seen[sp - 1]++ > 0) {
					pos = skipws(d, pos);
					if (pos >= d->len || s[pos] != ',')
						return fail(d, pos, "expected ','");
					pos++;
				}
				if (jt[par].type == JSMN_OBJECT && jt[i].type != JSMN_STRING)
					return fail(d, pos, "expected a string key");
			}
		}
		beg = (size_t)(jt[i].type == JSMN_STRING ? jt[i].start - 1 : jt[i].start);
		if (beg != pos) {
			pos = skipws(d, pos);
			if (beg != pos)
				return fail(d, pos, "unexpected character");
		}
		t[i].start = jt[i].start;
		t[i].end = jt[i].end;
		t[i].size = jt[i].size;
		t[i].next = i + 1;
		switch (jt[i].type) {
		case JSMN_STRING:
			t[i].type = JSON_STRING;
			if ((t[i].esc = check_string(d, (size_t)jt[i].start,
			    (size_t)jt[i].end)) == -1)
				return -1;
			/* A key must have its value; jsmn counts it in size. */
			if (par >= 0 && jt[par].type == JSMN_OBJECT &&
			    (i + 1 >= d->ntok || jt[i + 1].parent != i))
				return fail(d, (size_t)jt[i].end + 1, "expected ':'");
			pos = (size_t)jt[i].end + 1;
			break;
		case JSMN_PRIMITIVE:
			if (check_primitive(d, &t[i]) == -1)
				return -1;
			pos = (size_t)jt[i].end;
			break;
		case JSMN_OBJECT:
		case JSMN_ARRAY:
			if (sp == JSON_MAX_DEPTH)
				return fail(d, pos, "nested too deeply");
			t[i].type = jt[i].type == JSMN_OBJECT ? JSON_OBJECT : JSON_ARRAY;
			open[sp] = i;
			seen[sp++] = 0;
			pos++;
			break;
		default:
			return fail(d, pos, "unexpected character");
		}
	}
	while (sp > 0) {
		sp--;
		if (close_container(d, open[sp], seen[sp], d->ntok, &pos) == -1)
			return -1;
	}
	pos = skipws(d, pos);
	if (pos != d->len)
		return fail(d, pos, "trailing characters after the JSON value");
	return 0;
}

int
json_parse(json_doc *d, const char *s, size_t n)
{
	jsmn_parser p;
	size_t pos;
	int r;

	d->src = s;
	d->len = n;
	d->ntok = 0;
	d->err[0] = '\0';
	if (n > INT_MAX - 2)
		return fail(d, 0, "document too large");
	pos = skipws(d, 0);
	if (pos == n)
		return 1;
	if (d->cap == 0 && grow(d) == -1)
		return fail(d, 0, "out of memory");
	if (s[pos] != '{' && s[pos] != '[' && s[pos] != '"') {
		/* jsmn's strict mode wants a delimiter after a primitive, so
		 * a bare top-level number or literal is checked here. */
		size_t e = pos;
		struct json_tok *t = &d->tok[0];

		while (e < n && !isws(s[e]))
			e++;
		t->start = (int)pos;
		t->end = (int)e;
		t->esc = 0;
		t->size = 0;
		t->next = 1;
		if (check_primitive(d, t) == -1)
			return -1;
		d->ntok = 1;
		if (skipws(d, e) != n)
			return fail(d, e, "trailing characters after the JSON value");
		return 0;
	}
	jsmn_init(&p);
	for (;;) {
		r = jsmn_parse(&p, s, n, d->jtok, (unsigned)d->cap);
		if (r != JSMN_ERROR_NOMEM)
			break;
		/* jsmn resumes where it stopped once given more tokens. */
		if (grow(d) == -1)
			return fail(d, p.pos, "out of memory");
	}
	if (r == JSMN_ERROR_PART) {
		/* jsmn stops at a NUL byte as if the text ended there. */
		const char *nul = memchr(s, '\0', n);

		if (nul != NULL)
			return fail(d, (size_t)(nul - s), "NUL byte");
		snprintf(d->err, sizeof(d->err),
		    "truncated: the line ends inside a value");
		return -1;
	}
	if (r == JSMN_ERROR_INVAL)
		return fail(d, p.pos, "invalid JSON");
	if (r <= 0)
		return fail(d, pos, "invalid JSON");
	d->ntok = r;
	return validate(d, pos);
}

enum json_type
json_type(const json_doc *d, int i)
{
	if (i < 0 || i >= d->ntok)
		return JSON_NONE;
	return (enum json_type)d->tok[i].type;
}

const char *
json_raw(const json_doc *d, int i, size_t *n)
{
	if (i < 0 || i >= d->ntok) {
		*n = 0;
		return NULL;
	}
	*n = (size_t)(d->tok[i].end - d->tok[i].start);
	return d->src + d->tok[i].start;
}

int
json_escaped(const json_doc *d, int i)
{
	return i >= 0 && i < d->ntok && d->tok[i].type == JSON_STRING &&
	    d->tok[i].esc;
}

int
json_size(const json_doc *d, int i)
{
	return (i < 0 || i >= d->ntok) ? 0 : d->tok[i].size;
}

int
json_next(const json_doc *d, int i)
{
	return d->tok[i].next;
}

int
json_child(const json_doc *d, int i)
{
	if (i < 0 || i >= d->ntok || d->tok[i].size == 0 ||
	    (d->tok[i].type != JSON_OBJECT && d->tok[i].type != JSON_ARRAY))
		return -1;
	return i + 1;
}

int
json_get(const json_doc *d, int i, const char *key, size_t klen)
{
	int k, n, j;

	if (json_type(d, i) != JSON_OBJECT)
		return -1;
	n = d->tok[i].size;
	j = i + 1;
	for (k = 0; k < n; k++) {
		const struct json_tok *t = &d->tok[j];
		size_t tl = (size_t)(t->end - t->start);

		/* Keys without escapes compare byte for byte; the rest unescaped. */
		if (t->esc ? json_streq(d, j, key, klen) :
		    (tl == klen && memcmp(d->src + t->start, key, klen) == 0))
			return j + 1;
		j = d->tok[j + 1].next;
	}
	return -1;
}

int
json_at(const json_doc *d, int i, int n)
{
	int k, j;

	if (json_type(d, i) != JSON_ARRAY || n < 0 || n >= d->tok[i].size)
		return -1;
	j = i + 1;
	for (k = 0; k < n; k++)
		j = d->tok[j].next;
	return j;
}

int
json_path(const json_doc *d, int i, const char *path)
{
	const char *p = path, *e;
	long n;
	char *end;

	while (*p && i >= 0) {
		if (*p == '.') {
			p++;
			continue;
		}
		if (*p == '[') {
			errno = 0;
			n = strtol(p + 1, &end, 10);
			if (end == p + 1 || *end != ']' || errno || n < 0 || n > INT_MAX)
				return -1;
			i = json_at(d, i, (int)n);
			p = end + 1;
			continue;
		}
		for (e = p; *e && *e != '.' && *e != '['; e++)
			;
		i = json_get(d, i, p, (size_t)(e - p));
		p = e;
	}
	return i;
}

int
json_int64(const json_doc *d, int i, int64_t *v)
{
	const char *s;
	size_t n, k = 0;
	uint64_t acc = 0, lim;
	int neg = 0;

	if (json_type(d, i) != JSON_NUMBER)
		return -1;
	s = json_raw(d, i, &n);
	if (s[0] == '-') {
		neg = 1;
		k = 1;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; k < n; k++) {
		unsigned dgt;

		if (!isdigit_(s[k]))
			return -1;	/* a fraction or an exponent */
		dgt = (unsigned)(s[k] - '0');
		if (acc > (lim - dgt) / 10)
			return -1;
		acc = acc * 10 + dgt;
	}
	if (neg)
		*v = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	else
		*v = (int64_t)acc;
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

int
json_unescape(const json_doc *d, int i, buf *out)
{
	const char *s;
	size_t n;

	if (json_type(d, i) != JSON_STRING)
		return -1;
	s = json_raw(d, i, &n);
	json_unescape_raw(s, n, out);
	return 0;
}

int
json_streq(const json_doc *d, int i, const char *s, size_t n)
{
	const char *r;
	size_t rn;
	buf tmp = BUF_INIT;
	int eq;

	if (json_type(d, i) != JSON_STRING)
		return 0;
	r = json_raw(d, i, &rn);
	if (!d->tok[i].esc)
		return rn == n && memcmp(r, s, n) == 0;
	json_unescape_raw(r, rn, &tmp);
	eq = tmp.len == n && memcmp(tmp.p, s, n) == 0;
	buf_free(&tmp);
	return eq;
}
