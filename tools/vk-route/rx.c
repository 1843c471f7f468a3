/* rx.c - POSIX ERE, validated by regcomp, run by PCRE2's JIT when it can. */
#define _GNU_SOURCE	/* memmem */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rx.h"

struct rx {
	pcre2_code	*code;		/* NULL: use re */
	pcre2_match_data *md;
	int		 jit;
	pcre2_match_context *mc;	/* a big JIT stack, made when first needed */
	pcre2_jit_stack	*stack;
	regex_t		 re;
	int		 have_re;
	buf		 subj;		/* the fallback's NUL-terminated copy */
	char		*lit;		/* a pattern that is a plain literal, or NULL */
	size_t		 litn;
	int		 anchor;	/* its ^ (1), $ (2), both (3) */
	char		 pre[16];	/* every match starts the subject with these */
	size_t		 pren;
	int		 need;		/* a byte every match holds, or -1 */
	size_t		 needat;	/* where it is in the pattern */
	int		 rc;		/* the last error: PCRE2's, or 1000 + regexec's */
};

/*
 * A pattern with no ERE metacharacter other than a leading ^ or a
 * trailing $ is a literal: memmem/memcmp beat any regex engine on it.
 */
static void
literal(struct rx *r, const char *p, size_t n)
{
	size_t k;
	int anchor = 0;

	if (n > 0 && p[0] == '^')
		anchor |= 1, p++, n--;
	if (n > 0 && p[n - 1] == '$')
		anchor |= 2, n--;
	for (k = 0; k < n; k++)
		if (strchr(".[]()*+?{}|^$\\", p[k]) != NULL)
			return;
	if ((r->lit = malloc(n + 1)) == NULL)
		return;
	memcpy(r->lit, p, n);
	r->lit[n] = '\0';
	r->litn = n;
	r->anchor = anchor;
}

/* The ']' closing the bracket expression that opens at p[i] (or n - 1). */
static size_t
bracket_end(const char *p, size_t i, size_t n)
{
	size_t j = i + 1;

	if (j < n && p[j] == '^')
		j++;
	if (j < n && p[j] == ']')
		j++;
	while (j < n && p[j] != ']') {
		if (p[j] == '[' && j + 1 < n &&
		    (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
			char close = p[j + 1];

			for (j += 2; j + 1 < n && !(p[j] == close && p[j + 1] == ']'); j++)
				;
			j += 2;
		} else {
			j++;
		}
	}
	return j < n ? j : n - 1;
}

static int
isalnum_(int c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/*
 * How common a byte is in Event text, roughly (0 rare .. 9 everywhere):
 * the byte rx_match() looks for first is the rarest one a match needs.
 */
static int
commonness(unsigned char c)
{
	if (c == ' ' || c == 0xd0 || c == 0xd1)	/* Cyrillic lead bytes */
		return 9;
	if (c >= 'a' && c <= 'z')
		return strchr("etaoinshrdlu", c) != NULL ? 8 : 6;
	if (c >= 0x80 && c <= 0xbf)	/* о е а и н т с р в л к м д п у, then the rest */
		return memchr("\xbe\xb5\xb0\xb8\xbd\x82\x81\x80\xb2\xbb\xba\xbc\xb4\xbf\x83",
		    c, 15) != NULL ? 7 : 4;
	if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))
		return 5;
	return c >= 0x80 ? 3 : 2;
}

/* Is p[i..] a POSIX interval "{n}", "{n,}", "{n,m}", "{,m}"? Its length, or 0. */
static size_t
interval(const char *p, size_t i, size_t n, int *nomin)
{
	size_t j = i + 1;
	int digits = 0;

	*nomin = j < n && p[j] == ',';
	while (j < n && p[j] >= '0' && p[j] <= '9')
		j++, digits++;
	if (j < n && p[j] == ',') {
		j++;
		while (j < n && p[j] >= '0' && p[j] <= '9')
			j++, digits++;
	}
	if (j < n && p[j] == '}' && digits > 0)
		return j - i + 1;
	return 0;
}

