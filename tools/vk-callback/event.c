/* event.c - a Callback API body: checked, then the line vk-poll would write. */
#include <string.h>

#include "compact.h"
#include "event.h"

int
ev_secret_eq(const char *a, size_t an, const char *b, size_t bn)
{
	volatile unsigned char d = an != bn;
	size_t i;

	for (i = 0; i < bn; i++)
		d |= (unsigned char)b[i] ^ (unsigned char)(i < an ? a[i] : 0);
	return d == 0;
}

/* A root member: its key (raw, between the quotes), its value and where it is. */
struct memb {
	const char *k;
	size_t	 kn;
	struct jv v;
	size_t	 kb, ve;	/* the key's opening quote; just after the value */
};

/* The value at raw text p (length n, strings with their quotes) as a jv. */
static struct jv
value_at(const char *p, size_t n)
{
	struct jv v = { JSON_NUMBER, p, n };

	switch (*p) {
	case '{': v.t = JSON_OBJECT; break;
	case '[': v.t = JSON_ARRAY; break;
	case '"': v.t = JSON_STRING; v.p++; v.n -= 2; break;
	case 't': v.t = JSON_TRUE; break;
	case 'f': v.t = JSON_FALSE; break;
	case 'n': v.t = JSON_NULL; break;
	}
	return v;
}

/*
 * The next member of the root object, from json_check()'s index (no pass
 * over the values) or, when the index overflowed, by skipping through the
 * text. *it starts at 0 and *cur at NULL. 0 at the end.
 */
static int
next_memb(const char *s, const struct json_index *ix, const struct jv *root, int *it,
    const char **cur, struct memb *m)
{
	struct jv k;

	if (ix->n >= 0) {
		const struct json_memb *e;

		if (*it >= ix->n)
			return 0;
		e = &ix->m[*it];
		*it = e->next;
		m->k = e->k;
		m->kn = e->kn;
		m->v = value_at(e->v, e->vn);
		m->kb = (size_t)(e->k - 1 - s);
		m->ve = (size_t)(e->v + e->vn - s);
		return 1;
	}
	if (!jv_next(root, cur, &m->v, &k))
		return 0;
	m->k = k.p;
	m->kn = k.n;
	m->kb = (size_t)(k.p - 1 - s);
	m->ve = (size_t)(m->v.p + m->v.n - s) + (m->v.t == JSON_STRING);
	return 1;
}

static int
is_key(const struct memb *m, const char *key, size_t n)
{
	return json_str_eq(m->k, m->kn, key, n);
}

/*
 * Append the object s[0..n) without its member from kb to ve (kb == ve:
 * none), compacted. The bytes around a member are white space, one comma
 * and the braces, so the member goes with the comma before it, or after
 * it when it comes first.
 */
static void
line_without(buf *line, const char *s, size_t n, size_t kb, size_t ve, int first)
{
	if (kb == ve) {
		compact_json(line, s, n);
		return;
	}
	if (first) {		/* the first member: drop the comma after it */
		while (ve < n && s[ve] != ',' && s[ve] != '}')
			ve++;
		if (ve < n && s[ve] == ',')
			ve++;
	} else {
		while (kb > 0 && s[kb - 1] != ',')
			kb--;
		kb--;
	}
	compact_json(line, s, kb);
	compact_json(line, s + ve, n - ve);
}

void
ev_read(const char *s, size_t n, const struct ev_conf *c, struct ev_result *r,
    buf *line, buf *id, buf *scratch)
{
	struct json_index ix;
	struct jv root, type = { JSON_NONE, NULL, 0 }, group = type, event_id = type;
	struct memb m, secret = { NULL, 0, { JSON_NONE, NULL, 0 }, 0, 0 };
	const char *cur = NULL;
	char err[8];
	int it = 0, i, has_secret = 0, secret_first = 0, ok;

	r->kind = EV_BAD;
	r->why = NULL;
	r->group = -1;
	buf_reset(id);
	if (json_check(s, n, &root, &ix, err, sizeof(err)) != 0) {
		r->why = "not JSON";
		return;
	}
	if (root.t != JSON_OBJECT) {
		r->why = "not a JSON object";
		return;
	}
	/* One pass over the members: the first of each key counts, as in
	 * json_get(); a second "secret" is refused, since either could be
	 * the one a reader of the line would take. */
	for (i = 0; next_memb(s, &ix, &root, &it, &cur, &m); i++) {
		if (is_key(&m, "secret", 6)) {
			if (has_secret) {
				r->why = "two \"secret\" members";
				return;
			}
			has_secret = 1;
			secret_first = i == 0;
			secret = m;
		} else if (type.t == JSON_NONE && is_key(&m, "type", 4)) {
			type = m.v;
		} else if (group.t == JSON_NONE && is_key(&m, "group_id", 8)) {
			group = m.v;
		} else if (event_id.t == JSON_NONE && is_key(&m, "event_id", 8)) {
			event_id = m.v;
		}
	}
	if (type.t != JSON_STRING) {
		r->why = "no string \"type\": not a Callback API event";
		return;
	}
	if (group.t != JSON_NONE && jv_int64(&group, &r->group) == -1)
		r->group = -1;
	if (c->secret != NULL) {
		if (!has_secret || secret.v.t != JSON_STRING) {
			r->kind = EV_NOSECRET;
			return;
		}
		buf_reset(scratch);
		json_unescape_raw(secret.v.p, secret.v.n, scratch);
		ok = ev_secret_eq(scratch->p ? scratch->p : "", scratch->len,
		    c->secret, c->secret_len);
		if (scratch->p)
			memset(scratch->p, 0, scratch->cap);
		buf_reset(scratch);
		if (!ok) {
			r->kind = EV_BADSECRET;
			return;
		}
	}
	if (c->group != 0 && r->group != c->group) {
		r->kind = EV_GROUP;
		return;
	}
	if (json_str_eq(type.p, type.n, "confirmation", 12)) {
		r->kind = EV_CONFIRM;
		return;
	}
	if (event_id.t == JSON_STRING) {
		json_unescape_raw(event_id.p, event_id.n, id);
		if (id->len > EV_ID_MAX) {
			buf_reset(id);
			r->why = "an event_id over 1024 bytes (VK's have 40 hex digits)";
			return;
		}
	}
	r->kind = EV_LINE;
	line_without(line, s, n, secret.kb, secret.ve, secret_first);
	buf_putc(line, '\n');
}
