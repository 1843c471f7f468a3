/* json.c - the JSON grammar (json_check) and the token tree over it (json_parse). */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
/* Not JSMN_STRICT: jsmn only sees text json_check() validated; its checks would repeat. */
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "alloc.h"
#include "json.h"
#include "jsonsimd.h"

/* --- the grammar ------------------------------------------------------- */

/* Errors are rare: keep them out of the hot loop. */
static int __attribute__((cold, noinline))
fail(char *err, size_t errlen, const char *s, const char *at, const char *what)
{
	if (*at == '\0')
		what = "NUL byte";	/* clearer than what it stopped */
	snprintf(err, errlen, "%s at byte %zu", what, (size_t)(at - s) + 1);
	return -1;
}

/* No number at p: a word, or punctuation, where a value was expected? */
static const char * __attribute__((cold, noinline))
not_a_value(const char *p, const char *why)
{
	if (*p == '-' || (*p >= '0' && *p <= '9'))
		return why;
	return (*p | 0x20) >= 'a' && (*p | 0x20) <= 'z' ? "invalid literal" :
	    "unexpected character";
}

static int __attribute__((cold, noinline))
truncated(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "truncated: the line ends inside %s", what);
	return -1;
}

#define LIKELY(x)	__builtin_expect(!!(x), 1)
#define UNLIKELY(x)	__builtin_expect(!!(x), 0)

/*
 * The primitives below, and check() over them, come in two builds chosen
 * by a constant `simd` (SSE2 or portable C): see jsonsimd.h. check()'s
 * `simd` is 0 (portable), or 1 + the CPU's extensions it may use for its
 * stop list (below): 1 SSE2, 2 AVX2, SIMD_BEST AVX-512 too.
 */
#define SIMD_BEST	(HAVE_SIMD ? 3 : 0)
static inline int
isws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}


/* The first byte at or after p (before e) that is not white space. */
static inline const char *
ws_run(const char *p, const char *e, int simd)
{
	SSE_RUN(p, e, not_ws);
	while (p < e && isws(*p))
		p++;
	return p;
}

/* Skip white space at p, if any: compact JSON has none, one comparison. */
#define WS(p)	do { \
	if ((p) < e && (unsigned char)*(p) <= ' ') \
		(p) = ws_run((p), e, simd); \
} while (0)

static int
ishex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static inline int
isdig(char c)
{
	return c >= '0' && c <= '9';
}

/* The first byte at or after p (before e) that is not a digit. */
static inline const char *
digits(const char *p, const char *e, int simd)
{
	SSE_RUN(p, e, not_digit);
	while (p < e && isdig(*p))
		p++;
	return p;
}

/*
 * The first byte at or after p (before e) that ends a plain run in a
 * string: '"', '\\' or a control character.
 */
static inline const char *
str_run(const char *p, const char *e, int simd)
{
	SSE_RUN(p, e, str_stop);
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
	while (p < e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
		p++;
	return p;
}

/*
 * The stop list (the SIMD builds). check() walks the text token by token,
 * and where a string ends says where the next token starts: each string's
 * scan waited for the last one's, a chain of dependent loads, one string
 * at a time however many the CPU could read at once (that was most of
 * its time on Events). So before the walk, the offsets of the bytes where
 * str_run() stops ('"', '\\' or a control character) are listed, 64 bytes
 * at a time, with no branch on the text. At a string's opening quote,
 * which the list holds next, the string's end is the next entry: a load
 * whose address depends on the list's cursor alone, not on the text
 * before, so the CPU reads ahead. The list covers a window of MAP_BLOCKS
 * 64-byte blocks: a longer line is listed a window at a time, each byte
 * once, and a window's end stops a run as the text's end does.
 */
#define MAP_BLOCKS	32
struct stops {
	const char	*base, *lim;	/* the window: base[0 .. len) */
	uint32_t	 len;
	uint32_t	 n;		/* entries */
	uint32_t	 j;		/* the next one, while check() holds it elsewhere */
	/* the entries, then len; and room for the writes past them */
	uint16_t	 at[MAP_BLOCKS * 64 + 64];
};

#if HAVE_SIMD
/*
 * Append the offsets off + i of the bits i of w to at[n..]: the new n.
 * Eight at a time, what is written past the last overwritten later, so
 * that the loop's exit does not depend on the text (up to 8 a block).
 */
static inline __attribute__((always_inline)) uint32_t
list_bits(uint16_t *at, uint32_t n, uint64_t w, uint32_t off)
{
	uint16_t *o = at + n;
	uint32_t cnt = (uint32_t)__builtin_popcountll(w);
	int i;

	do {
		for (i = 0; i < 8; i++) {	/* | 1 << 63: no count of the zeros of 0 */
			o[i] = (uint16_t)(off + (uint32_t)__builtin_ctzll(w | (uint64_t)1 << 63));
			w &= w - 1;
		}
		o += 8;
	} while (w != 0);
	return n + cnt;
}

/*
 * n += the stops of p[0 .. len), len >= 64, into at, by stop(): a 64-byte
 * block's bits. The last short block is read overlapping the one before.
 */
#define LIST(at, n, p, len, stop)	do { \
	size_t k_, rest_ = (len) % 64; \
	\
	for (k_ = 0; k_ + 64 <= (len); k_ += 64) \
		(n) = list_bits((at), (n), stop((p) + k_), (uint32_t)k_); \
	if (rest_ != 0) \
		(n) = list_bits((at), (n), stop((p) + (len) - 64) & ~(uint64_t)0 << (64 - rest_), \
		    (uint32_t)((len) - 64)); \
} while (0)

