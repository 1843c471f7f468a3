/*
 * json.h - strict JSON reading over the system jsmn tokenizer.
 *
 * jsmn only tokenizes, and accepts more than JSON (`{}{}`, `{"a":::"b"}`,
 * trailing garbage, bad numbers, raw control characters in strings).
 * json_parse() runs jsmn, then walks the token tree checking every byte
 * between tokens, every primitive's grammar and every string's escapes, so
 * that a document is accepted only if it is exactly one RFC 8259 value,
 * optionally surrounded by white space.
 *
 * Tokens are addressed by index; 0 is the root. A document borrows the
 * text it was parsed from: keep the text alive while using the document.
 * One json_doc is meant to be reused line after line: its token arrays grow
 * to the largest line seen and are then reused without allocation.
 */
#ifndef VKPIPE_JSON_H
#define VKPIPE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum json_type {
	JSON_NONE = 0,	/* no such token (index -1) */
	JSON_OBJECT,
	JSON_ARRAY,
	JSON_STRING,
	JSON_NUMBER,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL
};

#define JSON_MAX_DEPTH	512

struct json_tok;

typedef struct json_doc {
	const char	*src;
	size_t		 len;
	struct json_tok	*tok;	/* ntok tokens, in document (pre-)order */
	int		 ntok;
	int		 cap;
	void		*jtok;	/* jsmn's own tokens, grown with cap */
	char		 err[128];	/* why json_parse() failed */
} json_doc;

void	json_init(json_doc *d);
void	json_free(json_doc *d);

/*
 * Parse s[0..n) as exactly one JSON value. Returns 0 on success, 1 if the
 * text is only white space (no value), -1 if it is not valid JSON; then
 * d->err says why and where (byte offsets count from 1).
 */
int	json_parse(json_doc *d, const char *s, size_t n);

enum json_type json_type(const json_doc *d, int i);
/* The raw text of token i: for strings, the bytes between the quotes, still escaped. */
const char *json_raw(const json_doc *d, int i, size_t *n);
/* Does string token i hold backslash escapes (else its raw bytes are its value)? */
int	json_escaped(const json_doc *d, int i);
/* Number of members (object) or elements (array). */
int	json_size(const json_doc *d, int i);
/* Index of the token after the whole subtree of i. */
int	json_next(const json_doc *d, int i);
/* First child of an array/object (for objects: the first key), or -1 if empty. */
int	json_child(const json_doc *d, int i);

/* The value of member `key` (klen bytes, unescaped) of object i, or -1. */
int	json_get(const json_doc *d, int i, const char *key, size_t klen);
/* Element n of array i, or -1. */
int	json_at(const json_doc *d, int i, int n);
/*
 * Follow a dotted path from token i: "object.message.peer_id",
 * "attachments[0].type". Returns the token, or -1 when any step is missing
 * or of the wrong type.
 */
int	json_path(const json_doc *d, int i, const char *path);

/* An integer that fits in int64_t (no fraction, no exponent). 0 or -1. */
int	json_int64(const json_doc *d, int i, int64_t *v);
/* Does string token i, unescaped, equal s[0..n)? */
int	json_streq(const json_doc *d, int i, const char *s, size_t n);
/*
 * Append the unescaped bytes of string token i to out: every escape, \uXXXX
 * with surrogate pairs; a lone surrogate becomes U+FFFD. Bytes are not
 * checked for UTF-8 here (the writer does that). Returns 0, -1 if not a string.
 */
int	json_unescape(const json_doc *d, int i, buf *out);
/* The same over a raw escaped span, for callers that hold one. */
void	json_unescape_raw(const char *s, size_t n, buf *out);

#endif
