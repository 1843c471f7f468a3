/*
 * fuzz-normalize.c - libFuzzer harness for the normalize step: any input
 * line either is rejected or dropped, or gives one Event line that is a
 * valid JSON object ending in a newline; and the update read from a lazy
 * tree (json_parse_lazy, as vk-normalize reads its lines) gives the same
 * result, reason and Event as from a whole one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_doc d, ev, lz;
	static buf out, out2;
	norm_opts o = { "/!\xc2\xa7", NULL, NULL, NULL };
	const char *why, *why2;
	int64_t u, p, u2, p2;
	enum norm_result r;

	if (d.cap == 0) {
		json_init(&d);
		json_init(&ev);
		json_init(&lz);
	}
	if (json_parse(&d, (const char *)data, size) != 0)
		return 0;
	if (json_parse_lazy(&lz, (const char *)data, size) != 0)
		abort();
	if (norm_ids(&d, 0, &o, &u, &p) != norm_ids(&lz, 0, &o, &u2, &p2))
		abort();
	buf_reset(&out);
	buf_reset(&out2);
	why = why2 = NULL;
	r = norm_update(&d, 0, &o, &out, &why);
	if (norm_update(&lz, 0, &o, &out2, &why2) != r || why != why2 || out.len != out2.len ||
	    (out.len > 0 && memcmp(out.p, out2.p, out.len) != 0))
		abort();
	switch (r) {
	case NORM_EVENT:
		if (out.len == 0 || out.p[out.len - 1] != '\n')
			abort();
		if (json_parse(&ev, out.p, out.len - 1) != 0 ||
		    json_type(&ev, 0) != JSON_OBJECT)
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