/* The stops of p[0 .. len), len >= 64, into at: how many. */
static uint32_t
list_sse2(uint16_t *at, const char *p, size_t len)
{
	uint32_t n = 0;

	LIST(at, n, p, len, stop64);
	return n;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2	1

/* str_stop() of 32 bytes */
static inline __attribute__((always_inline, target("avx2"))) uint32_t
stop32_avx2(const char *p)
{
	/* as str_stop(): x ^ 2 takes '"' to 0x20, control characters onto themselves */
	__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
	__m256i y = _mm256_xor_si256(x, _mm256_set1_epi8(0x02));

	return (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(
	    _mm256_cmpeq_epi8(_mm256_min_epu8(y, _mm256_set1_epi8(0x20)), y),
	    _mm256_cmpeq_epi8(x, _mm256_set1_epi8('\\'))));
}

static inline __attribute__((always_inline, target("avx2"))) uint64_t
stop64_avx2(const char *p)
{
	return stop32_avx2(p) | (uint64_t)stop32_avx2(p + 32) << 32;
}

/* list_sse2() with AVX2 (and POPCNT, BMI) */
static uint32_t __attribute__((noinline, target("avx2,popcnt,bmi")))
list_avx2(uint16_t *at, const char *p, size_t len)
{
	uint32_t n = 0;

	LIST(at, n, p, len, stop64_avx2);
	return n;
}

/*
 * list_sse2() with AVX-512: a block's stops are compared into a mask, and
 * their offsets gathered by compressing those of 32 bytes at a time.
 */
#define AVX512	"avx512f,avx512bw,avx512vbmi2,popcnt,bmi"
static inline __attribute__((always_inline, target(AVX512))) uint32_t
list_block512(uint16_t *at, uint32_t n, const char *p, uint64_t keep, uint32_t off)
{
	const __m512i iota = _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20,
	    19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
	__m512i x = _mm512_loadu_si512((const void *)p), o;
	uint64_t m;

	m = (_mm512_cmple_epu8_mask(_mm512_xor_si512(x, _mm512_set1_epi8(0x02)),
	    _mm512_set1_epi8(0x20)) | _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('\\'))) & keep;
	o = _mm512_add_epi16(iota, _mm512_set1_epi16((short)off));
	_mm512_storeu_si512((void *)(at + n), _mm512_maskz_compress_epi16((uint32_t)m, o));
	n += (uint32_t)__builtin_popcount((uint32_t)m);
	o = _mm512_add_epi16(o, _mm512_set1_epi16(32));
	_mm512_storeu_si512((void *)(at + n), _mm512_maskz_compress_epi16((uint32_t)(m >> 32), o));
	return n + (uint32_t)__builtin_popcount((uint32_t)(m >> 32));
}

static uint32_t __attribute__((noinline, target(AVX512)))
list_avx512(uint16_t *at, const char *p, size_t len)
{
	size_t k, rest = len % 64;
	uint32_t n = 0;

	for (k = 0; k + 64 <= len; k += 64)
		n = list_block512(at, n, p + k, ~(uint64_t)0, (uint32_t)k);
	if (rest != 0)
		n = list_block512(at, n, p + len - 64, ~(uint64_t)0 << (64 - rest),
		    (uint32_t)(len - 64));
	return n;
}

