/*
 * rx.h - POSIX extended regular expressions, matched fast.
 *
 * A pattern is checked with regcomp(REG_EXTENDED), so what is accepted and
 * the error messages are POSIX ERE's. It is then translated to PCRE2 syntax
 * (bracket expressions, GNU escapes, intervals) and JIT-compiled: glibc's
 * regexec is a backtracking-free but slow automaton, several times slower
 * than PCRE2's JIT on event text. Patterns the translation does not cover
 * (collating elements, equivalence classes, stacked quantifiers) fall back
 * to regexec. Only match / no match is asked, so POSIX's leftmost-longest
 * rule and PCRE's leftmost-first rule cannot disagree. A pattern that is a
 * plain literal (perhaps anchored) is matched with memmem/memcmp.
 */
#ifndef VKROUTE_RX_H
#define VKROUTE_RX_H

#include <stddef.h>

struct rx;

/* NULL with err filled when the pattern is not a valid ERE. */
struct rx *rx_compile(const char *pat, size_t n, char *err, size_t errlen);
/*
 * 1 if the subject matches somewhere, else 0; -1 when it cannot be told
 * (a backtracking limit hit even after the retries rx.c makes): rx_error().
 */
int	rx_match(struct rx *r, const char *s, size_t n);
/* Why the last rx_match() returned -1, into buf. */
const char *rx_error(const struct rx *r, char *buf, size_t n);
/* Is this regex served by PCRE2 (1) or by the regexec fallback (0)? */
int	rx_fast(const struct rx *r);
void	rx_free(struct rx *r);

#endif
