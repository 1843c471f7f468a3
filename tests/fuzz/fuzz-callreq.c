/*
 * fuzz-callreq.c - libFuzzer harness for vk-call's request lines: any line
 * is refused with a reason or becomes a request whose result lines are
 * JSON, and whose execute program holds its params as one JSON object
 * with exactly its names and values: no byte of a value becomes code.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "jsonw.h"
#include "req.h"
#include "vkexec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
must_be_json(json_doc *d, const buf *line)
{
	if (line->len == 0 || line->p[line->len - 1] != '\n' ||
	    json_parse(d, line->p, line->len - 1) != 0 || json_type(d, 0) != JSON_OBJECT)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_doc d, chk;
	static buf id, line, val, want, scratch;
	static vkexec x;
	char why[256];
	const char *code, *obj;
	size_t pre, n;
	vkapi_err e;
	int k, key;
	req *r;

	static int ready;

	if (!ready) {
		ready = 1;
		json_init(&d);
		json_init(&chk);
		vkexec_init(&x);
	}
	buf_reset(&line);
	r = req_parse(&d, (const char *)data, size, 1, &id, why, sizeof(why));
	if (r == NULL) {
		if (why[0] == '\0')
			abort();
		res_error(&line, buf_cstr(&id), ERR_LINE, why, NULL, -1, NULL);
		must_be_json(&chk, &line);
		return 0;
	}
	res_error(&line, r->id, 14, "x", NULL, -1, NULL);
	must_be_json(&chk, &line);

	vkexec_reset(&x);
	if (vkexec_add(&x, r->method, r->kv, &e) != 0)
		abort();	/* req_parse let through a name vkexec refuses */
	code = vkexec_code(&x);
	/* return [API.<method>(<object>)]; */
	pre = strlen("return [API.") + strlen(r->method) + 1;
	n = strlen(code);
	if (n < pre + 4 || strcmp(code + n - 3, ")];") != 0)
		abort();
	obj = code + pre;
	if (json_parse(&chk, obj, n - pre - 3) != 0 || json_type(&chk, 0) != JSON_OBJECT ||
	    json_size(&chk, 0) != r->nkv)
		abort();
	for (k = 0, key = json_child(&chk, 0); k < r->nkv; k++, key = json_next(&chk, key + 1)) {
		if (!json_streq(&chk, key, r->kv[2 * k], strlen(r->kv[2 * k])))
			abort();
		/* the value read back is the value written (both canonical,
		 * bytes that are not UTF-8 having become U+FFFD alike) */
		buf_reset(&val);
		buf_reset(&want);
		if (json_type(&chk, key + 1) != JSON_STRING)
			abort();
		jw_tokstr(&val, &chk, key + 1, &scratch);
		jw_cstr(&want, r->kv[2 * k + 1]);
		if (val.len != want.len || memcmp(val.p, want.p, val.len) != 0)
			abort();
	}
	req_free(r);
	return 0;
}