/* What the CPU has: 2 AVX-512 (BW, VBMI2), 1 AVX2 (and POPCNT, BMI), 0 neither. Asked once. */
static int
cpu_level(void)
{
	static int level = -1;	/* threads may ask at once: all find the same */
	int l = __atomic_load_n(&level, __ATOMIC_RELAXED);

	if (l == -1) {
		__builtin_cpu_init();
		l = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt") &&
		    __builtin_cpu_supports("bmi");
		if (l && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi2"))
			l = 2;
		__atomic_store_n(&level, l, __ATOMIC_RELAXED);
	}
	return l;
}
#else
#define HAVE_AVX2	0
#endif

/*
 * List the window that starts at p: up to MAP_BLOCKS blocks before e,
 * with the CPU's extensions up to `level` (0 SSE2, 1 AVX2, 2 AVX-512).
 */
static void __attribute__((noinline))
stops_fill(struct stops *m, const char *p, const char *e, int level)
{
	size_t len = (size_t)(e - p);
	uint32_t n;
	char pad[64];

	if (len > MAP_BLOCKS * 64)
		len = MAP_BLOCKS * 64;
	m->base = p;
	m->lim = p + len;
	m->len = (uint32_t)len;
	m->j = 0;
	if (len < 64) {	/* a short text: a copy, padded with spaces (no stops) */
		memset(pad, ' ', sizeof(pad));
		memcpy(pad, p, len);
		n = list_sse2(m->at, pad, sizeof(pad));
	} else {
#if HAVE_AVX2
		if (level > cpu_level())
			level = cpu_level();
		if (level == 2)
			n = list_avx512(m->at, p, len);
		else if (level == 1)
			n = list_avx2(m->at, p, len);
		else
#endif
			n = list_sse2(m->at, p, len);
	}
	(void)level;
	m->n = n;
	m->at[n] = (uint16_t)len;
}

/*
 * The first stop at or after p (m->lim if this window has no more), the
 * cursor after it; from the next window's start once p is past this one.
 */
static const char * __attribute__((noinline))
stops_from(struct stops *m, const char *p, const char *e, int level)
{
	uint32_t j, off;

	if (p > m->lim || (p == m->lim && p != e))
		stops_fill(m, p, e, level);
	off = (uint32_t)(p - m->base);
	for (j = m->j; m->at[j] < off; j++)	/* at[n] is len, and off <= len */
		;
	m->j = j < m->n ? j + 1 : j;
	return m->base + m->at[j];
}
#endif

/*
 * The rest of a string, from p where a plain run ended on something else
 * than its closing quote (an escape, a control character, the end of the
 * text or of the stop list's window): the closing quote (*esc set if an
 * escape came before it), or NULL when it is bad: *why says why and *at
 * where, or *why is NULL when the text ends inside it. Out of the hot
 * path: most strings have no escape.
 */
static const char * __attribute__((noinline))
str_rest(const char *p, const char *e, const char **why, const char **at, int *esc,
    struct stops *m, int simd)
{
	(void)m;	/* the portable build has no list */
	for (;;) {
		if (p == e)
			break;
#if HAVE_SIMD
		if (m != NULL && p == m->lim) {	/* the window's end: list the next */
			p = stops_from(m, p, e, simd - 1);
			continue;
		}
#endif
		if (*p == '"')
			return p;
		*at = p;
		if (*p != '\\') {
			*why = "control character in a string";
			return NULL;
		}
		*esc = 1;
		if (p + 1 == e)
			break;
		switch (p[1]) {
		case '"': case '\\': case '/': case 'b': case 'f':
		case 'n': case 'r': case 't':
			p += 2;
			break;
		case 'u':
			if (e - p < 6 || !ishex((unsigned char)p[2]) || !ishex((unsigned char)p[3]) ||
			    !ishex((unsigned char)p[4]) || !ishex((unsigned char)p[5])) {
				*why = "invalid \\u escape: four hex digits expected";
				return NULL;
			}
			p += 6;
			break;
		default:
			*why = "invalid escape in a string";
			return NULL;
		}
#if HAVE_SIMD
		if (m != NULL) {
			p = stops_from(m, p, e, simd - 1);
			continue;
		}
#endif
		p = str_run(p, e, simd);
	}
	*why = NULL;
	return NULL;
}

/* The number at p (a '-' or a digit, before e): the byte after it, or NULL and *why. */
static inline __attribute__((always_inline)) const char *
scan_number(const char *p, const char *e, const char **why, int simd)
{
	if (*p == '-')
		p++;
	if (p < e && *p == '0') {
		if (++p < e && isdig(*p)) {
			*why = "invalid number: no leading zeros";
			return NULL;
		}
	} else if (p < e && isdig(*p)) {
		p = digits(p + 1, e, simd);
	} else {
		*why = "invalid number: a digit expected";
		return NULL;
	}
	if (p < e && *p == '.') {
		if (++p == e || !isdig(*p)) {
			*why = "invalid number: digits expected after '.'";
			return NULL;
		}
		p = digits(p + 1, e, simd);
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p == e || !isdig(*p)) {
			*why = "invalid number: digits expected in the exponent";
			return NULL;
		}
		p = digits(p + 1, e, simd);
	}
	return p;
}

size_t
json_scalar(const char *s, size_t n, const char **why, size_t *at)
{
	const char *q, *bad = s;
	int esc;

	*at = 0;
	if (n > 0 && *s == '"') {
		q = str_run(s + 1, s + n, HAVE_SIMD);
		if (q == s + n || *q != '"')
			q = str_rest(q, s + n, why, &bad, &esc, NULL, HAVE_SIMD);
	} else if (n > 0 && (*s == '-' || isdig(*s))) {
		q = scan_number(s, s + n, why, HAVE_SIMD);
	} else {
		q = NULL, *why = "a string or a number expected";
	}
	if (q == NULL) {
		*at = *why ? (size_t)(bad - s) : 0;
		return 0;
	}
	return (size_t)(q - s) + (*s == '"');	/* a string: with its closing quote */
}

