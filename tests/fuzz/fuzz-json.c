/*
 * fuzz-json.c - libFuzzer harness for common/json.c and common/jsonw.c.
 * Whatever json_parse() accepts, the writer must turn into JSON that
 * json_parse() accepts again and that writes back identically.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "jsonw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_doc d, d2;
	static buf out, again, scratch;
	int64_t v;
	int i;

	if (d.cap == 0) {
		json_init(&d);
		json_init(&d2);
	}
	if (json_parse(&d, (const char *)data, size) != 0)
		return 0;
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
	if (json_parse(&d2, out.p, out.len) != 0)
		abort();	/* the writer wrote something that is not JSON */
	buf_reset(&again);
	jw_value(&again, &d2, 0, &scratch);
	if (again.len != out.len || memcmp(again.p, out.p, out.len) != 0)
		abort();	/* writing is not idempotent */
	return 0;
}
