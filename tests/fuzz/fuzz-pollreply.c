/*
 * fuzz-pollreply.c - libFuzzer harness for vk-poll's long-poll reply
 * handling (tools/vk-poll/reply.c) and the ack tracking fed by it
 * (tools/vk-poll/batch.c).
 *
 * The input is a reply body, optionally followed by a NUL byte and a piece
 * of an ack stream. A body that is not a JSON object is what vk-poll
 * retries as garbage. Otherwise the classification must agree with the
 * body, the ts must come back as the same token, and every update of a
 * {ts,updates} reply must come out as one line equal to a naive
 * compaction of its bytes, valid JSON of the same type, with its event_id.
 * The updates then go through the ack tracker, batch by batch; the ack
 * bytes are fed to it, then every id in order, after which nothing may
 * be pending.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "../../tools/vk-poll/batch.h"
#include "../../tools/vk-poll/reply.h"
#include "naive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same_type(enum json_type a, enum json_type b)
{
	return a == b;
}

static void
check_token(const json_doc *d, int t, json_doc *scratch, buf *tok)
{
	const char *a, *b;
	size_t an, bn;

	if (reply_token(tok, d, t) == -1)
		abort();
	if (json_parse(scratch, tok->p, tok->len) != 0 ||
	    !same_type(json_type(scratch, 0), json_type(d, t)))
		abort();
	a = json_raw(d, t, &an);
	b = json_raw(scratch, 0, &bn);
	if (an != bn || memcmp(a, b, an) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_doc d, line;
	static buf out, ref, id, id2, tok, ids;
	const char *body = (const char *)data, *acks = NULL, *raw;
	size_t blen = size, alen = 0, n;
	struct reply r;
	batches a;
	int i, k, cnt, e, clean = 1, last_id = 0;
	const char *nul = memchr(data, '\0', size);

	if (d.cap == 0) {
		json_init(&d);
		json_init(&line);
	}
	if (nul) {
		blen = (size_t)(nul - body);
		acks = nul + 1;
		alen = size - blen - 1;
	}
	/* parsed as vk-poll's vkapi_get parses it: lazily; the line written
	 * is parsed again eagerly below, a tree of the other kind */
	if (json_parse_lazy(&d, body, blen) != 0 || json_type(&d, 0) != JSON_OBJECT)
		return 0;	/* vk-poll's garbage: retried with the same ts */

	reply_classify(&d, &r);
	switch (r.kind) {
	case REPLY_UPDATES:
		if (r.ts == -1 || json_type(&d, r.updates) != JSON_ARRAY ||
		    json_get(&d, 0, "failed", 6) != -1)
			abort();
		break;
	case REPLY_FAILED1:
	case REPLY_FAILED2:
	case REPLY_FAILED3:
		if (r.code != (int64_t)r.kind - REPLY_FAILED1 + 1)
			abort();
		/* FALLTHROUGH */
	case REPLY_FAILED:
		if (json_get(&d, 0, "failed", 6) == -1 || r.updates != -1)
			abort();
		break;
	case REPLY_BAD:
		if (json_get(&d, 0, "failed", 6) != -1 ||
		    (r.ts != -1 && json_type(&d, json_get(&d, 0, "updates", 7)) == JSON_ARRAY))
			abort();
		break;
	default:
		abort();
	}
	if (r.ts != -1)
		check_token(&d, r.ts, &line, &tok);
	if (r.kind != REPLY_UPDATES)
		return 0;

	batch_init(&a, 1000);
	buf_reset(&ids);
	cnt = json_size(&d, r.updates);
	for (k = 0, i = json_child(&d, r.updates); k < cnt; k++, i = json_next(&d, i)) {
		buf_reset(&out);
		buf_reset(&ref);
		reply_update(&d, i, &out, &id);
		raw = json_raw(&d, i, &n);
		if (json_type(&d, i) == JSON_STRING) {
			raw--;
			n += 2;
		}
		naive_compact(&ref, raw, n);
		if (out.len != ref.len + 1 || out.p[out.len - 1] != '\n' ||
		    memcmp(out.p, ref.p, ref.len) != 0 || memchr(out.p, '\n', ref.len))
			abort();
		if (json_parse(&line, out.p, out.len - 1) != 0 ||
		    !same_type(json_type(&line, 0), json_type(&d, i)))
			abort();
		/* The id, taken again from the line written. */
		buf_reset(&id2);
		if (json_type(&line, 0) == JSON_OBJECT &&
		    json_type(&line, e = json_get(&line, 0, "event_id", 8)) == JSON_STRING)
			json_unescape(&line, e, &id2);
		if (id.len != id2.len || (id.len && memcmp(id.p, id2.p, id.len) != 0))
			abort();

		batch_update(&a, id.p, id.len);
		last_id = id.len > 0;
		if (id.len) {
			if (id.len > 1024 || memchr(id.p, '\n', id.len) ||
			    id.p[id.len - 1] == '\r')
				clean = 0;
			buf_put(&ids, id.p, id.len);
			buf_putc(&ids, '\n');
		}
		if (k % 3 == 2)
			batch_end(&a, tok.p, tok.len);
	}
	batch_end(&a, tok.p, tok.len);
	if (acks)
		batch_feed(&a, acks, alen);
	if (a.done > a.written || batch_pending(&a) > (size_t)cnt / 3 + 1)
		abort();
	batch_feed(&a, "\n", 1);	/* end a line the ack bytes left open */
	batch_feed(&a, ids.p, ids.len);
	if (clean && last_id && (batch_pending(&a) != 0 || a.ev_n != 0 ||
	    a.done != a.written))
		abort();
	batch_close(&a);
	return 0;
}