/* The type of the validated value that starts with byte c. */
static enum json_type
type_of(char c)
{
	switch (c) {
	case '{': return JSON_OBJECT;
	case '[': return JSON_ARRAY;
	case '"': return JSON_STRING;
	case 't': return JSON_TRUE;
	case 'f': return JSON_FALSE;
	case 'n': return JSON_NULL;
	default: return JSON_NUMBER;
	}
}

/*
 * The containers the lazy tree (json_parse_lazy) leaves whole, each a
 * struct span, in document order of their opening brackets: the objects
 * held by members of the root object's objects (object.message: what a
 * reader looks into, or not at all), and those opened at a depth that is
 * a multiple of LAZY_DEPTH: jsmn closes a bracket by walking up from the
 * last token, so it is given no more than LAZY_DEPTH levels at a time.
 * stk[0..depth) are the brackets open, the last the container's own.
 */
#define LAZY_DEPTH	16
/*
 * And the strings longer than LAZY_STR bytes, quotes included: jsmn reads
 * a string a byte at a time, and its bounds are known here already.
 */
#define LAZY_STR	16
#define LAZY_AT(stk, depth)	((depth) % LAZY_DEPTH == 0 || ((depth) == 3 && \
	(stk)[0] == '{' && (stk)[1] == '{' && (stk)[2] == '{'))
struct span {
	int	 start, end;	/* offsets: the opening bracket, after the closing one */
};

static void
deep_open(buf *deep, size_t *dstk, int depth, ptrdiff_t at)
{
	struct span sp = { (int)at, -1 };

	dstk[depth / LAZY_DEPTH] = deep->len;
	buf_put(deep, &sp, sizeof(sp));
}

static void
deep_close(buf *deep, size_t *dstk, int depth, ptrdiff_t at)
{
	struct span *sp = (struct span *)(void *)(deep->p + dstk[depth / LAZY_DEPTH]);

	sp->end = (int)at;
}


#if HAVE_SIMD
/*
 * q: where the string whose opening quote is p stops a plain run: the
 * entry after p's in the list, or the portable search.
 */
#define STRING(p, q)	do { \
	if (mp == NULL) { \
		(q) = str_run((p) + 1, e, simd); \
	} else if (LIKELY(sj < map.n && map.base + map.at[sj] == (p))) { \
		(q) = map.base + map.at[sj + 1]; \
		sj += 2; \
	} else { \
		map.j = sj; \
		(q) = stops_from(&map, (p) + 1, e, simd - 1); \
		sj = map.j; \
	} \
} while (0)
#define REST(q)		(map.j = sj, (q) = str_rest((q), e, &why, &at, &esc, mp, simd), \
	sj = mp != NULL ? map.j : 0, (q))
#define RUN_END(m, e)	((m) != NULL ? (m)->lim : (e))
#else
#define STRING(p, q)	((q) = str_run((p) + 1, e, simd))
#define REST(q)		str_rest((q), e, &why, &at, &esc, NULL, simd)
#define RUN_END(m, e)	(e)
#endif

/*
 * One pass, no recursion and no backtracking: every byte is looked at a
 * bounded number of times, so the time is linear in n, and a container
 * deeper than JSON_MAX_DEPTH is refused at its opening bracket, before
 * anything else reads the text. Inlined into each caller with constant
 * arguments, so that each copy does only the work its caller asks for.
 */
