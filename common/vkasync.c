/* vkasync.c - VK API calls over a libcurl multi handle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alloc.h"
#include "loop.h"
#include "vkasync.h"

#define VKA_MAX_BODY	(64u << 20)

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	vka_call *c = arg;

	n *= size;
	if (c->body.len + n > VKA_MAX_BODY) {
		c->too_big = 1;
		return 0;
	}
	buf_put(&c->body, p, n);
	return n;
}

/* libcurl says which sockets to wait on, for what (the socket API). */
static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	vkasync *m = arg;
	unsigned i;

	(void)easy;
	(void)sockp;
	for (i = 0; i < m->nsock && m->sock[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < m->nsock)
			m->sock[i] = m->sock[--m->nsock];
		return 0;
	}
	if (i == m->nsock) {
		if (m->nsock == m->sock_cap) {
			m->sock_cap = m->sock_cap ? 2 * m->sock_cap : 8;
			m->sock = xrealloc(m->sock, m->sock_cap * sizeof(*m->sock));
		}
		m->nsock++;
	}
	m->sock[i].fd = fd;
	m->sock[i].events = (short)((what & CURL_POLL_IN ? POLLIN : 0) |
	    (what & CURL_POLL_OUT ? POLLOUT : 0));
	return 0;
}

int
vka_init(vkasync *m, const vkapi *api, vkapi_err *e)
{
	memset(m, 0, sizeof(*m));
	m->api = api;
	m->timeout_ms = 30000;
	if ((m->multi = curl_multi_init()) == NULL) {
		vkapi_setup_fail(e, "curl_multi_init failed");
		return -1;
	}
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	return 0;
}

static void
call_free(vka_call *c)
{
	if (c->mime)
		curl_mime_free(c->mime);
	if (c->easy)
		curl_easy_cleanup(c->easy);
	buf_free(&c->url);
	buf_free(&c->form);
	buf_free(&c->body);
	free(c);
}

/* A new call's handle: one of m's, with the options every call has. */
static void
call_adopt(vkasync *m, vka_call *c)
{
	c->all_next = m->all;
	m->all = c;
	vkapi_easy_opts(c->easy, c->cerr);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
}

void
vka_free(vkasync *m)
{
	vka_call *c;

	/* Calls still in flight are abandoned. */
	while ((c = m->all) != NULL) {
		m->all = c->all_next;
		if (m->multi)
			curl_multi_remove_handle(m->multi, c->easy);
		call_free(c);
	}
	if (m->multi)
		curl_multi_cleanup(m->multi);
	free(m->wfd);
	free(m->sock);
	memset(m, 0, sizeof(*m));
}

int
vka_start(vkasync *m, const char *method, const char *const *params,
    void *user, vkapi_err *e)
{
	vka_call *c;

	if ((c = m->free) != NULL) {
		m->free = c->next;
	} else {
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->easy = curl_easy_init()) == NULL) {
			free(c);
			vkapi_setup_fail(e, "out of memory");
			return -1;
		}
		call_adopt(m, c);
		curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
	}
	c->user = user;
	c->next = NULL;
	c->too_big = 0;
	c->cerr[0] = '\0';
	buf_reset(&c->body);
	vkapi_url(m->api, &c->url, method);
	vkapi_form(m->api, &c->form, params);
	curl_easy_setopt(c->easy, CURLOPT_URL, c->url.p);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->form.p);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)c->form.len);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, m->timeout_ms);
	if (curl_multi_add_handle(m->multi, c->easy) != CURLM_OK) {
		vka_release(m, c);
		vkapi_setup_fail(e, "curl_multi_add_handle failed");
		return -1;
	}
	m->running++;
	return 0;
}

/* An upload's bytes, read from its descriptor where libcurl has got to. */
struct upsrc {
	int	fd;
	curl_off_t off, size;
};

static size_t
up_read(char *p, size_t size, size_t n, void *arg)
{
	struct upsrc *u = arg;
	ssize_t got;

	n *= size;
	if ((curl_off_t)n > u->size - u->off)
		n = (size_t)(u->size - u->off);
	if (n == 0)
		return 0;
	if ((got = pread(u->fd, p, n, u->off)) <= 0)
		return CURL_READFUNC_ABORT;	/* shorter than it was: a transport error */
	u->off += got;
	return (size_t)got;
}

static int
up_seek(void *arg, curl_off_t off, int origin)
{
	struct upsrc *u = arg;

	if (origin != SEEK_SET || off < 0 || off > u->size)
		return CURL_SEEKFUNC_CANTSEEK;
	u->off = off;
	return CURL_SEEKFUNC_OK;
}

