/* vkexec.c - batching VK API calls into one execute request, and back. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"
#include "vkexec.h"

void
vkexec_init(vkexec *x)
{
	memset(x, 0, sizeof(*x));
}

void
vkexec_reset(vkexec *x)
{
	x->n = 0;
	buf_reset(&x->code);
}

void
vkexec_free(vkexec *x)
{
	buf_free(&x->code);
	buf_free(&x->scratch);
	memset(x, 0, sizeof(*x));
}

/* A plain name: letters, digits, '_', and (dots != 0) single dots between. */
static int
plain_name(const char *s, int dots)
{
	int start = 1;

	for (; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    *s == '_' || (!start && *s >= '0' && *s <= '9'))
			start = 0;
		else if (dots && *s == '.' && !start)
			start = 1;
		else
			return 0;
	}
	return !start;
}

/*
 * s as a JSON string literal that is also a safe VKScript literal: jw_str
 * escapes quotes, backslashes and control characters; U+2028 and U+2029,
 * which end a line in JavaScript-like languages, are escaped here.
 */
static void
literal(vkexec *x, const char *s)
{
	const char *p, *end;

	buf_reset(&x->scratch);
	jw_cstr(&x->scratch, s);
	p = x->scratch.p;
	end = p + x->scratch.len;
	while (p < end) {
		const char *q = p;

		while (q + 2 < end && !((unsigned char)q[0] == 0xE2 &&
		    (unsigned char)q[1] == 0x80 &&
		    ((unsigned char)q[2] == 0xA8 || (unsigned char)q[2] == 0xA9)))
			q++;
		if (q + 2 >= end) {
			buf_put(&x->code, p, (size_t)(end - p));
			break;
		}
		buf_put(&x->code, p, (size_t)(q - p));
		buf_puts(&x->code, (unsigned char)q[2] == 0xA8 ? "\\u2028" : "\\u2029");
		p = q + 3;
	}
}

static int
bad_name(vkapi_err *e, const char *what)
{
	e->status = VKAPI_ESETUP;
	e->code = 0;
	snprintf(e->msg, sizeof(e->msg), "execute: %s", what);
	return -1;
}

int
vkexec_add(vkexec *x, const char *method, const char *const *params,
    vkapi_err *e)
{
	size_t i;

	if (x->n == VKEXEC_MAX)
		return bad_name(e, "more than 25 calls in one request");
	if (strlen(method) >= sizeof(x->method[0]) || !plain_name(method, 1))
		return bad_name(e, "a method name that is not a plain name");
	for (i = 0; params && params[i] && params[i + 1]; i += 2)
		if (!plain_name(params[i], 0))
			return bad_name(e, "a parameter name that is not a plain name");

	buf_puts(&x->code, x->n == 0 ? "return [" : ",");
	buf_puts(&x->code, "API.");
	buf_puts(&x->code, method);
	buf_puts(&x->code, "({");
	for (i = 0; params && params[i] && params[i + 1]; i += 2) {
		if (i > 0)
			buf_putc(&x->code, ',');
		literal(x, params[i]);
		buf_putc(&x->code, ':');
		literal(x, params[i + 1]);
	}
	buf_puts(&x->code, "})");
	snprintf(x->method[x->n], sizeof(x->method[0]), "%s", method);
	return x->n++;
}

const char *
vkexec_code(vkexec *x)
{
	size_t len = x->code.len;
	char *s;

	if (x->n == 0)
		return "return [];";
	buf_puts(&x->code, "];");
	s = buf_cstr(&x->code);
	x->code.len = len;	/* more calls may still be added */
	return s;
}

static void
set_err(struct vkexec_result *r, const vkapi *a, int status, long code,
    const char *msg)
{
	r->status = status;
	r->resp = -1;
	r->errtok = -1;
	r->err.status = status;
	r->err.code = code;
	snprintf(r->err.msg, sizeof(r->err.msg), "%s", msg);
	if (a != NULL)
		vkapi_mask(a, r->err.msg);
}

