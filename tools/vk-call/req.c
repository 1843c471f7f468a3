/* req.c - request lines in, result lines out. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "jsonw.h"
#include "req.h"

#define MAX_NAME	64
#define MAX_PARAMS	64

/*
 * Methods that cannot run inside execute: execute itself (and stored
 * procedures), and the saving halves of uploads, whose long "server",
 * "photo" and "hash" values VK wants exactly as the upload server gave them.
 */
static const char *const alone_methods[] = {
	"execute", "photos.save", "photos.saveMessagesPhoto", "photos.saveWallPhoto",
	"photos.saveOwnerPhoto", "photos.saveOwnerCoverPhoto", "docs.save",
	"video.save", "messages.setChatPhoto", "polls.savePhoto", NULL
};

/* A method name goes into a URL and into VKScript: letters, digits and
 * underscores, in segments that start with a letter, joined by dots.
 * Checked on all n bytes as unescaped: a NUL ("\u0000") is a byte outside
 * the grammar, not the end of the name. */
static int
good_method(const char *s, size_t n)
{
	size_t i;
	int start = 1;

	if (n == 0 || n >= MAX_NAME)	/* vkexec keeps 63 bytes of a method name */
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

		if (start && !alpha)
			return 0;
		start = 0;
		if (c == '.')
			start = 1;
		else if (!alpha && !(c >= '0' && c <= '9') && c != '_')
			return 0;
	}
	return !start;
}

static int
good_param(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > MAX_NAME || (s[0] >= '0' && s[0] <= '9'))
		return 0;	/* a name, as VKScript has them */
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* Append scalar token i as a parameter value; -1 if it is no scalar. */
static int
put_scalar(buf *b, const json_doc *d, int i)
{
	const char *raw;
	size_t n, start = b->len;

	switch (json_type(d, i)) {
	case JSON_STRING:
		json_unescape(d, i, b);
		/* A NUL would end the C string the value becomes. */
		return memchr(b->p + start, '\0', b->len - start) ? -2 : 0;
	case JSON_NUMBER:
		raw = json_raw(d, i, &n);
		buf_put(b, raw, n);
		return 0;
	case JSON_TRUE:
		buf_putc(b, '1');
		return 0;
	case JSON_FALSE:
		buf_putc(b, '0');
		return 0;
	default:
		return -1;
	}
}

int32_t
req_random_id(const char *id, size_t n)
{
	uint64_t h = hash_bytes(id, n);

	h ^= h >> 29;	/* FNV's high bits are its best mixed */
	return (int32_t)(h % 0x7fffffffu) + 1;
}

static uint64_t
order_key(const char *s)
{
	uint64_t h = hash_bytes(s, strlen(s));

	return h ? h : 1;
}

static int
has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Calls that change nothing when repeated: reads, and sends VK deduplicates. */
static int
idempotent(const req *r)
{
	const char *verb = strrchr(r->method, '.');
	const char *rid;

	if (strcmp(r->method, "messages.send") == 0)
		return (rid = req_param(r, "random_id")) != NULL && strcmp(rid, "0") != 0;
	if (strcmp(r->method, "messages.sendMessageEventAnswer") == 0)
		return 1;
	verb = verb ? verb + 1 : r->method;
	return has_prefix(verb, "get") || has_prefix(verb, "search") ||
	    has_prefix(verb, "is");
}

const char *
req_param(const req *r, const char *name)
{
	int k;

	for (k = 0; k < r->nkv; k++)
		if (strcmp(r->kv[2 * k], name) == 0)
			return r->kv[2 * k + 1];
	return NULL;
}