int
vka_start_upload(vkasync *m, const char *url, const char *field,
    const char *name, int fd, const void *data, size_t size, void *user,
    vkapi_err *e)
{
	struct upsrc *u = NULL;
	curl_mimepart *part;
	vka_call *c;

	/* A handle of its own, freed at release: a MIME post is not undone
	 * by setting a form again, and an API call must never inherit it. */
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->easy = curl_easy_init()) == NULL ||
	    (c->mime = curl_mime_init(c->easy)) == NULL ||
	    (fd != -1 && (u = calloc(1, sizeof(*u))) == NULL)) {
		if (c)
			call_free(c);
		return vkapi_setup_fail(e, "out of memory");
	}
	call_adopt(m, c);
	part = curl_mime_addpart(c->mime);
	curl_mime_name(part, field);
	curl_mime_filename(part, name);
	if (fd != -1) {
		u->fd = fd;
		u->size = (curl_off_t)size;
		curl_mime_data_cb(part, u->size, up_read, up_seek, free, u);
	} else {
		curl_mime_data(part, data, size);
	}
	curl_mime_type(part, "application/octet-stream");
	c->user = user;
	buf_reset(&c->url);
	buf_puts(&c->url, url);
	curl_easy_setopt(c->easy, CURLOPT_URL, buf_cstr(&c->url));
	curl_easy_setopt(c->easy, CURLOPT_MIMEPOST, c->mime);
	/* the whole-call timeout would cut a big file on a slow link: stop
	 * only a transfer that stalls (under 1 KB/s for 60 s) */
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, 0L);
	curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_TIME, 60L);
	if (curl_multi_add_handle(m->multi, c->easy) != CURLM_OK) {
		vka_release(m, c);
		return vkapi_setup_fail(e, "curl_multi_add_handle failed");
	}
	m->running++;
	return 0;
}

int
vka_poll(vkasync *m, struct pollfd *fds, unsigned nfds, int timeout_ms)
{
	struct curl_waitfd *w;
	int still;
	unsigned i;

	if (nfds > m->nwfd) {
		if ((w = realloc(m->wfd, nfds * sizeof(*w))) == NULL)
			return -1;
		m->wfd = w;
		m->nwfd = nfds;
	}
	w = m->wfd;
	for (i = 0; i < nfds; i++) {
		w[i].fd = fds[i].fd;
		w[i].events = (short)((fds[i].events & POLLIN ? CURL_WAIT_POLLIN : 0) |
		    (fds[i].events & POLLOUT ? CURL_WAIT_POLLOUT : 0));
		w[i].revents = 0;
	}
	if (curl_multi_poll(m->multi, w, nfds, timeout_ms, NULL) != CURLM_OK)
		return -1;
	/* libcurl reports POLLIN and POLLOUT only, and a pipe whose writer
	 * is gone shows POLLHUP alone: ask poll(2) itself for the details. */
	if (nfds > 0 && poll(fds, nfds, 0) == -1)
		for (i = 0; i < nfds; i++)
			fds[i].revents = 0;
	return curl_multi_perform(m->multi, &still) == CURLM_OK ? 0 : -1;
}

long
vka_timeout(vkasync *m)
{
	long t = -1;

	if (m->running == 0)
		return -1;
	curl_multi_timeout(m->multi, &t);
	return t;
}

static void
on_ready(void *arg, int fd, short revents)
{
	vkasync *m = arg;
	int ev = 0, still;

	if (revents & (POLLIN | POLLHUP))
		ev |= CURL_CSELECT_IN;
	if (revents & POLLOUT)
		ev |= CURL_CSELECT_OUT;
	if (revents & (POLLERR | POLLNVAL))
		ev |= CURL_CSELECT_ERR;
	curl_multi_socket_action(m->multi, fd, ev, &still);
}

void
vka_wait_on(vkasync *m, struct loop *l)
{
	unsigned i;

	for (i = 0; i < m->nsock; i++)
		loop_add(l, m->sock[i].fd, m->sock[i].events, on_ready, m);
	loop_timeout(l, vka_timeout(m));
}

void
vka_after(vkasync *m)
{
	long t = -1;
	int still;

	if (m->running > 0 && curl_multi_timeout(m->multi, &t) == CURLM_OK && t == 0)
		curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &still);
}

vka_call *
vka_done(vkasync *m, json_doc *doc, int *resp, int *st, vkapi_err *e)
{
	CURLMsg *msg;
	vka_call *c;
	long http = 0;
	int left;

	do
		if ((msg = curl_multi_info_read(m->multi, &left)) == NULL)
			return NULL;
	while (msg->msg != CURLMSG_DONE);
	curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
	curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &http);
	*st = vkapi_transfer(m->api, msg->data.result, http, c->too_big,
	    c->cerr, e);
	curl_multi_remove_handle(m->multi, c->easy);
	m->running--;
	/* The body held the token: do not leave it lying in memory. */
	if (c->form.len > 0)
		memset(c->form.p, 0, c->form.len);
	*resp = -1;
	if (*st == VKAPI_OK && c->mime != NULL) {
		/* an upload server's reply: any JSON object, judged by the caller */
		if (json_parse(doc, c->body.p, c->body.len) == 0 &&
		    json_type(doc, 0) == JSON_OBJECT) {
			*resp = 0;
		} else {
			*st = e->status = VKAPI_EBODY;
			e->code = 0;
			snprintf(e->msg, sizeof(e->msg), "the upload server answered "
			    "no JSON object");
		}
	} else if (*st == VKAPI_OK) {
		*st = vkapi_reply(m->api, &c->body, doc, resp, e);
	}
	return c;
}

void
vka_release(vkasync *m, vka_call *c)
{
	vka_call **pp;

	if (c->mime != NULL) {	/* an upload's handle is not reused */
		for (pp = &m->all; *pp != c; pp = &(*pp)->all_next)
			;
		*pp = c->all_next;
		call_free(c);
		return;
	}
	c->user = NULL;
	c->next = m->free;
	m->free = c;
}
