/* vkapi.c - VK API calls and plain GETs over one reused libcurl handle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "vkapi.h"

#define VKAPI_MAX_BODY	(64u << 20)

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	vkapi *a = arg;

	n *= size;
	if (a->body.len + n > a->max_body) {
		a->too_big = 1;
		return 0;	/* libcurl stops with CURLE_WRITE_ERROR */
	}
	buf_put(&a->body, p, n);
	return n;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	vkapi *a = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	if (a->tick)
		a->tick(a->tick_arg);
	return a->stop && *a->stop;
}

static void
mask1(char *s, const char *secret)
{
	size_t n, k, len, rest;
	char *p;

	if (secret == NULL || (n = strlen(secret)) < 3)
		return;
	while ((p = strstr(s, secret)) != NULL) {
		rest = strlen(p + n);
		memcpy(p, "***", 3);
		memmove(p + 3, p + n, rest + 1);
	}
	/* A message cut short may end with the start of a secret. */
	len = strlen(s);
	for (k = n - 1 < len ? n - 1 : len; k >= 8; k--)
		if (memcmp(s + len - k, secret, k) == 0) {
			memcpy(s + len - k, "***", 4);
			break;
		}
}

void
vkapi_mask(const vkapi *a, char *s)
{
	mask1(s, a->token);
	mask1(s, a->secret);
}

/* Fill e; arg is masked before it is cut to fit, then the result again. */
static int
fail(const vkapi *a, vkapi_err *e, int status, long code, const char *fmt, const char *arg)
{
	char *s = strdup(arg ? arg : "");

	if (s)
		vkapi_mask(a, s);
	e->status = status;
	e->code = code;
	snprintf(e->msg, sizeof(e->msg), fmt, s ? s : "");
	vkapi_mask(a, e->msg);
	free(s);
	return status;
}

int
vkapi_setup_fail(vkapi_err *e, const char *what)
{
	e->status = VKAPI_ESETUP;
	e->code = 0;
	snprintf(e->msg, sizeof(e->msg), "cannot set up libcurl: %s", what);
	return -1;
}

void
vkapi_easy_opts(void *curl, char *errbuf)
{
	CURL *c = curl;

	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vkpipe/" VKPIPE_VERSION);
}

int
vkapi_init(vkapi *a, const char *base, const char *version, const char *token,
    vkapi_err *e)
{
	CURL *c;
	size_t n;

	memset(a, 0, sizeof(*a));
	json_init(&a->doc);
	a->timeout_ms = 30000;
	a->max_body = VKAPI_MAX_BODY;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return vkapi_setup_fail(e, "curl_global_init failed");
	if ((c = curl_easy_init()) == NULL)
		return vkapi_setup_fail(e, "curl_easy_init failed");
	a->curl = c;
	a->base = strdup(base);
	a->version = strdup(version);
	a->token = strdup(token);
	if (!a->base || !a->version || !a->token)
		return vkapi_setup_fail(e, "out of memory");
	n = strlen(a->base);
	while (n > 0 && a->base[n - 1] == '/')
		a->base[--n] = '\0';

	vkapi_easy_opts(c, a->cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, a);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	return 0;
}

void
vkapi_free(vkapi *a)
{
	if (a->curl)
		curl_easy_cleanup(a->curl);
	if (a->token)
		memset(a->token, 0, strlen(a->token));
	if (a->form.p)
		memset(a->form.p, 0, a->form.cap);
	free(a->token);
	free(a->secret);
	free(a->base);
	free(a->version);
	buf_free(&a->url);
	buf_free(&a->form);
	buf_free(&a->body);
	json_free(&a->doc);
	curl_global_cleanup();
	memset(a, 0, sizeof(*a));
}

void
vkapi_set_secret(vkapi *a, const char *s)
{
	free(a->secret);
	a->secret = s ? strdup(s) : NULL;
}

void
vkapi_urlenc(buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			buf_putc(b, (char)c);
		} else {
			buf_putc(b, '%');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		}
	}
}

int
vkapi_transfer(const vkapi *a, int rc, long http, int too_big, const char *cerr,
    vkapi_err *e)
{
	char what[256];

	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return fail(a, e, VKAPI_EABORT, rc, "stopped", NULL);
	if (rc == CURLE_WRITE_ERROR && too_big)
		return fail(a, e, VKAPI_EBODY, 0, "reply larger than %s", "64 MiB");
	if (rc != CURLE_OK) {
		/* The error buffer is more precise than curl_easy_strerror();
		 * both are masked by fail(): neither must leak a secret. */
		snprintf(what, sizeof(what), "%s", cerr && cerr[0] ? cerr :
		    curl_easy_strerror((CURLcode)rc));
		return fail(a, e, VKAPI_ETRANSPORT, rc, "%.200s", what);
	}
	if (http != 200) {
		snprintf(what, sizeof(what), "%ld", http);
		return fail(a, e, VKAPI_EHTTP, http, "HTTP status %.20s", what);
	}
	return VKAPI_OK;
}