/* The error of execute_errors entry i into r. */
static void
entry_err(struct vkexec_result *r, const vkapi *a, const json_doc *d, int ent)
{
	int64_t code = 0;
	buf m = BUF_INIT;
	int t;

	json_int64(d, json_get(d, ent, "error_code", 10), &code);
	t = json_get(d, ent, "error_msg", 9);
	if (json_type(d, t) == JSON_STRING)
		json_unescape(d, t, &m);
	buf_cstr(&m);
	set_err(r, a, VKAPI_EAPI, (long)code, m.len ? m.p : "no error_msg");
	r->errtok = ent;
	buf_free(&m);
}

#define MAX_ENTRIES	64	/* more execute_errors than calls are ignored */

/* The first unused entry for method (or, failing that, any unused), or -1. */
static int
take_entry(const json_doc *d, int errs, const char *method, uint64_t *used)
{
	int n, k, i, any = -1, anyk = -1, mt;

	n = json_type(d, errs) == JSON_ARRAY ? json_size(d, errs) : 0;
	if (n > MAX_ENTRIES)
		n = MAX_ENTRIES;
	for (k = 0, i = errs + 1; k < n; k++, i = json_next(d, i)) {
		if (*used & (UINT64_C(1) << k) || json_type(d, i) != JSON_OBJECT)
			continue;
		mt = json_get(d, i, "method", 6);
		if (mt < 0 || json_streq(d, mt, method, strlen(method))) {
			*used |= UINT64_C(1) << k;
			return i;
		}
		if (any < 0) {
			any = i;
			anyk = k;
		}
	}
	if (any >= 0)
		*used |= UINT64_C(1) << anyk;
	return any;
}

void
vkexec_split(const vkexec *x, const vkapi *a, const json_doc *d, int st,
    const vkapi_err *e, struct vkexec_result *out)
{
	uint64_t used = 0;
	int k, resp, errs, el, ent;
	char msg[96];

	if (st != VKAPI_OK) {
		for (k = 0; k < x->n; k++)
			set_err(&out[k], a, st, e->code, e->msg);
		return;
	}
	resp = json_get(d, 0, "response", 8);
	errs = json_get(d, 0, "execute_errors", 14);
	if (resp < 0 || json_type(d, resp) == JSON_NULL ||
	    (json_type(d, resp) != JSON_ARRAY && x->n != 1)) {
		ent = take_entry(d, errs, x->n ? x->method[0] : "", &used);
		for (k = 0; k < x->n; k++) {
			if (ent >= 0)
				entry_err(&out[k], a, d, ent);
			else
				set_err(&out[k], a, VKAPI_EBODY, 0, resp >= 0 &&
				    json_type(d, resp) != JSON_NULL ?
				    "execute: response is not an array" :
				    "execute: no response");
		}
		return;
	}
	for (k = 0; k < x->n; k++) {
		/* A bare value answers a single call (`return API.m(…);`). */
		el = json_type(d, resp) == JSON_ARRAY ? json_at(d, resp, k) : resp;
		if (el < 0) {
			snprintf(msg, sizeof(msg), "execute: no result for call %d (%s)",
			    k + 1, x->method[k]);
			set_err(&out[k], a, VKAPI_EBODY, 0, msg);
		} else if (json_type(d, el) == JSON_FALSE) {
			if ((ent = take_entry(d, errs, x->method[k], &used)) >= 0) {
				entry_err(&out[k], a, d, ent);
			} else {
				snprintf(msg, sizeof(msg), "execute: %s failed, "
				    "no execute_errors entry says why", x->method[k]);
				set_err(&out[k], a, VKAPI_EAPI, 0, msg);
			}
		} else {
			out[k].status = VKAPI_OK;
			out[k].resp = el;
			out[k].errtok = -1;
			out[k].err.status = VKAPI_OK;
			out[k].err.code = 0;
			out[k].err.msg[0] = '\0';
		}
	}
}

int
vkexec_call(vkexec *x, vkapi *a, struct vkexec_result *out, vkapi_err *e)
{
	const char *params[3];
	int st, resp;

	params[0] = "code";
	params[1] = vkexec_code(x);
	params[2] = NULL;
	st = vkapi_call(a, "execute", params, &resp, e);
	vkexec_split(x, a, &a->doc, st, e, out);
	return st;
}
