/*
 * jsonsimd.h - the JSON reader's SSE2 primitives (json.c, jsonv.c): each
 * classifies sixteen bytes, a bit per byte that ends a run; SSE_RUN walks
 * a run with one. Internal to common/json*.c.
 *
 * The callers come in two builds chosen by a constant `simd`: sixteen
 * bytes at a time with SSE2 (x86_64's baseline), and portable C.
 * json_check() and json_parse() take the first where the compiler has it;
 * json_check_portable() always takes the second, so that the tests and
 * the fuzz harness hold the two to the same verdicts and the same index
 * on every input.
 */
#ifndef VKPIPE_JSONSIMD_H
#define VKPIPE_JSONSIMD_H

#if defined(__SSE2__)
#include <emmintrin.h>
#include <stdint.h>
#define HAVE_SIMD	1
#else
#define HAVE_SIMD	0
#endif

#if HAVE_SIMD
static inline __attribute__((always_inline)) unsigned
not_ws(__m128i x)
{
	__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')),
	    _mm_cmpeq_epi8(x, _mm_set1_epi8('\t'))), _mm_or_si128(
	    _mm_cmpeq_epi8(x, _mm_set1_epi8('\n')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\r'))));

	return (unsigned)_mm_movemask_epi8(m) ^ 0xffffu;
}

static inline __attribute__((always_inline)) unsigned
not_digit(__m128i x)
{
	/* digits: x - '0' <= 9 unsigned, that is min(x - '0', 9) == x - '0' */
	__m128i d = _mm_sub_epi8(x, _mm_set1_epi8('0'));

	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)),
	    d)) ^ 0xffffu;
}

/* '"', '\\' or a control character: what ends a plain run in a string */
static inline __attribute__((always_inline)) unsigned
str_stop(__m128i x)
{
	/*
	 * x ^ 2 takes '"' (0x22) to 0x20 and the control characters onto
	 * themselves, and no other byte below 0x21: one unsigned min for both
	 */
	__m128i y = _mm_xor_si128(x, _mm_set1_epi8(0x02));
	__m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(y, _mm_set1_epi8(0x20)), y),
	    _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));

	return (unsigned)_mm_movemask_epi8(m);
}

/* str_stop() of the 64 bytes at p, a bit per byte */
static inline __attribute__((always_inline)) uint64_t
stop64(const char *p)
{
	const __m128i *v = (const __m128i *)(const void *)p;

	return (uint64_t)str_stop(_mm_loadu_si128(v)) |
	    (uint64_t)str_stop(_mm_loadu_si128(v + 1)) << 16 |
	    (uint64_t)str_stop(_mm_loadu_si128(v + 2)) << 32 |
	    (uint64_t)str_stop(_mm_loadu_si128(v + 3)) << 48;
}

/* '"' or a bracket: what a skip over a validated container looks at */
static inline __attribute__((always_inline)) unsigned
bracket_stop(__m128i x)
{
	/* x | 0x20 is '{' for '{' and '[' only, '}' for '}' and ']' only */
	__m128i y = _mm_or_si128(x, _mm_set1_epi8(0x20));
	__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(y, _mm_set1_epi8('{')),
	    _mm_cmpeq_epi8(y, _mm_set1_epi8('}'))), _mm_cmpeq_epi8(x, _mm_set1_epi8('"')));

	return (unsigned)_mm_movemask_epi8(m);
}

/*
 * Return the first byte at or after p that stop() flags (a bit per byte
 * of the sixteen it is given), if there is one before the last fewer than
 * sixteen before e; else leave p at those, for the caller's portable loop.
 */
#define SSE_RUN(p, e, stop)	do { \
	unsigned bits_; \
	\
	for (; simd && (e) - (p) >= 16; (p) += 16) \
		if ((bits_ = stop(_mm_loadu_si128((const __m128i *)(const void *)(p)))) != 0) \
			return (p) + __builtin_ctz(bits_); \
} while (0)
#else
#define SSE_RUN(p, e, stop)	((void)simd, (void)(e))
#endif

#endif