static inline __attribute__((always_inline)) int
check(const char *s, size_t n, struct jv *root, struct json_index *ix, buf *escs,
    buf *deep, char *err, size_t errlen, int simd)
{
	const char *p = s, *q, *e = s + n, *v0, *why = NULL, *at = NULL;
	char stk[JSON_MAX_DEPTH + 1], top = 0;	/* top: stk[depth - 1] */
	int depth = 0, rec = 0, nm = 0, esc;	/* rec: record members down to this depth */
	struct json_memb *open[3] = { NULL, NULL, NULL }, *m;	/* per depth */
	size_t dstk[JSON_MAX_DEPTH / LAZY_DEPTH + 1];	/* open entries of deep */
#if HAVE_SIMD
	struct stops map, *mp = NULL;	/* the stop list, but in the portable build */
	uint32_t sj = 0;	/* its cursor, kept here (in a register) */
#endif

	WS(p);
	if (p == e)
		return 1;
	v0 = p;
#if HAVE_SIMD
	if (simd) {
		stops_fill(&map, s, e, simd - 1);
		mp = &map;
	}
#endif
	if (ix != NULL) {
		ix->n = 0;
		if (*v0 == '{')
			rec = 2;
	}
value:
	if (UNLIKELY(p == e))
		return truncated(err, errlen, "a value");
	switch (*p) {
	case '{':
	case '[':
		if (depth == JSON_MAX_DEPTH)
			return fail(err, errlen, s, p, "nested too deeply");
		stk[depth++] = top = *p;
		if (deep != NULL && LAZY_AT(stk, depth))
			deep_open(deep, dstk, depth, p - s);
		p++;
		WS(p);
		if (p < e && *p == top + 2) {	/* '{' + 2 == '}', '[' + 2 == ']' */
			p++;
			if (deep != NULL && LAZY_AT(stk, depth))
				deep_close(deep, dstk, depth, p - s);
			top = --depth > 0 ? stk[depth - 1] : 0;
			goto after;
		}
		if (top == '{')
			goto key;
		goto value;
	case '"':
		STRING(p, q);
		if (UNLIKELY(q == RUN_END(mp, e) || *q != '"')) {
			esc = 0;	/* the run may have stopped at a window's end */
			if ((q = REST(q)) == NULL)
				goto bad_string;
			if (escs != NULL && esc) {	/* for the token tree */
				int start = (int)(p + 1 - s);

				buf_put(escs, &start, sizeof(start));
			}
		}
		if (deep != NULL && q - p > LAZY_STR) {	/* a long one: jsmn gets "" */
			struct span sp = { (int)(p - s), (int)(q + 1 - s) };

			buf_put(deep, &sp, sizeof(sp));
		}
		p = q + 1;
		goto after;
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
	default:
		if ((q = scan_number(p, e, &why, simd)) == NULL)
			return fail(err, errlen, s, p, not_a_value(p, why));
		p = q;
		goto after;
	}
key:
	if (UNLIKELY(p == e))
		return truncated(err, errlen, "an object");
	if (UNLIKELY(*p != '"'))
		return fail(err, errlen, s, p, "a member name (a string) expected");
	STRING(p, q);
	esc = 0;
	if (UNLIKELY(q == RUN_END(mp, e) || *q != '"')) {
		if ((q = REST(q)) == NULL)
			goto bad_string;
		if (escs != NULL && esc) {
			int start = (int)(p + 1 - s);

			buf_put(escs, &start, sizeof(start));
		}
	}
	if (deep != NULL && q - p > LAZY_STR) {
		struct span sp = { (int)(p - s), (int)(q + 1 - s) };

		buf_put(deep, &sp, sizeof(sp));
	}
	if (depth <= rec) {	/* a member the index records */
		if (nm == JSON_INDEX_MEMB) {
			nm = -1, rec = 0;
		} else {
			m = &ix->m[nm++];
			m->k = p + 1;
			m->kn = (size_t)(q - p - 1);
			m->depth = depth;
			m->esc = esc;
			open[depth] = m;
		}
	}
	p = q + 1;
	if (LIKELY(p < e && *p == ':')) {	/* compact JSON */
		p++;
	} else {
		WS(p);
		if (p == e)
			return truncated(err, errlen, "an object");
		if (*p != ':')
			return fail(err, errlen, s, p, "':' expected");
		p++;
	}
	WS(p);
	if (depth <= rec)
		open[depth]->v = p;
	goto value;
after:
	if (depth <= rec && (m = open[depth]) != NULL) {	/* its value ends here */
		m->vn = (size_t)(p - m->v);
		m->next = nm;
		open[depth] = NULL;
	}
	if (UNLIKELY(depth == 0))
		goto done;
	if (UNLIKELY(p == e))
		return truncated(err, errlen, top == '{' ? "an object" : "an array");
	if ((unsigned char)*p <= ' ') {
		p = ws_run(p, e, simd);
		if (p == e)
			return truncated(err, errlen, top == '{' ? "an object" : "an array");
	}
	if (*p == ',') {
		p++;
		WS(p);
		if (top == '{')
			goto key;
		goto value;
	}
	if (*p == top + 2) {
		p++;
		if (deep != NULL && LAZY_AT(stk, depth))
			deep_close(deep, dstk, depth, p - s);
		top = --depth > 0 ? stk[depth - 1] : 0;
		goto after;
	}
	return fail(err, errlen, s, p, top == '{' ?
	    "',' or '}' expected" : "',' or ']' expected");
bad_string:
	return why ? fail(err, errlen, s, at, why) : truncated(err, errlen, "a string");
done:
	WS(p);
	if (p != e)
		return fail(err, errlen, s, p, "trailing characters after the JSON value");
	if (ix != NULL)
		ix->n = nm;
	if (root != NULL) {
		root->t = type_of(*v0);
		root->p = v0;
		root->n = (size_t)(p - v0);
		while (root->n > 0 && isws(v0[root->n - 1]))
			root->n--;
		if (root->t == JSON_STRING) {
			root->p++;
			root->n -= 2;
		}
	}
	return 0;
}

int
json_check(const char *s, size_t n, struct jv *root, struct json_index *ix,
    char *err, size_t errlen)
{
	return check(s, n, root, ix, NULL, NULL, err, errlen, SIMD_BEST);
}

int
json_check_level(int level, const char *s, size_t n, struct jv *root,
    struct json_index *ix, char *err, size_t errlen)
{
	if (!HAVE_SIMD || level < 0)
		return check(s, n, root, ix, NULL, NULL, err, errlen, 0);
	return check(s, n, root, ix, NULL, NULL, err, errlen, 1 + (level < 2 ? level : 2));
}

int
json_check_portable(const char *s, size_t n, struct jv *root, struct json_index *ix,
    char *err, size_t errlen)
{
	return check(s, n, root, ix, NULL, NULL, err, errlen, 0);
}

