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

static int
is_key(const json_doc *d, int k, const char *key, size_t n)
{
	return json_streq(d, k, key, n);
}

/* Where the JSON text of token t begins and ends (strings with their quotes). */
static void
span(const json_doc *d, int t, size_t *beg, size_t *end)
{
	size_t n;
	const char *p = json_raw(d, t, &n);
	int q = json_type(d, t) == JSON_STRING;

	*beg = (size_t)(p - d->src) - (size_t)q;
	*end = (size_t)(p - d->src) + n + (size_t)q;
}

/*
 * Append the object s[0..n) without its member whose key token is k
 * (-1: none), compacted. The bytes around a member are white space, one
 * comma and the braces, so the member goes with the comma before it, or
 * after it when it comes first.
 */
static void
line_without(buf *line, const json_doc *d, const char *s, size_t n, int k)
{
	size_t kb, ke, vb, ve;

	if (k == -1) {
		compact_json(line, s, n);
		return;
	}
	span(d, k, &kb, &ke);
	span(d, k + 1, &vb, &ve);
	if (k == 1) {		/* the first member: drop the comma after it */
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
ev_read(json_doc *d, const char *s, size_t n, const struct ev_conf *c,
    struct ev_result *r, buf *line, buf *id, buf *scratch)
{
	int i, k, v, members, secret_key = -1, type = -1, group = -1, event_id = -1, ok;

	r->kind = EV_BAD;
	r->why = NULL;
	r->group = -1;
	buf_reset(id);
	if (json_parse(d, s, n) != 0) {
		r->why = "not JSON";
		return;
	}
	if (json_type(d, 0) != JSON_OBJECT) {
		r->why = "not a JSON object";
		return;
	}
	/* One pass over the members: the first of each key counts, as in
	 * json_get(); a second "secret" is refused, since either could be
	 * the one a reader of the line would take. */
	members = json_size(d, 0);
	for (i = 0, k = 1; i < members; i++, k = json_next(d, v)) {
		v = k + 1;
		if (is_key(d, k, "secret", 6)) {
			if (secret_key != -1) {
				r->why = "two \"secret\" members";
				return;
			}
			secret_key = k;
		} else if (type == -1 && is_key(d, k, "type", 4)) {
			type = v;
		} else if (group == -1 && is_key(d, k, "group_id", 8)) {
			group = v;
		} else if (event_id == -1 && is_key(d, k, "event_id", 8)) {
			event_id = v;
		}
	}
	if (json_type(d, type) != JSON_STRING) {
		r->why = "no string \"type\": not a Callback API event";
		return;
	}
	if (group != -1 && json_int64(d, group, &r->group) == -1)
		r->group = -1;
	if (c->secret != NULL) {
		if (secret_key == -1 || json_type(d, secret_key + 1) != JSON_STRING) {
			r->kind = EV_NOSECRET;
			return;
		}
		buf_reset(scratch);
		json_unescape(d, secret_key + 1, scratch);
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
	if (json_streq(d, type, "confirmation", 12)) {
		r->kind = EV_CONFIRM;
		return;
	}
	if (json_type(d, event_id) == JSON_STRING) {
		json_unescape(d, event_id, id);
		if (id->len > EV_ID_MAX) {
			buf_reset(id);
			r->why = "an event_id over 1024 bytes (VK's have 40 hex digits)";
			return;
		}
	}
	r->kind = EV_LINE;
	line_without(line, d, s, n, secret_key);
	buf_putc(line, '\n');
}
