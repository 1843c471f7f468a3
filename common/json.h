/*
 * json.h - the one JSON reader: every line every program reads goes here.
 *
 * One grammar, in json_check(): exactly one RFC 8259 value, optionally
 * surrounded by white space, read in one pass in time linear in the size
 * of the text, whatever its nesting (deeper than JSON_MAX_DEPTH is refused
 * where it starts). Its error messages are the only ones: the same bad
 * line gets the same reason in every program.
 *
 * Two ways to look at what it accepted:
 *
 *  - spans (struct jv): values are pieces of the validated text, found by
 *    skipping over the others (jv_get, jv_at, jv_next), helped by a shallow
 *    index that json_check() fills as it goes: the members of the root
 *    object and of its objects, where an Event's fields are. For programs
 *    that read a few fields and pass the line on (vk-route).
 *
 *  - a token tree (json_doc): json_parse() checks the text, then has jsmn,
 *    the system tokenizer, build the tree over text known to be valid and
 *    not too deep. Tokens are addressed by index; 0 is the root. For
 *    programs that read much of a document (vk-normalize, vk-poll).
 *
 * Both borrow the text: keep it alive while using them. A json_doc is
 * meant to be reused line after line: its arrays grow to the largest line
 * seen and are then reused without allocation.
 */
#ifndef VKPIPE_JSON_H
#define VKPIPE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum json_type {
	JSON_NONE = 0,	/* no such value (token index -1, a missing member) */
	JSON_OBJECT,
	JSON_ARRAY,
	JSON_STRING,
	JSON_NUMBER,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL
};

#define JSON_MAX_DEPTH	512	/* containers inside one another */

/* --- the grammar ------------------------------------------------------- */

/* A value in validated text. For strings, p..p+n is between the quotes, still escaped. */
struct jv {
	enum json_type t;	/* JSON_NONE: missing */
	const char *p;
	size_t	 n;
};

/*
 * The root object's members and their members (two levels), recorded by
 * json_check() in document order; the members of entry j are the depth-2
 * entries j+1 .. next-1.
 */
#define JSON_INDEX_MEMB	64
struct json_index {
	int	 n;		/* entries; -1: too many, search the text */
	struct json_memb {
		const char *k, *v;	/* key (between quotes), value */
		size_t	 kn, vn;
		int	 depth;		/* 1 or 2 */
		int	 esc;		/* the key has an escape */
		int	 next;		/* depth 1: the next depth-1 entry */
	} m[JSON_INDEX_MEMB];
};

/*
 * Is s[0..n) exactly one JSON value? 0 yes (*root set unless NULL, ix
 * filled unless NULL), 1 only white space, -1 no: err says why and, but
 * for a truncated text, at which byte (counting from 1).
 */
int	json_check(const char *s, size_t n, struct jv *root, struct json_index *ix,
	    char *err, size_t errlen);
/*
 * The same grammar without SIMD (json_check() lists where strings may end
 * 64 bytes at a time, and skips white space and digits sixteen at a time,
 * where the CPU can): for the tests, which hold both to the same verdict,
 * reason and index on every input.
 */
int	json_check_portable(const char *s, size_t n, struct jv *root,
	    struct json_index *ix, char *err, size_t errlen);
/*
 * And json_check() with no more of the CPU's extensions than `level`:
 * 0 SSE2, 1 AVX2, 2 AVX-512 (-1: portable), so that the tests hold every
 * build the CPU can run to the same results.
 */
int	json_check_level(int level, const char *s, size_t n, struct jv *root,
	    struct json_index *ix, char *err, size_t errlen);

/*
 * The JSON string or number that starts s[0..n), for the lexer of a
 * language with JSON literals (vk-route's rules): its length, or 0 when
 * it is bad: *why says why (NULL: a string not closed before n) and *at
 * at which offset. The same grammar and reasons as json_check().
 */
size_t	json_scalar(const char *s, size_t n, const char **why, size_t *at);

/* --- spans of validated text ------------------------------------------- */

/*
 * Member `key` of the root (parent -1) or of depth-1 entry `parent`: its
 * entry number (value in *out), -1 if absent (out->t = JSON_NONE), or -2
 * if the index cannot tell (too many members): search the text instead.
 */