/*
 * What every match must hold, read from the ERE (already accepted by
 * regcomp) conservatively: literal characters outside any group, not
 * under a repetition, in a pattern without a top-level '|'. A subject
 * without them cannot match: rx_match() says so without running a regex.
 */
static void
required(struct rx *r, const char *p, size_t n)
{
	size_t i, k, ps = 0, pe = 0;	/* the pending literal character */
	int depth = 0, start, best = 10, nomin;

	r->need = -1;
	for (i = 0; i < n; i++) {	/* any top-level '|': nothing is required */
		if (p[i] == '\\')
			i++;
		else if (p[i] == '(')
			depth++;
		else if (p[i] == ')' && depth > 0)
			depth--;
		else if (p[i] == '|' && depth == 0)
			return;
		else if (p[i] == '[')
			i = bracket_end(p, i, n);
	}
	depth = 0;
	i = start = n > 0 && p[0] == '^';
	while (i <= n) {
		unsigned char c = i < n ? (unsigned char)p[i] : 0;
		size_t ls = 0, le = 0;	/* a literal character here */

		if (pe > ps && (i == n || !strchr("*+?{", c))) {
			/* the pending character is required */
			for (k = ps; k < pe && depth == 0; k++) {
				if (start && r->pren < sizeof(r->pre))
					r->pre[r->pren++] = p[k];
				if (commonness((unsigned char)p[k]) < best) {
					best = commonness((unsigned char)p[k]);
					r->need = (unsigned char)p[k];
					r->needat = k;
				}
			}
		}
		if (i == n)
			break;
		if (c == '\\' && i + 1 < n && (unsigned char)p[i + 1] < 0x80 &&
		    !isalnum_(p[i + 1]) && !strchr("<>`'", p[i + 1])) {
			ls = i + 1;
			le = i + 2;
		} else if (c >= 0x80 || !strchr("\\()|[].^$*+?{}", c)) {
			ls = i;
			le = i + 1;
			if (c >= 0xc0)	/* a UTF-8 character is repeated whole */
				while (le < n && ((unsigned char)p[le] & 0xc0) == 0x80)
					le++;
		}
		if (ls == le || depth > 0)
			start = 0;	/* past the literal prefix */
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		if (c == '[')
			i = bracket_end(p, i, n);
		if (c == '{' && (k = interval(p, i, n, &nomin)) > 0)
			i += k - 1;	/* its digits are no literal */
		ps = ls;
		pe = le;
		i = le > ls ? le : i + 1 + (c == '\\');
	}
}

/*
 * Rewrite an ERE (already accepted by regcomp) in PCRE2 syntax. -1 when
 * the pattern uses something this does not translate: regexec then runs it.
 */
static int
ere_to_pcre(const char *p, size_t n, buf *o)
{
	size_t i = 0, k;
	int quant = 0, nomin;

	while (i < n) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\\') {
			if (i + 1 >= n)
				return -1;
			c = (unsigned char)p[i + 1];
			i += 2;
			quant = 0;
			if (strchr("wWsSbB123456789", c) != NULL && c != '\0') {
				buf_putc(o, '\\');
				buf_putc(o, (char)c);
			} else if (c == '<') {
				buf_puts(o, "\\b(?=\\w)");
			} else if (c == '>') {
				buf_puts(o, "\\b(?<=\\w)");
			} else if (c == '`') {
				buf_puts(o, "\\A");
			} else if (c == '\'') {
				buf_puts(o, "\\z");
			} else if (isalnum_(c) || c >= 0x80) {
				/* glibc reads an unknown escape as the letter itself. */
				buf_putc(o, (char)c);
			} else {
				buf_putc(o, '\\');
				buf_putc(o, (char)c);
			}
			continue;
		}
		if (c == '[') {
			buf_putc(o, '[');
			i++;
			if (i < n && p[i] == '^')
				buf_putc(o, '^'), i++;
			if (i < n && p[i] == ']')
				buf_puts(o, "\\]"), i++;
			while (i < n && p[i] != ']') {
				if (p[i] == '[' && i + 1 < n && p[i + 1] == ':') {
					const char *e = strstr(p + i + 2, ":]");

					if (e == NULL || (size_t)(e - p) >= n)
						return -1;
					k = (size_t)(e - p) + 2;
					buf_put(o, p + i, k - i);
					i = k;
					continue;
				}
				if (p[i] == '[' && i + 1 < n &&
				    (p[i + 1] == '.' || p[i + 1] == '='))
					return -1;
				if (p[i] == '\\' || p[i] == '[')
					buf_putc(o, '\\');
				buf_putc(o, p[i]);
				i++;
			}
			if (i >= n)
				return -1;
			buf_putc(o, ']');
			i++;
			quant = 0;
			continue;
		}
		if (c == '*' || c == '+' || c == '?') {
			if (quant)	/* "a*+" is possessive in PCRE: not ERE */
				return -1;
			buf_putc(o, (char)c);
			quant = 1;
			i++;
			continue;
		}
		if (c == '{') {
			k = interval(p, i, n, &nomin);
			if (k == 0) {
				buf_puts(o, "\\{");
				i++;
				quant = 0;
				continue;
			}
			if (quant)
				return -1;
			buf_putc(o, '{');
			if (nomin)
				buf_putc(o, '0');
			buf_put(o, p + i + 1, k - 1);
			i += k;
			quant = 1;
			continue;
		}
		if (c == '}')
			buf_putc(o, '\\');
		buf_putc(o, (char)c);
		quant = 0;
		i++;
	}
	return 0;
}