/* Run the transfer set up on a->curl; classify transport and HTTP errors. */
static int
perform(vkapi *a, long timeout_ms, vkapi_err *e)
{
	CURLcode rc;

	buf_reset(&a->body);
	a->too_big = 0;
	a->http = 0;
	a->cerr[0] = '\0';
	curl_easy_setopt(a->curl, CURLOPT_URL, buf_cstr(&a->url));
	curl_easy_setopt(a->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	rc = curl_easy_perform(a->curl);
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &a->http);
	return vkapi_transfer(a, rc, a->http, a->too_big, a->cerr, e);
}

static int
parse_body(const vkapi *a, const buf *body, json_doc *doc, int lazy, vkapi_err *e)
{
	const char *s = body->p ? body->p : "";

	if ((lazy ? json_parse_lazy(doc, s, body->len) :
	    json_parse(doc, s, body->len)) != 0)
		return fail(a, e, VKAPI_EBODY, 0, "reply is not JSON (%.180s)",
		    doc->err[0] ? doc->err : "empty");
	if (json_type(doc, 0) != JSON_OBJECT)
		return fail(a, e, VKAPI_EBODY, 0, "reply is not a JSON object", NULL);
	return VKAPI_OK;
}

int
vkapi_get(vkapi *a, const char *url, long timeout_ms, vkapi_err *e)
{
	int st;

	buf_reset(&a->url);
	buf_puts(&a->url, url);
	curl_easy_setopt(a->curl, CURLOPT_HTTPGET, 1L);
	if ((st = perform(a, timeout_ms, e)) != VKAPI_OK)
		return st;
	/* long-poll replies carry VK's updates, hostile and as deep as
	 * check() allows: a lazy tree keeps their cost linear */
	return parse_body(a, &a->body, &a->doc, 1, e);
}

void
vkapi_url(const vkapi *a, buf *url, const char *method)
{
	buf_reset(url);
	buf_puts(url, a->base);
	buf_putc(url, '/');
	buf_puts(url, method);
	buf_cstr(url);
}

void
vkapi_form(const vkapi *a, buf *form, const char *const *params)
{
	size_t i;

	buf_reset(form);
	for (i = 0; params && params[i] && params[i + 1]; i += 2) {
		vkapi_urlenc(form, params[i], strlen(params[i]));
		buf_putc(form, '=');
		vkapi_urlenc(form, params[i + 1], strlen(params[i + 1]));
		buf_putc(form, '&');
	}
	buf_puts(form, "access_token=");
	vkapi_urlenc(form, a->token, strlen(a->token));
	buf_puts(form, "&v=");
	vkapi_urlenc(form, a->version, strlen(a->version));
}

int
vkapi_reply(const vkapi *a, const buf *body, json_doc *doc, int *resp,
    vkapi_err *e)
{
	int st, err, t;
	int64_t code;
	buf m = BUF_INIT;

	*resp = -1;
	if ((st = parse_body(a, body, doc, 0, e)) != VKAPI_OK)
		return st;
	if ((err = json_get(doc, 0, "error", 5)) != -1) {
		code = 0;
		json_int64(doc, json_get(doc, err, "error_code", 10), &code);
		t = json_get(doc, err, "error_msg", 9);
		if (json_type(doc, t) == JSON_STRING)
			json_unescape(doc, t, &m);
		buf_cstr(&m);
		st = fail(a, e, VKAPI_EAPI, (long)code, "%.240s",
		    m.len ? m.p : "no error_msg");
		buf_free(&m);
		return st;
	}
	if ((*resp = json_get(doc, 0, "response", 8)) == -1)
		return fail(a, e, VKAPI_EBODY, 0,
		    "reply has neither response nor error", NULL);
	return VKAPI_OK;
}

int
vkapi_call(vkapi *a, const char *method, const char *const *params, int *resp,
    vkapi_err *e)
{
	int st;

	*resp = -1;
	vkapi_url(a, &a->url, method);
	vkapi_form(a, &a->form, params);
	curl_easy_setopt(a->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, a->form.p);
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDSIZE, (long)a->form.len);
	st = perform(a, a->timeout_ms, e);
	/* The body held the token: do not leave it lying in memory. */
	memset(a->form.p, 0, a->form.len);
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, NULL);
	if (st != VKAPI_OK)
		return st;
	return vkapi_reply(a, &a->body, &a->doc, resp, e);
}