int
req_blank(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

void
req_free(req *r)
{
	if (r != NULL)
		upload_free(r->up);
	free(r);
}

/* Parse params object i into strs (name\0value\0...); returns pairs or -1. */
static int
parse_params(const json_doc *d, int i, buf *strs, char *why, size_t whylen)
{
	int m, k, key, val, e, j, np = 0, rc;
	const char *kp;
	size_t kn;

	if (json_type(d, i) != JSON_OBJECT) {
		snprintf(why, whylen, "\"params\" is not an object");
		return -1;
	}
	m = json_size(d, i);
	if (m > MAX_PARAMS) {
		snprintf(why, whylen, "more than %d params", MAX_PARAMS);
		return -1;
	}
	for (k = 0, key = json_child(d, i); k < m; k++, key = json_next(d, val)) {
		val = key + 1;
		kp = json_raw(d, key, &kn);
		if (json_escaped(d, key) || !good_param(kp, kn)) {
			snprintf(why, whylen, "params: \"%.*s\" is not a parameter name",
			    (int)(kn > 64 ? 64 : kn), kp);
			return -1;
		}
		if ((kn == 12 && memcmp(kp, "access_token", 12) == 0) ||
		    (kn == 1 && kp[0] == 'v')) {
			snprintf(why, whylen, "params.%.*s is vk-call's own "
			    "(the token and --api-version)", (int)kn, kp);
			return -1;
		}
		if (json_type(d, val) == JSON_NULL)
			continue;
		buf_put(strs, kp, kn);
		buf_putc(strs, '\0');
		rc = 0;
		if (json_type(d, val) == JSON_ARRAY) {
			for (j = 0, e = json_child(d, val); rc == 0 &&
			    j < json_size(d, val); j++, e = json_next(d, e)) {
				if (j > 0)
					buf_putc(strs, ',');
				rc = put_scalar(strs, d, e);
			}
		} else {
			rc = put_scalar(strs, d, val);
		}
		if (rc != 0) {
			snprintf(why, whylen, "params.%.*s: %s", (int)kn, kp, rc == -2 ?
			    "holds a NUL character" : "not a string, number, "
			    "boolean or array of them (send JSON as a string)");
			return -1;
		}
		buf_putc(strs, '\0');
		np++;
	}
	return np;
}

req *
req_parse(json_doc *d, const char *p, size_t n, unsigned long lineno,
    buf *idbuf, char *why, size_t whylen)
{
	buf strs = BUF_INIT, scratch = BUF_INIT;
	int id, meth, par, upl, np = 0, k;
	upload *u = NULL;
	const char *upmeth;
	size_t off, need;
	char rid[16];
	req *r = NULL;
	char *s;

	buf_reset(idbuf);
	if (json_parse(d, p, n) != 0) {
		snprintf(why, whylen, "not JSON: %s", d->err[0] ? d->err : "empty line");
		goto bad;
	}
	if (json_type(d, 0) != JSON_OBJECT) {
		snprintf(why, whylen, "not a JSON object");
		goto bad;
	}
	if ((id = json_get(d, 0, "id", 2)) != -1)
		jw_value(idbuf, d, id, &scratch);
	meth = json_get(d, 0, "method", 6);
	upl = json_get(d, 0, "upload", 6);
	if (id == -1) {
		snprintf(why, whylen, "no \"id\"");
		goto bad;
	}
	if (upl != -1 && meth == -1) {
		if ((u = upload_parse(d, upl, &upmeth, &strs, &np, why, whylen)) == NULL)
			goto bad;
		/* the method first, as for a call: insert it before the params */
		buf_put(&scratch, upmeth, strlen(upmeth) + 1);
		buf_put(&scratch, strs.p, strs.len);
		buf_reset(&strs);
		buf_put(&strs, scratch.p, scratch.len);
		buf_reset(&scratch);
		goto build;
	}
	if (upl != -1) {
		snprintf(why, whylen, "\"method\" and \"upload\" exclude each other");
		goto bad;
	}
	if (json_type(d, meth) != JSON_STRING) {
		snprintf(why, whylen, "no \"method\" string");
		goto bad;
	}
	json_unescape(d, meth, &strs);
	if (!good_method(strs.p, strs.len)) {
		snprintf(why, whylen, "\"method\" is not a VK API method name");
		goto bad;
	}
	buf_putc(&strs, '\0');
	if ((par = json_get(d, 0, "params", 6)) != -1 &&
	    (np = parse_params(d, par, &strs, why, whylen)) == -1)
		goto bad;
build:
	/* Room for a random_id messages.send may need. */
	need = sizeof(*r) + (size_t)(2 * np + 3) * sizeof(char *) + idbuf->len + 1 +
	    strs.len + sizeof("random_id") + sizeof(rid);
	if ((r = calloc(1, need)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto bad;
	}
	r->kv = (const char **)(r + 1);
	s = (char *)(r->kv + 2 * np + 3);
	memcpy(s, strs.p, strs.len);
	r->method = s;
	off = strlen(s) + 1;
	for (k = 0; k < 2 * np; k++) {
		r->kv[k] = s + off;
		off += strlen(s + off) + 1;
	}
	r->nkv = np;
	s += strs.len;
	r->id = s;
	memcpy(s, idbuf->p, idbuf->len);
	s[idbuf->len] = '\0';
	s += idbuf->len + 1;
	r->lineno = lineno;
	r->up = u;
	u = NULL;
	if (strcmp(r->method, "messages.send") == 0 && !req_param(r, "random_id")) {
		/* Derived from the id: a request sent again after a crash gets
		 * the same random_id, and VK does not post it twice. */
		snprintf(rid, sizeof(rid), "%" PRId32, req_random_id(r->id, idbuf->len));
		memcpy(s, "random_id", sizeof("random_id"));
		r->kv[2 * np] = s;
		s += sizeof("random_id");
		memcpy(s, rid, strlen(rid) + 1);
		r->kv[2 * np + 1] = s;
		r->nkv = ++np;
	}
	r->kv[2 * np] = NULL;
	r->first = strcmp(r->method, "messages.sendMessageEventAnswer") == 0;
	for (k = 0; alone_methods[k]; k++)
		if (strcmp(r->method, alone_methods[k]) == 0 ||
		    has_prefix(r->method, "execute."))
			r->alone = 1;
	r->idem = idempotent(r);
	for (k = 0; k < 2 * r->nkv; k++)
		r->size += strlen(r->kv[k]) + 8;	/* quotes, colon, comma */
	if (r->size > REQ_BATCH_BYTES)
		r->alone = 1;	/* too big to share an execute's program */
	if ((s = (char *)req_param(r, "peer_id")) != NULL ||
	    (s = (char *)req_param(r, "user_id")) != NULL)
		r->key = order_key(s);
	buf_free(&strs);
	buf_free(&scratch);
	return r;
bad:
	upload_free(u);
	if (idbuf->len == 0)
		JW_LIT(idbuf, "null");
	buf_cstr(idbuf);
	buf_free(&strs);
	buf_free(&scratch);
	return NULL;
}

void
res_response(buf *b, const char *id, const json_doc *d, int tok, buf *scratch)
{
	JW_LIT(b, "{\"id\":");
	buf_puts(b, id);
	JW_LIT(b, ",\"response\":");
	jw_value(b, d, tok, scratch);
	JW_LIT(b, "}\n");
}

void
res_error(buf *b, const char *id, long code, const char *msg,
    const json_doc *d, int err, buf *scratch)
{
	static const char *const keep[] = { "captcha_sid", "captcha_img", NULL };
	int k, t;

	JW_LIT(b, "{\"id\":");
	buf_puts(b, id);
	JW_LIT(b, ",\"error\":{\"error_code\":");
	jw_int(b, code);
	JW_LIT(b, ",\"error_msg\":");
	jw_cstr(b, msg);
	for (k = 0; d && err >= 0 && keep[k]; k++)
		if ((t = json_get(d, err, keep[k], strlen(keep[k]))) != -1) {
			buf_putc(b, ',');
			jw_cstr(b, keep[k]);
			buf_putc(b, ':');
			jw_value(b, d, t, scratch);
		}
	JW_LIT(b, "}}\n");
}