/*
 * How big regcomp() makes a pattern: it copies what a repetition applies to
 * (X+ is XX*, X{3} is XXX), so nested or stacked repetitions multiply:
 * "a+++…" or "((a{99}){99}){99}" would take gigabytes. An estimate of the
 * expanded size, in atoms, saturating above RX_MAX_SIZE.
 */
#define RX_MAX_SIZE	2000
#define RX_MAX_DEPTH	64
#define RX_MAX_NEST	5	/* repetitions inside repetitions */

static unsigned long
sat(unsigned long long v)
{
	return v > 2 * RX_MAX_SIZE ? 2 * RX_MAX_SIZE : (unsigned long)v;
}

static unsigned long
ere_size(const char *p, size_t n, const char **why)
{
	struct { unsigned long alt, seq, last; int lastq, maxq; } st[RX_MAX_DEPTH + 1], *g = st;
	size_t i = 0, j;
	unsigned long m, k, c;
	int q, prevq = 0;	/* the last token was a repetition */

	memset(g, 0, sizeof(*g));
	while (i < n) {
		switch (p[i]) {
		case '(':
			if (g == st + RX_MAX_DEPTH) {
				*why = "groups nested more than 64 deep";
				return 2 * RX_MAX_SIZE;
			}
			g++;
			memset(g, 0, sizeof(*g));
			i++;
			prevq = 0;
			continue;
		case ')':
			if (g == st)
				break;	/* a literal ')' */
			c = sat((unsigned long long)g->alt + g->seq + 1);
			q = g->maxq;
			g--;
			g->last = c;
			g->lastq = q;
			g->seq = sat((unsigned long long)g->seq + c);
			i++;
			prevq = 0;
			continue;
		case '|':
			g->alt = sat((unsigned long long)g->alt + g->seq);
			g->seq = g->last = 0;
			g->lastq = 0;
			i++;
			prevq = 0;
			continue;
		case '*':
		case '?':
			if (prevq)
				goto stacked;
			g->seq = sat((unsigned long long)g->seq + 1);
			g->last = sat((unsigned long long)g->last + 1);
			i++;
			goto repeated;
		case '+':
			if (prevq)
				goto stacked;
			g->seq = sat((unsigned long long)g->seq + g->last);
			g->last = sat(2ULL * g->last);
			i++;
			goto repeated;
		case '{':
			for (j = i + 1, m = 0; j < n && p[j] >= '0' && p[j] <= '9'; j++)
				m = m > 2 * RX_MAX_SIZE ? m : m * 10 + (unsigned long)(p[j] - '0');
			k = m;
			if (j < n && p[j] == ',') {
				for (j++, k = 0; j < n && p[j] >= '0' && p[j] <= '9'; j++)
					k = k > 2 * RX_MAX_SIZE ? k : k * 10 + (unsigned long)(p[j] - '0');
				if (k == 0 && p[j - 1] == ',')
					k = m + 1;	/* {m,}: m copies and a star */
			}
			if (j >= n || p[j] != '}' || j == i + 1)
				break;	/* not a bound: a literal '{' */
			if (prevq)
				goto stacked;
			if (k < m)
				k = m;
			if (k == 0)
				k = 1;
			c = sat((unsigned long long)g->last * k);
			g->seq = sat((unsigned long long)g->seq + c - g->last);
			g->last = c;
			i = j + 1;
			goto repeated;
		case '[':
			/* A bracket expression is one atom: skip to its ']'. */
			g->last = 1;
			g->lastq = 0;
			g->seq = sat((unsigned long long)g->seq + 1);
			i = bracket_end(p, i, n) + 1;
			prevq = 0;
			continue;
		case '\\':
			i++;	/* the escaped character is the atom */
			break;
		default:
			break;
		}
		g->last = 1;
		g->lastq = 0;
		g->seq = sat((unsigned long long)g->seq + 1);
		i++;
		prevq = 0;
		continue;
repeated:
		prevq = 1;
		if (++g->lastq > g->maxq)
			g->maxq = g->lastq;
		if (g->maxq > RX_MAX_NEST) {
			*why = "repetitions nested more than 5 deep";
			return 2 * RX_MAX_SIZE;
		}
		continue;
stacked:
		*why = "a repetition of a repetition (such as ** or *+), which POSIX "
		    "leaves undefined: write one";
		return 2 * RX_MAX_SIZE;
	}
	while (g > st) {	/* regcomp() refused unbalanced groups already */
		c = sat((unsigned long long)g->alt + g->seq + 1);
		g--;
		g->seq = sat((unsigned long long)g->seq + c);
	}
	return sat((unsigned long long)g->alt + g->seq);
}

