/*
 * fuzz-normalize.c - libFuzzer harness for the normalize step: any input
 * line either is rejected or dropped, or gives one Event line that is a
 * valid JSON object ending in a newline.
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
	static json_doc d, ev;
	static buf out;
	norm_opts o = { "/!\xc2\xa7", 1, NULL, NULL };
	const char *why;
	int64_t u, p;

	if (d.cap == 0) {
		json_init(&d);
		json_init(&ev);
	}
	if (json_parse(&d, (const char *)data, size) != 0)
		return 0;
	(void)norm_ids(&d, 0, &u, &p);
	buf_reset(&out);
	why = NULL;
	switch (norm_update(&d, 0, &o, &out, &why)) {
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
