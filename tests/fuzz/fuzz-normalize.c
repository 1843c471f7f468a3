/*
 * fuzz-normalize.c - libFuzzer harness for the normalize step: any input
 * line either is rejected or dropped, or gives one Event line that is a
 * valid JSON object ending in a newline; and the update read through
 * json_check()'s index (as vk-normalize reads its lines) gives the same
 * result, reason and Event as read from its text alone (as the updates of
 * a long-poll response are read). And the input, as the text of a JSON
 * string when it is one, is written by jw_rawstr() straight from its
 * escapes as it is by unescaping it first and writing that.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "jsonw.h"
#include "normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data as the escaped text of a JSON string, if it can be one */
static void
string_text(const uint8_t *data, size_t size)
{
	static buf q, raw, un, two;

	buf_reset(&q);
	buf_putc(&q, '"');
	buf_put(&q, data, size);
	buf_putc(&q, '"');
	if (json_check(q.p, q.len, NULL, NULL, NULL, 0) != 0)
		return;
	buf_reset(&raw);
	buf_reset(&un);
	buf_reset(&two);
	jw_rawstr(&raw, (const char *)data, size, 1, NULL);
	json_unescape_raw((const char *)data, size, &un);
	jw_str(&two, un.p ? un.p : "", un.len);
	if (raw.len != two.len || memcmp(raw.p, two.p, raw.len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct json_index ix;
	static buf out, out2;
	norm_opts o = { "/!\xc2\xa7", NULL, NULL, NULL };
	struct norm_upd u, t;
	struct jv ev;
	const char *why, *why2;
	int64_t a, b, a2, b2;
	enum norm_result r;

	string_text(data, size);
	if (json_check((const char *)data, size, &u.v, &ix, NULL, 0) != 0)
		return 0;
	u.ix = &ix;
	t.v = u.v;
	t.ix = NULL;
	if (norm_ids(&u, &o, &a, &b) != norm_ids(&t, &o, &a2, &b2))
		abort();
	buf_reset(&out);
	buf_reset(&out2);
	why = why2 = NULL;
	r = norm_update(&u, &o, &out, &why);
	if (norm_update(&t, &o, &out2, &why2) != r || why != why2 || out.len != out2.len ||
	    (out.len > 0 && memcmp(out.p, out2.p, out.len) != 0))
		abort();
	switch (r) {
	case NORM_EVENT:
		if (out.len == 0 || out.p[out.len - 1] != '\n')
			abort();
		if (json_check(out.p, out.len - 1, &ev, NULL, NULL, 0) != 0 ||
		    ev.t != JSON_OBJECT)
			abort();
		break;
	case NORM_REJECT:
		if (why == NULL || out.len != 0)
			abort();
		break;
	case NORM_DROP:
		break;
	}
	return 0;
}
