/*
 * json-test - drives the common/ JSON layer and line reader for
 * tests/01-json.bats. Reads lines on stdin; for each, by mode:
 *   parse        "ok <compact value>" or "error <reason>"; "disagree" when
 *                json_check() (SIMD, at every level the CPU has) and
 *                json_check_portable() differ
 *   path P       the value at P, compacted, or "missing"
 *   int P        the int64 at P, or "not an int64"
 *   str P        the unescaped bytes of the string at P, raw, or "not a string"
 *   lines MAX    "N: <len>" per line, "N: too long" for skipped ones
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "jsonw.h"
#include "line.h"

/* Do json_check() at level (see json.h) and the portable build say the same of s? */
static int
agree_at(int level, const char *s, size_t n)
{
	struct json_index a, b;
	struct jv ra, rb;
	char ea[128], eb[128];
	int r, i;

	r = level == 3 ? json_check(s, n, &ra, &a, ea, sizeof(ea)) :
	    json_check_level(level, s, n, &ra, &a, ea, sizeof(ea));
	if (json_check_portable(s, n, &rb, &b, eb, sizeof(eb)) != r)
		return 0;
	if (r == -1)
		return strcmp(ea, eb) == 0;
	if (r == 1)
		return 1;
	if (ra.t != rb.t || ra.p != rb.p || ra.n != rb.n)
		return 0;
	if (ra.t != JSON_OBJECT)
		return 1;
	if (a.n != b.n)
		return 0;
	for (i = 0; i < a.n; i++)
		if (a.m[i].k != b.m[i].k || a.m[i].kn != b.m[i].kn || a.m[i].v != b.m[i].v ||
		    a.m[i].vn != b.m[i].vn || a.m[i].next != b.m[i].next ||
		    a.m[i].esc != b.m[i].esc || a.m[i].depth != b.m[i].depth)
			return 0;
	return 1;
}

/* Do every build of the grammar the CPU runs (SSE2, AVX2, AVX-512, the best) agree? */
static int
agree(const char *s, size_t n)
{
	int level;

	for (level = 0; level <= 3; level++)
		if (!agree_at(level, s, n))
			return 0;
	return 1;
}

int
main(int argc, char *argv[])
{
	json_doc d;
	linerd r;
	buf o = BUF_INIT, scratch = BUF_INIT;
	const char *p, *mode = argc > 1 ? argv[1] : "parse";
	const char *arg = argc > 2 ? argv[2] : "";
	size_t n;
	int st, i;
	int64_t v;

	json_init(&d);
	line_open(&r, 0, strcmp(mode, "lines") == 0 ? strtoul(arg, NULL, 10) : 0);
	while ((st = line_next(&r, &p, &n)) != LINE_EOF) {
		buf_reset(&o);
		if (strcmp(mode, "lines") == 0) {
			if (st == LINE_TOOLONG)
				printf("%lu: too long\n", r.lineno);
			else
				printf("%lu: %zu\n", r.lineno, n);
			continue;
		}
		if (st != LINE_OK)
			return 1;
		if (strcmp(mode, "parse") == 0 && !agree(p, n)) {
			puts("disagree");
			continue;
		}
		st = json_parse(&d, p, n);
		if (st == 1) {
			puts("blank");
			continue;
		}
		if (st == -1) {
			printf("error %s\n", d.err);
			continue;
		}
		if (strcmp(mode, "parse") == 0) {
			jw_value(&o, &d, 0, &scratch);
			printf("ok %.*s\n", (int)o.len, o.p);
			continue;
		}
		i = json_path(&d, 0, arg);
		if (strcmp(mode, "path") == 0) {
			if (i < 0) {
				puts("missing");
				continue;
			}
			jw_value(&o, &d, i, &scratch);
			printf("%.*s\n", (int)o.len, o.p);
		} else if (strcmp(mode, "int") == 0) {
			if (json_int64(&d, i, &v) == 0)
				printf("%" PRId64 "\n", v);
			else
				puts("not an int64");
		} else if (strcmp(mode, "str") == 0) {
			if (json_unescape(&d, i, &o) == 0) {
				fwrite(o.p, 1, o.len, stdout);
				putchar('\n');
			} else {
				puts("not a string");
			}
		}
	}
	line_close(&r);
	json_free(&d);
	buf_free(&o);
	buf_free(&scratch);
	return 0;
}
