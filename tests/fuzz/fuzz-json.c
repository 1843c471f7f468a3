/*
 * fuzz-json.c - libFuzzer harness for the one JSON reader (common/json.h)
 * and the writer (common/jsonw.c).
 *
 * Checked, on every input:
 *  - json_parse() accepts exactly what json_check() accepts, with the same
 *    reason when it does not (jsmn never refuses what the grammar took);
 *  - json_check_portable() (no SIMD) gives json_check()'s verdict, reason,
 *    root and index, and so does json_check_level() at each level: every
 *    build of the one grammar the CPU runs agrees;
 *  - the token tree and the spans agree: every subtree ends inside the
 *    document and holds as many children as its size says; every member
 *    the shallow index records, and every member jv_get() finds, is the
 *    one json_get() finds; numbers read the same both ways;
 *  - whatever is accepted, the writer turns into JSON that is accepted
 *    again and writes back identically;
 *  - json_parse_lazy() gives the same verdict and reason, and its tree,
 *    walked through json_child() (tokenizing what it leaves whole) or
 *    written whole, is the one json_parse() builds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "jsonw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(struct jv a, struct jv b)
{
	return a.t == b.t && a.n == b.n && (a.n == 0 || a.p == b.p);
}

/* The two indexes json_check() and json_check_portable() filled agree. */
static void
same_index(const struct json_index *a, const struct json_index *b)
{
	int i;

	if (a->n != b->n)
		abort();
	for (i = 0; i < a->n; i++)
		if (a->m[i].k != b->m[i].k || a->m[i].kn != b->m[i].kn ||
		    a->m[i].v != b->m[i].v || a->m[i].vn != b->m[i].vn ||
		    a->m[i].depth != b->m[i].depth || a->m[i].esc != b->m[i].esc ||
		    a->m[i].next != b->m[i].next)
			abort();
}

/* Every container's children, walked by json_next, are as many as its size. */
static void
check_tree(const json_doc *d)
{
	int i, j, k;

	for (i = 0; i < d->ntok; i++) {
		if (json_next(d, i) <= i || json_next(d, i) > d->ntok)
			abort();
		if (json_type(d, i) != JSON_OBJECT && json_type(d, i) != JSON_ARRAY)
			continue;
		for (k = 0, j = i + 1; j < json_next(d, i); k++)
			j = json_type(d, i) == JSON_OBJECT ? json_next(d, j + 1) : json_next(d, j);
		if (k != json_size(d, i) || j != json_next(d, i))
			abort();
	}
}

/* The index and the span lookups find what the tree finds, in object o. */
static void
check_members(const json_doc *d, int o, const struct json_index *ix, int parent,
    buf *key)
{
	struct jv obj = json_span(d, o), v, w;
	int j, k, m;
	int64_t a, b;

	for (k = 0, j = o + 1; k < json_size(d, o); k++, j = json_next(d, j + 1)) {
		buf_reset(key);
		json_unescape(d, j, key);
		if (!json_streq(d, j, key->p, key->len))
			abort();	/* a key is not equal to its own value */
		if (json_get(d, o, key->p, key->len) != j + 1)
			continue;	/* a later member of the same name */
		v = json_span(d, j + 1);
		w = jv_get(&obj, key->p, key->len);
		if (!same(v, w))
			abort();
		m = json_member(ix, parent, key->p, key->len, &w);
		if (m == -1 || (m >= 0 && !same(v, w)))
			abort();	/* the index lost it, or has another */
		if (m >= 0 && parent == -1 && v.t == JSON_OBJECT)
			check_members(d, j + 1, ix, m, key);
		if ((json_int64(d, j + 1, &a) == 0) != (jv_int64(&v, &b) == 0) ||
		    (json_int64(d, j + 1, &a) == 0 && a != b))
			abort();
	}
}

