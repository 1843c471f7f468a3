/*
 * fuzz-callback.c - libFuzzer harness for vk-callback's reading of a
 * Callback API body (tools/vk-callback/event.c).
 *
 * The first byte chooses the configuration (bit 0: the secret "s3cr3t" is
 * required; bit 1: only group 42), the rest is the body. Whatever it is,
 * an event is written only if the body is one JSON object with a string
 * type, the right secret and group; its line is one line of valid JSON,
 * an object with the same members but "secret", the same type, and, when
 * there was no secret member, a naive compaction of the body's bytes;
 * its event_id is no longer than an ack line takes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "../../tools/vk-callback/event.h"
#include "naive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_doc d2;
	static int init;
	struct ev_conf c = { 0 };
	struct ev_result r;
	buf line = BUF_INIT, id = BUF_INIT, scratch = BUF_INIT, ref = BUF_INIT;
	const char *s;
	size_t n;
	int secret, type, k, i;

	if (!init) {
		json_init(&d2);
		init = 1;
	}
	if (size == 0)
		return 0;
	if (data[0] & 1) {
		c.secret = "s3cr3t";
		c.secret_len = 6;
	}
	if (data[0] & 2)
		c.group = 42;
	s = (const char *)data + 1;
	n = size - 1;
	ev_read(s, n, &c, &r, &line, &id, &scratch);
	if (r.kind != EV_LINE) {
		if (line.len != 0)
			abort();	/* nothing written for a refusal */
		goto out;
	}
	/* The body, as the receiver judged it: one object, type, secret, group. */
	if (json_parse(&d2, s, n) != 0 || json_type(&d2, 0) != JSON_OBJECT)
		abort();
	type = json_get(&d2, 0, "type", 4);
	if (json_type(&d2, type) != JSON_STRING || json_streq(&d2, type, "confirmation", 12))
		abort();
	secret = json_get(&d2, 0, "secret", 6);
	if (c.secret && (json_type(&d2, secret) != JSON_STRING ||
	    !json_streq(&d2, secret, "s3cr3t", 6)))
		abort();
	if (c.group && (json_int64(&d2, json_get(&d2, 0, "group_id", 8), &r.group) != 0 ||
	    r.group != 42))
		abort();
	/* The id: the first event_id member, unescaped, as the token tree reads it. */
	if (json_type(&d2, (k = json_get(&d2, 0, "event_id", 8))) == JSON_STRING) {
		json_unescape(&d2, k, &ref);
		if (ref.len != id.len || (id.len && memcmp(ref.p, id.p, id.len) != 0))
			abort();
		buf_reset(&ref);
	} else if (id.len != 0) {
		abort();
	}
	k = json_size(&d2, 0);
	if (secret == -1) {
		naive_compact(&ref, s, n);
		buf_putc(&ref, '\n');
		if (ref.len != line.len || memcmp(ref.p, line.p, line.len) != 0)
			abort();
	}
	/* The line: one line, an object, the same members but the secret. */
	if (line.len == 0 || line.p[line.len - 1] != '\n' ||
	    memchr(line.p, '\n', line.len - 1) != NULL)
		abort();
	if (json_parse(&d2, line.p, line.len - 1) != 0 || json_type(&d2, 0) != JSON_OBJECT)
		abort();
	if (json_size(&d2, 0) != k - (secret != -1) || json_get(&d2, 0, "secret", 6) != -1)
		abort();
	for (i = 0, k = 1; i < json_size(&d2, 0); i++, k = json_next(&d2, k + 1))
		if (json_streq(&d2, k, "secret", 6))
			abort();
	if (json_type(&d2, json_get(&d2, 0, "type", 4)) != JSON_STRING)
		abort();
	if (id.len > EV_ID_MAX)
		abort();	/* a window entry never outgrows an ack line */
out:
	buf_free(&line);
	buf_free(&id);
	buf_free(&scratch);
	buf_free(&ref);
	return 0;
}