/* --- the token tree ---------------------------------------------------- */

/*
 * The tree is jsmn's own token array, rewritten in place by build() once
 * jsmn is done: `type` becomes an enum json_type (with the flags below
 * above it), and `parent` becomes the index after the token's subtree,
 * which is what walking a tree needs.
 *
 * A lazy tree (json_parse_lazy) leaves some containers whole: jsmn sees
 * a stand-in, one primitive 'x', in a copy of the text without them, and
 * build() turns it into a TOK_LAZY token spanning the container. The
 * first look inside one tokenizes it the same way into a block at the end
 * of the array (its own subtree in document order), and the whole token
 * then points there (TOK_FAR, kid[]).
 */
#define TOK_ESC		0x100	/* a string with escapes */
#define TOK_LAZY	0x200	/* a container not tokenized yet */
#define TOK_FAR		0x400	/* a container whose children are at kid[i] + 1 */
#define TYPE(t)		((t)->type & 0xff)
#define NEXT(t)		((t)->parent)

static inline jsmntok_t *
tok(const json_doc *d, int i)
{
	return (jsmntok_t *)d->tok + i;
}

void
json_init(json_doc *d)
{
	memset(d, 0, sizeof(*d));
}

void
json_free(json_doc *d)
{
	free(d->tok);
	free(d->kid);
	buf_free(&d->escs);
	buf_free(&d->deep);
	buf_free(&d->hide);
	buf_free(&d->vis);
	json_init(d);
}

static int
grow(json_doc *d)
{
	int cap = d->cap ? d->cap * 2 : 256;
	void *a;

	if (d->cap > INT_MAX / 4)
		return -1;
	if ((a = realloc(d->tok, (size_t)cap * sizeof(jsmntok_t))) == NULL)
		return -1;
	d->tok = a;
	if ((a = realloc(d->kid, (size_t)cap * sizeof(int))) == NULL)
		return -1;
	d->kid = a;
	d->cap = cap;
	return 0;
}

static int
doc_fail(json_doc *d, const char *what)
{
	snprintf(d->err, sizeof(d->err), "%s", what);
	return -1;
}

/* The first of the n sorted ints at a that is >= v. */
static size_t
lower_bound(const int *a, size_t n, int v)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * One pass over the cnt tokens jsmn wrote at base, over text that starts
 * at offset off of the document and lacks the nhide spans of d->hide (each
 * an 'x' there): each token's type (a primitive's from its first byte),
 * its escape flag (from where json_check() saw escapes, in the same
 * document order), its offsets in the document, and where its subtree
 * ends. A token's container is its jsmn parent, except that jsmn hangs a
 * member's value on its key: a value follows its key at once, in the
 * key's object. A stack, no deeper than JSON_MAX_DEPTH, holds the
 * containers still open; `delta` is how much of the document the spans
 * passed so far left out.
 */
static void
build(json_doc *d, int base, int cnt, int off, int nhide)
{
	jsmntok_t *t = tok(d, base);
	const int *esc = (const int *)(void *)d->escs.p;
	const struct span *hide = (const struct span *)(void *)d->hide.p;
	size_t nesc = d->escs.len / sizeof(int), k;
	int open[JSON_MAX_DEPTH + 1], sp = 0, i, par, key = 0, ty, h = 0, delta = off;

	k = cnt > 0 ? lower_bound(esc, nesc, t[0].start + off) : 0;
	for (i = 0; i < cnt; i++) {
		if (key) {
			key = 0;	/* the value of key i - 1: nothing closes */
		} else {
			par = t[i].parent;
			while (sp > 0 && open[sp - 1] != par) {
				sp--;
				t[open[sp]].end += delta;
				NEXT(&t[open[sp]]) = base + i;
			}
			key = sp > 0 && TYPE(&t[open[sp - 1]]) == JSON_OBJECT;
		}
		switch (t[i].type) {
		case JSMN_OBJECT:
			ty = JSON_OBJECT;
			open[sp++] = i;
			t[i].start += delta;
			break;
		case JSMN_ARRAY:
			ty = JSON_ARRAY;
			open[sp++] = i;
			t[i].start += delta;
			break;
		case JSMN_STRING:
			ty = JSON_STRING;
			if (h < nhide && t[i].start - 1 + delta == hide[h].start) {
				/* a stand-in: the "" at hide[h].start */
				t[i].start = hide[h].start + 1;
				t[i].end = hide[h].end - 1;
				delta += hide[h].end - hide[h].start - 2;
				h++;
			} else {
				t[i].start += delta;
				t[i].end += delta;
			}
			while (k < nesc && esc[k] < t[i].start)
				k++;
			if (k < nesc && esc[k] == t[i].start) {
				ty |= TOK_ESC;
				k++;
			}
			break;
		default:
			if (h < nhide && t[i].start + delta == hide[h].start) {
				/* a stand-in: the 'x' at hide[h].start */
				t[i].start = hide[h].start;
				t[i].end = hide[h].end;
				delta += hide[h].end - hide[h].start - 1;
				h++;
				ty = type_of(d->src[t[i].start]) | TOK_LAZY;
				break;
			}
			t[i].start += delta;
			t[i].end += delta;
			ty = type_of(d->src[t[i].start]);
			break;
		}
		t[i].type = (jsmntype_t)ty;
		NEXT(&t[i]) = base + i + 1;
	}
	while (sp > 0) {
		sp--;
		t[open[sp]].end += delta;
		NEXT(&t[open[sp]]) = base + cnt;
	}
}