/* Token a of eager tree e and token b of lazy tree l hold the same value. */
static void
check_lazy(const json_doc *e, int a, const json_doc *l, int b, buf *key, int depth)
{
	struct jv x = json_span(e, a), y = json_span(l, b);
	int k, i, j, n;

	if (!same(x, y) || json_escaped(e, a) != json_escaped(l, b))
		abort();
	if (x.t != JSON_OBJECT && x.t != JSON_ARRAY)
		return;
	if (depth % 3 == 2 && json_lazy(l, b))
		return;	/* left whole: written from the text, checked by the caller */
	n = json_size(e, a);
	if (json_size(l, b) != n || json_lazy(l, b))
		abort();
	i = json_child(e, a);
	j = json_child(l, b);
	for (k = 0; k < n; k++) {
		if (x.t == JSON_OBJECT) {
			check_lazy(e, i, l, j, key, depth + 1);
			buf_reset(key);
			json_unescape(e, i, key);
			if (!same(json_span(e, json_get(e, a, key->p, key->len)),
			    json_span(l, json_get(l, b, key->p, key->len))))
				abort();	/* the first member of that name, both ways */
			i++, j++;
		}
		check_lazy(e, i, l, j, key, depth + 1);
		i = json_next(e, i);
		j = json_next(l, j);
	}
	if (n > 0 && i != json_next(e, a))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_doc d, d2, lz;
	static buf out, again, scratch, key;
	static struct json_index ix, ix2;
	const char *s = (const char *)data;
	char err[128], err2[128];
	struct jv root, root2;
	int64_t v;
	int i, rc;

	if (d.cap == 0) {
		json_init(&d);
		json_init(&d2);
		json_init(&lz);
	}
	rc = json_check_portable(s, size, &root, &ix, err, sizeof(err));
	/* the SIMD builds (each the CPU runs) and the portable build of the grammar agree */
	for (i = 0; i <= 3; i++) {
		if ((i == 3 ? json_check(s, size, &root2, &ix2, err2, sizeof(err2)) :
		    json_check_level(i, s, size, &root2, &ix2, err2, sizeof(err2))) != rc ||
		    (rc == -1 && strcmp(err, err2) != 0) || (rc == 0 && !same(root, root2)))
			abort();
		if (rc == 0 && root.t == JSON_OBJECT)
			same_index(&ix, &ix2);
	}
	if (json_parse(&d, s, size) != rc)
		abort();
	if (rc == -1 && (err[0] == '\0' || strcmp(err, d.err) != 0))
		abort();	/* one reason, the same from both */
	if (json_parse_lazy(&lz, s, size) != rc || (rc == -1 && strcmp(err, lz.err) != 0))
		abort();
	if (rc != 0)
		return 0;
	check_tree(&d);
	if (!same(root, json_span(&d, 0)))
		abort();
	if (json_type(&d, 0) == JSON_OBJECT)
		check_members(&d, 0, ix.n < 0 ? NULL : &ix, -1, &key);

	buf_reset(&out);
	jw_value(&out, &d, 0, &scratch);
	for (i = 0; i < d.ntok; i++) {
		if (json_type(&d, i) == JSON_NUMBER)
			(void)json_int64(&d, i, &v);
		if (json_type(&d, i) == JSON_STRING) {
			buf_reset(&scratch);
			json_unescape(&d, i, &scratch);
		}
	}
	(void)json_path(&d, 0, "object.message[0].peer_id");
	/* Lazy: written whole first (from the text where it is left whole),
	 * then walked (tokenizing some of it), then written again. */
	buf_reset(&again);
	jw_value(&again, &lz, 0, &scratch);
	if (again.len != out.len || memcmp(again.p, out.p, out.len) != 0)
		abort();
	check_lazy(&d, 0, &lz, 0, &key, 0);
	buf_reset(&again);
	jw_value(&again, &lz, 0, &scratch);
	if (again.len != out.len || memcmp(again.p, out.p, out.len) != 0)
		abort();
	if (json_parse(&d2, out.p, out.len) != 0)
		abort();	/* the writer wrote something that is not JSON */
	buf_reset(&again);
	jw_value(&again, &d2, 0, &scratch);
	if (again.len != out.len || memcmp(again.p, out.p, out.len) != 0)
		abort();	/* writing is not idempotent */
	return 0;
}
