/*
 * fuzz-rules.c - libFuzzer harness for the vk-route rules language: the
 * first line of the input is parsed as a rule set, the rest as an Event,
 * and every rule is evaluated on it (conditions and templates).
 *
 * Checked: loading either succeeds or fails with a "-e:1:COL: …" message;
 * a condition's steps (eval_rule) answer as its tree (eval_cond) does; a
 * template either fills a destination text or says why not. (The JSON
 * reader has its own harness, fuzz-json.c.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dest.h"
#include "json.h"
#include "json.h"
#include "log.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct eval ev;
	static struct json_index ix;
	static int ready;
	struct ruleset rs;
	struct rules_src src = { "-e", NULL, 1 };
	const char *s = (const char *)data, *nl;
	char err[1024], why[512], jerr[128];
	buf text = BUF_INIT, out = BUF_INIT;
	struct jv root;
	size_t n1;
	int k, rc;

	if (!ready) {
		log_init("fuzz-rules");
		eval_init(&ev);
		ready = 1;
	}
	nl = memchr(s, '\n', size);
	n1 = nl ? (size_t)(nl - s) : size;
	if (memchr(s, '\0', n1) != NULL)
		return 0;	/* -e text comes from argv: no NUL */
	buf_put(&text, s, n1);
	src.text = buf_cstr(&text);
	err[0] = '\0';
	if (rules_load(&rs, &src, 1, err, sizeof(err)) == -1) {
		if (strncmp(err, "-e:1:", 5) != 0)
			abort();
		goto out;
	}
	if (nl == NULL)
		goto out;
	s = nl + 1;
	size -= n1 + 1;

	/* The event, read as vk-route reads it. */
	rc = json_check(s, size, &root, &ix, jerr, sizeof(jerr));
	if (rc != 0 || root.t != JSON_OBJECT)
		goto out;
	eval_begin(&ev, &rs, &root, &ix);
	for (k = 0; k < rs.nrule; k++) {
		struct rule *r = &rs.rule[k];

		if (!r->is_else) {
			const struct rx *failed;
			int held;

			/* The steps vk-route runs answer as the tree does. */
			ev.rx_failed = NULL;
			held = eval_cond(&ev, r->cond);
			failed = ev.rx_failed;
			ev.rx_failed = NULL;
			if (eval_rule(&ev, r) != held || (ev.rx_failed == NULL) != (failed == NULL))
				abort();
		}
		if (r->templated) {
			buf_reset(&out);
			why[0] = '\0';
			if (eval_template(&ev, r, &out, why, sizeof(why)) == 0) {
				if (out.len == 0 || dest_kind_of(buf_cstr(&out), &s) == NULL)
					abort();
			} else if (why[0] == '\0') {
				abort();
			}
		}
	}
out:
	rules_free(&rs);
	dest_free_all();
	buf_free(&text);
	buf_free(&out);
	return 0;
}