struct rx *
rx_compile(const char *pat, size_t n, char *err, size_t errlen)
{
	struct rx *r;
	buf cpat = BUF_INIT, pc = BUF_INIT;
	const char *why;
	int rc, ec;
	PCRE2_SIZE eo;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (memchr(pat, '\0', n) != NULL) {
		snprintf(err, errlen, "a regular expression cannot hold NUL");
		free(r);
		return NULL;
	}
	why = NULL;
	if (ere_size(pat, n, &why) > RX_MAX_SIZE) {
		if (why != NULL)
			snprintf(err, errlen, "regular expression too costly to compile: "
			    "%s", why);
		else
			snprintf(err, errlen, "regular expression too large once its "
			    "repetitions are expanded (more than %d atoms): simplify it",
			    RX_MAX_SIZE);
		free(r);
		return NULL;
	}
	buf_put(&cpat, pat, n);
	rc = regcomp(&r->re, buf_cstr(&cpat), REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char msg[128];

		regerror(rc, &r->re, msg, sizeof(msg));
		snprintf(err, errlen, "invalid regular expression: %s", msg);
		buf_free(&cpat);
		free(r);
		return NULL;
	}
	r->have_re = 1;
	literal(r, pat, n);
	required(r, pat, n);
	if (ere_to_pcre(pat, n, &pc) == 0) {
		r->code = pcre2_compile((PCRE2_SPTR)pc.p, pc.len,
		    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_UCP |
		    PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY, &ec, &eo, NULL);
	}
	if (r->code != NULL) {
		r->md = pcre2_match_data_create_from_pattern(r->code, NULL);
		r->jit = pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE) == 0;
		if (r->md == NULL) {
			pcre2_code_free(r->code);
			r->code = NULL;
		}
	}
	buf_free(&cpat);
	buf_free(&pc);
	return r;
}

/*
 * PCRE2: the JIT first; when it runs out of stack (a long subject and a
 * pattern that backtracks, such as ^(ab|a)+$ on 4096 bytes), again with a
 * JIT stack of RX_JIT_STACK, then with the interpreter, whose limits
 * (match and depth) are PCRE2's defaults. -1 if that fails too.
 */
#define RX_JIT_STACK	(8u << 20)