/*
 * Tokenize the value at s[from..to) into a block at the end of the array,
 * leaving out the nhide spans of d->hide (sorted, disjoint, inside it).
 * Returns the block's first token (the value itself), or -1 when memory
 * ran out or jsmn refused (a bug: the text was validated).
 */
static int
tokenize(json_doc *d, int from, int to, int nhide)
{
	const struct span *hide = (const struct span *)(void *)d->hide.p;
	jsmn_parser p;
	const char *js = d->src;
	int base = d->ntok, r, h, at, off = 0;
	size_t len = (size_t)to;

	jsmn_init(&p);
	if (nhide > 0) {	/* the text without the hidden spans */
		buf_reset(&d->vis);
		for (h = 0, at = from; h < nhide; at = hide[h++].end) {
			buf_put(&d->vis, d->src + at, (size_t)(hide[h].start - at));
			if (d->src[hide[h].start] == '"')
				buf_put(&d->vis, "\"\"", 2);
			else
				buf_putc(&d->vis, 'x');
		}
		buf_put(&d->vis, d->src + at, (size_t)(to - at));
		js = d->vis.p;
		len = d->vis.len;
		off = from;
	} else {
		p.pos = (unsigned)from;
	}
	if (d->cap - base < 1 && grow(d) == -1)
		return -1;
	for (;;) {
		r = jsmn_parse(&p, js, len, tok(d, base), (unsigned)(d->cap - base));
		if (r != JSMN_ERROR_NOMEM)
			break;
		/* jsmn resumes where it stopped once given more tokens. */
		if (grow(d) == -1)
			return -1;
	}
	if (r <= 0)
		return -1;
	build(d, base, r, off, nhide);
	d->ntok = base + r;
	return base;
}

/* Append a span to the hidden ones unless it lies in the last. */
static int
hide_add(json_doc *d, int nhide, int start, int end)
{
	struct span sp = { start, end };

	if (nhide > 0 && start < ((const struct span *)(void *)d->hide.p)[nhide - 1].end)
		return nhide;
	buf_put(&d->hide, &sp, sizeof(sp));
	return nhide + 1;
}

