/*
 * jsonw.h - writing compact JSON into a buf.
 *
 * Everything written is valid JSON and valid UTF-8: strings are escaped
 * (", \, control characters), and any byte that is not part of a valid
 * UTF-8 sequence (overlong forms, surrogates, > U+10FFFF, truncated
 * sequences) becomes U+FFFD. '/' and non-ASCII characters are written as
 * they are.
 */
#ifndef VKPIPE_JSONW_H
#define VKPIPE_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"

/* Length of the valid UTF-8 sequence at s (2..4) of a byte >= 0x80; 0 if
 * invalid (ASCII too). metrics.c checks label values with it. */
size_t	utf8_len(const unsigned char *s, size_t n);
/* A quoted string from raw (unescaped) bytes. */
void	jw_str(buf *b, const char *s, size_t n);
void	jw_cstr(buf *b, const char *s);
void	jw_int(buf *b, int64_t v);
static inline void jw_null(buf *b) { buf_put(b, "null", 4); }
/*
 * A string of validated JSON text, raw (between its quotes, still escaped:
 * esc says whether it holds a backslash), re-escaped canonically; scratch
 * is working space.
 */
void	jw_rawstr(buf *b, const char *s, size_t n, int esc, buf *scratch);
/* String token i of d, the same way. */
void	jw_tokstr(buf *b, const json_doc *d, int i, buf *scratch);
/* The whole value at token i, compacted (no white space), strings canonical. */
void	jw_value(buf *b, const json_doc *d, int i, buf *scratch);
/* The same from validated JSON text p[0..n) (json_check accepted it). */
void	jw_text(buf *b, const char *p, size_t n, buf *scratch);
/* A literal piece of JSON the caller vouches for, e.g. "{\"a\":". */
static inline void jw_lit(buf *b, const char *s, size_t n) { buf_put(b, s, n); }
#define JW_LIT(b, s)	jw_lit((b), (s), sizeof(s) - 1)

#endif
