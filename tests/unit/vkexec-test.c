/*
 * vkexec-test - drives common/vkexec for tests/05-vkexec.bats. Each line
 * on stdin is one case; by mode:
 *   code            a JSON array of calls, [["method",{"name":"value",…}],…]:
 *                   prints the VKScript program, or "error <why>"
 *   split M1 M2 …   an execute reply for calls M1, M2, …: one line per call,
 *                   "ok <value, compacted>" or "error <status> <code> <msg>"
 *   call URL        calls as for code, sent with VK_TOKEN to the API at URL:
 *                   one line per call as for split
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonw.h"
#include "line.h"
#include "vkexec.h"

#define MAXP	64

static const char *pv[VKEXEC_MAX][2 * MAXP + 1];
static buf strs[VKEXEC_MAX][2 * MAXP];

/* Add the calls of the array at token 0 of d to x; -1 with e filled. */
static int
add_calls(vkexec *x, const json_doc *d, vkapi_err *e)
{
	static const char *const none[] = { NULL };
	buf method = BUF_INIT;
	int n, k, c, obj, np, j, key, rc = 0;

	vkexec_reset(x);
	n = json_size(d, 0);
	for (k = 0, c = 1; k < n && rc == 0; k++, c = json_next(d, c)) {
		buf_reset(&method);
		json_unescape(d, json_at(d, c, 0), &method);
		if (k >= VKEXEC_MAX) {	/* one too many: vkexec says no */
			rc = vkexec_add(x, buf_cstr(&method), none, e) < 0 ? -1 : 0;
			continue;
		}
		obj = json_at(d, c, 1);
		np = json_type(d, obj) == JSON_OBJECT ? json_size(d, obj) : 0;
		if (np > MAXP)
			np = MAXP;
		for (j = 0, key = obj + 1; j < np; j++) {
			buf_reset(&strs[k][2 * j]);
			buf_reset(&strs[k][2 * j + 1]);
			json_unescape(d, key, &strs[k][2 * j]);
			json_unescape(d, key + 1, &strs[k][2 * j + 1]);
			pv[k][2 * j] = buf_cstr(&strs[k][2 * j]);
			pv[k][2 * j + 1] = buf_cstr(&strs[k][2 * j + 1]);
			key = json_next(d, key + 1);
		}
		pv[k][2 * np] = NULL;
		rc = vkexec_add(x, buf_cstr(&method), pv[k], e) < 0 ? -1 : 0;
	}
	buf_free(&method);
	return rc;
}

static void
print_results(const vkexec *x, const json_doc *d, const struct vkexec_result *r)
{
	buf o = BUF_INIT, scratch = BUF_INIT;
	int k;

	for (k = 0; k < x->n; k++) {
		if (r[k].status == VKAPI_OK) {
			buf_reset(&o);
			jw_value(&o, d, r[k].resp, &scratch);
			printf("ok %.*s\n", (int)o.len, o.p);
		} else {
			printf("error %d %ld %s\n", r[k].status, r[k].err.code,
			    r[k].err.msg);
		}
	}
	buf_free(&o);
	buf_free(&scratch);
}

int
main(int argc, char *argv[])
{
	const char *mode = argc > 1 ? argv[1] : "code", *p;
	struct vkexec_result res[VKEXEC_MAX];
	json_doc d;
	linerd r;
	vkexec x;
	vkapi api;
	vkapi_err e;
	size_t n;
	int st, k, j;

	json_init(&d);
	vkexec_init(&x);
	if (strcmp(mode, "call") == 0) {
		const char *tok = getenv("VK_TOKEN");

		if (argc < 3 || vkapi_init(&api, argv[2], "5.199",
		    tok ? tok : "", &e) == -1) {
			fprintf(stderr, "vkexec-test: cannot set up the API client\n");
			return 2;
		}
	}
	line_open(&r, 0, 0);
	while ((st = line_next(&r, &p, &n)) != LINE_EOF) {
		if (st != LINE_OK || json_parse(&d, p, n) != 0) {
			puts("bad input line");
			continue;
		}
		if (strcmp(mode, "split") == 0) {
			vkexec_reset(&x);
			for (k = 2; k < argc && x.n < VKEXEC_MAX; k++)
				snprintf(x.method[x.n++], sizeof(x.method[0]), "%s", argv[k]);
			vkexec_split(&x, NULL, &d, VKAPI_OK, NULL, res);
			print_results(&x, &d, res);
		} else if (add_calls(&x, &d, &e) == -1) {
			printf("error %s\n", e.msg);
		} else if (strcmp(mode, "code") == 0) {
			puts(vkexec_code(&x));
		} else {
			vkexec_call(&x, &api, res, &e);
			print_results(&x, &api.doc, res);
		}
		fflush(stdout);
	}
	line_close(&r);
	if (strcmp(mode, "call") == 0)
		vkapi_free(&api);
	vkexec_free(&x);
	json_free(&d);
	for (k = 0; k < VKEXEC_MAX; k++)
		for (j = 0; j < 2 * MAXP; j++)
			buf_free(&strs[k][j]);
	return 0;
}