static int
pcre_match(struct rx *r, const char *s, size_t n)
{
	int rc = PCRE2_ERROR_JIT_STACKLIMIT;

	if (r->jit) {
		rc = pcre2_jit_match(r->code, (PCRE2_SPTR)s, n, 0, 0, r->md, NULL);
		if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
			if (r->mc == NULL && (r->mc = pcre2_match_context_create(NULL)) != NULL &&
			    (r->stack = pcre2_jit_stack_create(32u << 10, RX_JIT_STACK, NULL)) != NULL)
				pcre2_jit_stack_assign(r->mc, NULL, r->stack);
			if (r->stack != NULL)
				rc = pcre2_jit_match(r->code, (PCRE2_SPTR)s, n, 0, 0, r->md, r->mc);
		}
	}
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
		rc = pcre2_match(r->code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_JIT, r->md, NULL);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	r->rc = rc;
	return -1;
}

/*
 * An unanchored literal somewhere in s: where its rarest byte is, is it
 * there? Faster than memmem on the short subjects of Events.
 */
static int
lit_find(const struct rx *r, const char *s, size_t n)
{
	const char *q, *end;
	size_t at = r->needat;	/* no ^: the pattern is the literal */

	if (r->litn == 0)
		return 1;
	if (r->need < 0 || at >= r->litn)
		return memmem(s, n, r->lit, r->litn) != NULL;
	/* the rare byte at s[j] starts a candidate at s[j - at], which must fit */
	end = s + at + (n - r->litn) + 1;
	for (q = s + at; q < end && (q = memchr(q, r->need, (size_t)(end - q))) != NULL; q++)
		if (memcmp(q - at, r->lit, r->litn) == 0)
			return 1;
	return 0;
}

int
rx_match(struct rx *r, const char *s, size_t n)
{
	regmatch_t m;
	int rc;

	if (r->pren > 0 && (n < r->pren || s[0] != r->pre[0] ||
	    memcmp(s, r->pre, r->pren) != 0))
		return 0;
	if (r->need >= 0 && memchr(s, r->need, n) == NULL)
		return 0;
	if (r->lit != NULL) {
		if (n < r->litn)
			return 0;
		switch (r->anchor) {
		case 0: return lit_find(r, s, n);
		case 1: return memcmp(s, r->lit, r->litn) == 0;
		case 2: return memcmp(s + n - r->litn, r->lit, r->litn) == 0;
		default: return n == r->litn && memcmp(s, r->lit, n) == 0;
		}
	}
	if (r->code != NULL)
		return pcre_match(r, s, n);
	/* The subject is a span of the line, not a C string; regexec (and
	 * sanitizers watching it) may look for its NUL. */
	buf_reset(&r->subj);
	buf_put(&r->subj, s, n);
	m.rm_so = 0;
	m.rm_eo = (regoff_t)n;
	rc = regexec(&r->re, buf_cstr(&r->subj), 1, &m, REG_STARTEND);
	if (rc == 0 || rc == REG_NOMATCH)
		return rc == 0;
	r->rc = 1000 + rc;
	return -1;
}

const char *
rx_error(const struct rx *r, char *buf, size_t n)
{
	if (r->rc >= 1000) {
		regerror(r->rc - 1000, &r->re, buf, n);
		return buf;
	}
	if (pcre2_get_error_message(r->rc, (PCRE2_UCHAR *)buf, n) < 0)
		snprintf(buf, n, "PCRE2 error %d", r->rc);
	return buf;
}

int
rx_fast(const struct rx *r)
{
	return r->lit != NULL || r->code != NULL;
}

void
rx_free(struct rx *r)
{
	if (r == NULL)
		return;
	if (r->md != NULL)
		pcre2_match_data_free(r->md);
	if (r->mc != NULL)
		pcre2_match_context_free(r->mc);
	if (r->stack != NULL)
		pcre2_jit_stack_free(r->stack);
	if (r->code != NULL)
		pcre2_code_free(r->code);
	if (r->have_re)
		regfree(&r->re);
	buf_free(&r->subj);
	free(r->lit);
	free(r);
}
