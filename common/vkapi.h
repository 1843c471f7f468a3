/*
 * vkapi.h - a small VK API client over one libcurl easy handle.
 *
 * One handle is reused for every request, so its connection cache keeps
 * the API host and the long-poll host alive between calls (keep-alive).
 * Methods are called with a form-encoded POST: the access token and the
 * API version travel inside the body, never in a URL, and no message this
 * module produces contains the token (libcurl's error texts are masked
 * too). TLS peer and host verification are always on; redirects are not
 * followed (a redirected POST would carry the token elsewhere).
 *
 * Errors are kept apart by kind, because callers retry them differently:
 * the network (VKAPI_ETRANSPORT), an HTTP status other than 200
 * (VKAPI_EHTTP), a body that is not JSON (VKAPI_EBODY), and a VK API
 * error, which arrives as HTTP 200 {"error":{"error_code":N,...}}
 * (VKAPI_EAPI).
 */
#ifndef VKPIPE_VKAPI_H
#define VKPIPE_VKAPI_H

#include <signal.h>
#include <stddef.h>

#include "buf.h"
#include "json.h"

#define VKAPI_DEFAULT_URL	"https://api.vk.com/method"
#define VKAPI_DEFAULT_VERSION	"5.199"

enum vkapi_status {
	VKAPI_OK = 0,
	VKAPI_ETRANSPORT = -1,	/* connect, TLS, timeout, dropped connection */
	VKAPI_EHTTP = -2,	/* HTTP status other than 200; code holds it */
	VKAPI_EBODY = -3,	/* not JSON, too big, or neither response nor error */
	VKAPI_EAPI = -4,	/* {"error":...}; code is VK's error_code */
	VKAPI_EABORT = -5,	/* the stop flag was raised during the transfer */
	VKAPI_ESETUP = -6	/* libcurl could not be set up */
};

typedef struct vkapi_err {
	int	status;		/* enum vkapi_status */
	long	code;		/* VK error_code, HTTP status or CURLcode */
	char	msg[256];	/* human-readable, token masked */
} vkapi_err;

typedef struct vkapi {
	void	*curl;
	char	*base;		/* API base URL, without the trailing slash */
	char	*version;
	char	*token;		/* owned; wiped on vkapi_free() */
	char	*secret;	/* another string to mask (e.g. a long-poll key) */
	long	 timeout_ms;	/* whole-request timeout for vkapi_call() */
	size_t	 max_body;	/* longest reply accepted */
	volatile sig_atomic_t *stop;	/* aborts a transfer when set */
	/* Called during transfers, about once a second at least (libcurl's
	 * progress callback): lets a caller serve another input meanwhile. */
	void	(*tick)(void *arg);
	void	*tick_arg;
	buf	 url, form, body;
	json_doc doc;		/* the last reply; borrows body */
	long	 http;		/* HTTP status of the last reply */
	int	 too_big;
	char	 cerr[256];	/* CURL_ERROR_SIZE */
} vkapi;

/* Returns 0, or -1 with e filled. The strings are copied. */
int	vkapi_init(vkapi *a, const char *base, const char *version,
	    const char *token, vkapi_err *e);
void	vkapi_free(vkapi *a);
/* A string masked in every message besides the token (NULL: none). */
void	vkapi_set_secret(vkapi *a, const char *s);

/*
 * Call method with params, a NULL-terminated list of name, value pairs
 * (values raw; they are URL-encoded here). On VKAPI_OK, *resp is the
 * `response` token in a->doc, valid until the next request.
 */
int	vkapi_call(vkapi *a, const char *method, const char *const *params,
	    int *resp, vkapi_err *e);
/*
 * GET url with a whole-request timeout. On VKAPI_OK the body is in
 * a->body and parsed in a->doc (root token 0), valid until the next request:
 * a lazy tree (json_parse_lazy), so walk containers from json_child().
 */
int	vkapi_get(vkapi *a, const char *url, long timeout_ms, vkapi_err *e);

/*
 * The pieces vkapi_call() is made of, for callers that run their own
 * transfers (several in flight over a libcurl multi handle, vkasync.h).
 */
/* Options every VK API handle has: TLS verification on, no redirects,
 * http(s) only, timeouts, keep-alive; errbuf has CURL_ERROR_SIZE bytes. */
/* libcurl could not be set up (what failed): e says so. Returns -1. */
int	vkapi_setup_fail(vkapi_err *e, const char *what);
void	vkapi_easy_opts(void *curl, char *errbuf);
/* url = the method's URL (NUL-terminated). */
void	vkapi_url(const vkapi *a, buf *url, const char *method);
/* form = the POST body: params (as for vkapi_call), the token, the version. */
void	vkapi_form(const vkapi *a, buf *form, const char *const *params);
/* Classify an ended transfer: rc a CURLcode, http its status, too_big set
 * when the reply was cut off for size, cerr libcurl's error buffer. */
int	vkapi_transfer(const vkapi *a, int rc, long http, int too_big,
	    const char *cerr, vkapi_err *e);
/* Parse body as a method's reply into doc: VKAPI_OK with *resp the
 * `response` token, VKAPI_EAPI with e->code VK's error_code, VKAPI_EBODY. */
int	vkapi_reply(const vkapi *a, const buf *body, json_doc *doc, int *resp,
	    vkapi_err *e);

/* Append s[0..n) to b, percent-encoded for a query string or form body. */
void	vkapi_urlenc(buf *b, const char *s, size_t n);
/* Replace every occurrence of the token (and the secret) in s with "***". */
void	vkapi_mask(const vkapi *a, char *s);

#endif