/* The deep spans strictly inside s[from..to), outermost only, into d->hide. */
static int
hide_deep(json_doc *d, int from, int to, int nhide)
{
	const struct span *deep = (const struct span *)(void *)d->deep.p;
	size_t n = d->deep.len / sizeof(*deep), lo = 0, hi = n, mid;

	while (lo < hi) {	/* the first that opens after from */
		mid = lo + (hi - lo) / 2;
		if (deep[mid].start <= from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && deep[lo].start < to; lo++)
		nhide = hide_add(d, nhide, deep[lo].start, deep[lo].end);
	return nhide;
}

/* Tokenize lazy token i: 0, or -1 when memory ran out. */
static int
expand(json_doc *d, int i)
{
	int base, nhide;

	buf_reset(&d->hide);
	nhide = hide_deep(d, tok(d, i)->start, tok(d, i)->end, 0);
	if ((base = tokenize(d, tok(d, i)->start, tok(d, i)->end, nhide)) < 0)
		return -1;
	tok(d, i)->type = (jsmntype_t)((tok(d, i)->type & ~TOK_LAZY) | TOK_FAR);
	tok(d, i)->size = tok(d, base)->size;
	d->kid[i] = base;
	return 0;
}

/*
 * A look inside token i: tokenize it first if it is lazy. The tree is
 * filled in behind a const pointer, as a cache is; memory running out
 * here has no error path to take.
 */
static inline const jsmntok_t *
open_tok(const json_doc *d, int i)
{
	if ((tok(d, i)->type & TOK_LAZY) && expand((json_doc *)(uintptr_t)d, i) == -1)
		alloc_fail();
	return tok(d, i);
}

static int
parse(json_doc *d, const char *s, size_t n, int lazy)
{
	struct jv root = { JSON_NONE, NULL, 0 };
	int r, from, to, nhide = 0;

	d->src = s;
	d->len = n;
	d->ntok = 0;
	d->err[0] = '\0';
	if (n > INT_MAX - 2)
		return doc_fail(d, "longer than 2 GB");
	/* The grammar first: jsmn only ever sees valid text, not too deep. */
	buf_reset(&d->escs);
	buf_reset(&d->deep);
	buf_reset(&d->hide);
	/* Each caller's own copy of check(), without the work it does not ask for. */
	r = lazy ? check(s, n, &root, NULL, &d->escs, &d->deep, d->err, sizeof(d->err), SIMD_BEST) :
	    check(s, n, &root, NULL, &d->escs, NULL, d->err, sizeof(d->err), SIMD_BEST);
	if (r != 0)
		return r;
	from = (int)(root.p - s);
	to = from + (int)root.n;
	if (root.t == JSON_STRING)
		from--, to++;
	if (lazy)
		nhide = hide_deep(d, from, to, 0);
	if (tokenize(d, from, to, nhide) != 0)
		return doc_fail(d, "out of memory");
	return 0;
}

int
json_parse(json_doc *d, const char *s, size_t n)
{
	return parse(d, s, n, 0);
}

int
json_parse_lazy(json_doc *d, const char *s, size_t n)
{
	return parse(d, s, n, 1);
}

enum json_type
json_type(const json_doc *d, int i)
{
	if (i < 0 || i >= d->ntok)
		return JSON_NONE;
	return (enum json_type)TYPE(tok(d, i));
}

struct jv
json_span(const json_doc *d, int i)
{
	struct jv v = { JSON_NONE, NULL, 0 };
	const jsmntok_t *t;

	if (i < 0 || i >= d->ntok)
		return v;
	t = tok(d, i);
	v.t = (enum json_type)TYPE(t);
	v.p = d->src + t->start;
	v.n = (size_t)(t->end - t->start);
	return v;
}

const char *
json_raw(const json_doc *d, int i, size_t *n)
{
	if (i < 0 || i >= d->ntok) {
		*n = 0;
		return NULL;
	}
	*n = (size_t)(tok(d, i)->end - tok(d, i)->start);
	return d->src + tok(d, i)->start;
}

int
json_escaped(const json_doc *d, int i)
{
	return i >= 0 && i < d->ntok && (tok(d, i)->type & TOK_ESC);
}

int
json_size(const json_doc *d, int i)
{
	return (i < 0 || i >= d->ntok) ? 0 : open_tok(d, i)->size;
}

int
json_lazy(const json_doc *d, int i)
{
	return i >= 0 && i < d->ntok && (tok(d, i)->type & TOK_LAZY);
}

int
json_next(const json_doc *d, int i)
{
	return NEXT(tok(d, i));
}

/* The first child of container i (a lazy one is tokenized first), or -1. */
static inline int
child(const json_doc *d, int i)
{
	const jsmntok_t *t = open_tok(d, i);

	if (t->size == 0)
		return -1;
	return (t->type & TOK_FAR) ? d->kid[i] + 1 : i + 1;
}

int
json_child(const json_doc *d, int i)
{
	if (i < 0 || i >= d->ntok ||
	    (TYPE(tok(d, i)) != JSON_OBJECT && TYPE(tok(d, i)) != JSON_ARRAY))
		return -1;
	return child(d, i);
}

/* Does string token t equal key[0..klen)? Raw bytes, unless it has escapes. */
static int
tok_eq(const json_doc *d, const jsmntok_t *t, const char *key, size_t klen)
{
	size_t n = (size_t)(t->end - t->start);

	if (t->type & TOK_ESC)
		return json_str_eq(d->src + t->start, n, key, klen);
	return n == klen && (n == 0 || memcmp(d->src + t->start, key, n) == 0);
}

int
json_get(const json_doc *d, int i, const char *key, size_t klen)
{
	int k, n, j;

	if (json_type(d, i) != JSON_OBJECT)
		return -1;
	j = child(d, i);
	n = tok(d, i)->size;
	for (k = 0; k < n; k++) {
		if (tok_eq(d, tok(d, j), key, klen))
			return j + 1;
		j = NEXT(tok(d, j + 1));
	}
	return -1;
}

int
json_at(const json_doc *d, int i, int n)
{
	int k, j;

	if (json_type(d, i) != JSON_ARRAY || n < 0 || n >= json_size(d, i))
		return -1;
	j = child(d, i);
	for (k = 0; k < n; k++)
		j = NEXT(tok(d, j));
	return j;
}

int
json_path(const json_doc *d, int i, const char *path)
{
	const char *p = path, *e;
	long n;

	while (*p && i >= 0) {
		if (*p == '.') {
			p++;
			continue;
		}
		if (*p == '[') {
			for (n = 0, e = p + 1; isdig(*e) && n <= INT_MAX; e++)
				n = n * 10 + (*e - '0');
			if (e == p + 1 || *e != ']' || n > INT_MAX)
				return -1;
			i = json_at(d, i, (int)n);
			p = e + 1;
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
	struct jv s = json_span(d, i);

	return jv_int64(&s, v);
}

int
json_streq(const json_doc *d, int i, const char *s, size_t n)
{
	return json_type(d, i) == JSON_STRING && tok_eq(d, tok(d, i), s, n);
}

int
json_unescape(const json_doc *d, int i, buf *out)
{
	if (json_type(d, i) != JSON_STRING)
		return -1;
	json_unescape_raw(d->src + tok(d, i)->start,
	    (size_t)(tok(d, i)->end - tok(d, i)->start), out);
	return 0;
}