int	json_member(const struct json_index *ix, int parent, const char *key,
	    size_t klen, struct jv *out);
/* The value whose raw text is p[0..n) (a string with its quotes, as an
 * index entry's): its extent is known, nothing is skipped. */
static inline struct jv
json_value_at(const char *p, size_t n)
{
	struct jv v = { JSON_NUMBER, p, n };

	switch (*p) {
	case '{': v.t = JSON_OBJECT; break;
	case '[': v.t = JSON_ARRAY; break;
	case '"': v.t = JSON_STRING; v.p++; v.n -= 2; break;
	case 't': v.t = JSON_TRUE; break;
	case 'f': v.t = JSON_FALSE; break;
	case 'n': v.t = JSON_NULL; break;
	default: break;
	}
	return v;
}
/* Member `key` (unescaped bytes) of an object; t = JSON_NONE if absent. */
struct jv jv_get(const struct jv *obj, const char *key, size_t klen);
/* Element idx of an array; negative counts from the end. */
struct jv jv_at(const struct jv *arr, long idx);
/* Members or elements. */
int	jv_len(const struct jv *v);
/*
 * Walk an array's elements or an object's members: *cur starts NULL; each
 * call gives the next element (objects: the value, with its key in *key
 * if key is not NULL). Returns 0 at the end.
 */
int	jv_next(const struct jv *c, const char **cur, struct jv *out, struct jv *key);
/* An integer that fits int64 (no fraction or exponent): 0, else -1. */
int	jv_int64(const struct jv *v, int64_t *out);
/* Does the raw (escaped) string s[0..n), unescaped, equal key[0..klen)? */
int	json_str_eq(const char *s, size_t n, const char *key, size_t klen);

/* --- the token tree ---------------------------------------------------- */

typedef struct json_doc {
	const char	*src;
	size_t		 len;
	void		*tok;	/* ntok of jsmn's tokens, in document (pre-)order */
	int		 ntok;
	int		 cap;
	int		*kid;	/* json.c: where a lazy container's tokens went */
	buf		 escs;	/* where the strings with escapes start (json.c) */
	buf		 deep, hide, vis;	/* json.c: the lazy tree's spans and text */
	char		 err[128];	/* why json_parse() failed */
} json_doc;

void	json_init(json_doc *d);
void	json_free(json_doc *d);

/*
 * Parse s[0..n) as exactly one JSON value. Returns 0 on success, 1 if the
 * text is only white space (no value), -1 if it is not valid JSON; then
 * d->err says why (json_check's reason).
 */
int	json_parse(json_doc *d, const char *s, size_t n);

/*
 * The same, for a program that reads a little of each line (vk-normalize):
 * jsmn tokenizes only what is looked into. The objects held by the root's
 * objects (object.message, object.client_info) and the containers nested a
 * multiple of 16 deep stay whole, one token each, until json_size,
 * json_child, json_get or json_at first looks inside one; jw_value writes
 * them from the text. So a line's cost stays linear in its length however
 * deep it nests. Walk a container's children from json_child(), never from
 * i + 1. The text check() accepts is the same as json_parse's.
 */
int	json_parse_lazy(json_doc *d, const char *s, size_t n);

enum json_type json_type(const json_doc *d, int i);
/* Token i as a span of the text. */
struct jv json_span(const json_doc *d, int i);
/* The raw text of token i: for strings, the bytes between the quotes, still escaped. */
const char *json_raw(const json_doc *d, int i, size_t *n);
/* Does string token i hold backslash escapes (else its raw bytes are its value)? */
int	json_escaped(const json_doc *d, int i);
/* Number of members (object) or elements (array). */
int	json_size(const json_doc *d, int i);
/* Is container i still whole, its text untokenized (json_parse_lazy)? */
int	json_lazy(const json_doc *d, int i);
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
/*
 * Only the first bytes of it: at least `want` (all, if it has fewer), and
 * exactly those json_unescape_raw() writes first. Returns how much of s
 * was read: unescape s + that to append the rest.
 */
size_t	json_unescape_some(const char *s, size_t n, size_t want, buf *out);

#endif
