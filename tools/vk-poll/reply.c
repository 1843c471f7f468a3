/* reply.c - classify long-poll replies; updates out as compact lines. */
#include "compact.h"
#include "reply.h"

static int
is_ts(const json_doc *d, int t)
{
	return json_type(d, t) == JSON_STRING || json_type(d, t) == JSON_NUMBER;
}

void
reply_classify(const json_doc *d, struct reply *r)
{
	int f;

	r->ts = json_get(d, 0, "ts", 2);
	r->updates = -1;
	r->code = -1;
	if (!is_ts(d, r->ts))
		r->ts = -1;
	if ((f = json_get(d, 0, "failed", 6)) != -1) {
		if (json_int64(d, f, &r->code) == -1)
			r->code = -1;
		switch (r->code) {
		case 1:
			r->kind = REPLY_FAILED1;
			break;
		case 2:
			r->kind = REPLY_FAILED2;
			break;
		case 3:
			r->kind = REPLY_FAILED3;
			break;
		default:
			r->kind = REPLY_FAILED;
		}
		return;
	}
	r->updates = json_get(d, 0, "updates", 7);
	if (r->ts == -1 || json_type(d, r->updates) != JSON_ARRAY) {
		r->updates = -1;
		r->kind = REPLY_BAD;
		return;
	}
	r->kind = REPLY_UPDATES;
}

int
reply_token(buf *b, const json_doc *d, int t)
{
	const char *s;
	size_t n;

	if (!is_ts(d, t))
		return -1;
	s = json_raw(d, t, &n);
	buf_reset(b);
	if (json_type(d, t) == JSON_STRING)
		buf_putc(b, '"');
	buf_put(b, s, n);
	if (json_type(d, t) == JSON_STRING)
		buf_putc(b, '"');
	buf_cstr(b);
	return 0;
}

void
reply_update(const json_doc *d, int i, buf *b, buf *id)
{
	const char *s;
	size_t n;
	int e;

	s = json_raw(d, i, &n);
	if (json_type(d, i) == JSON_STRING) {	/* the raw text without its quotes */
		s--;
		n += 2;
	}
	compact_json(b, s, n);
	buf_putc(b, '\n');
	if (id == NULL)
		return;
	buf_reset(id);
	if (json_type(d, i) == JSON_OBJECT &&
	    json_type(d, e = json_get(d, i, "event_id", 8)) == JSON_STRING)
		json_unescape(d, e, id);
}
