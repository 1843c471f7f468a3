/*
 * jscan.h - strict JSON validation in one pass, then lazy lookups on the text.
 *
 * vk-route reads a few members of each event and copies the line as it is;
 * building a token array for the whole line (common/json.h) costs more than
 * all the rules together. jscan_check() accepts exactly what json_parse()
 * accepts (one RFC 8259 value, white space around it) without storing
 * anything; afterwards, jv_get()/jv_at() find a member by skipping over the
 * others in the validated text, and jv values are spans of that text.
 */
#ifndef VKROUTE_JSCAN_H
#define VKROUTE_JSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"	/* enum json_type, JSON_MAX_DEPTH */

/* A value in validated text. For strings, p..p+n is between the quotes, still escaped. */
struct jv {
	enum json_type t;	/* JSON_NONE: missing */
	const char *p;
	size_t	 n;
};

/*
 * The root object's members and their members (two levels: where an
 * Event's fields are), recorded while checking, in document order; the
 * members of entry j are the depth-2 entries j+1 .. next-1.
 */
#define JSCAN_NMEMB	64
struct jscan_index {
	int	 n;		/* entries; -1: too many, search the text */
	int	 open[3];	/* entry whose value is being read, per depth */
	struct jscan_memb {
		const char *k, *v;	/* key (between quotes), value */
		size_t	 kn, vn;
		int	 depth;		/* 1 or 2 */
		int	 esc;		/* the key has an escape */
		int	 next;		/* depth 1: the next depth-1 entry */
	} m[JSCAN_NMEMB];
};

/*
 * Is s[0..n) exactly one JSON value? 0 yes (*root set), 1 only white space,
 * -1 no: err says why and at which byte (counting from 1).
 */
int	jscan_check(const char *s, size_t n, struct jv *root,
	    struct jscan_index *ix, char *err, size_t errlen);
/*
 * Member `key` of the root (parent -1) or of depth-1 entry `parent`: its
 * entry number (value in *out), -1 if absent (out->t = JSON_NONE), or -2
 * if the index cannot tell (too many members): search the text instead.
 */
int	jscan_member(const struct jscan_index *ix, int parent, const char *key,
	    size_t klen, struct jv *out);

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

#endif
