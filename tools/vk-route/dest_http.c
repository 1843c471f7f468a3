/*
 * dest_http.c - `http://…` and `https://…`: each event POSTed as JSON, or
 * NDJSON batches, with libcurl's multi interface.
 *
 * Options go in the URL's fragment, which is never sent:
 *   #batch=N      up to N lines per POST (application/x-ndjson); 1: one event
 *                 per POST (application/json), the default
 *   #inflight=N   requests at once (default 1, which keeps the order)
 *   #timeout=S    seconds per request (default 10)
 * e.g. https://hooks.example/vk#batch=100,inflight=4
 *
 * d->fd is an epoll descriptor holding curl's sockets and a timerfd for
 * curl's timer, so the main loop polls one descriptor. Requests are
 * confirmed in the order they were sent: a 2xx delivers its lines
 * (dest_settle) once every earlier request is settled too. A 4xx other
 * than 429 refuses the lines for good (DEST_REFUSED, with the status). A connection error, a
 * timeout, a 429 or a 5xx drops every request in flight and sends the lines
 * again after backoff, or after Retry-After when the server asked for longer.
 */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "alloc.h"
#include "dest.h"
#include "log.h"

struct req {
	CURL	*e;
	buf	 body;
	size_t	 nlines;
	int	 done;		/* finished: result and status below */
	CURLcode res;
	long	 status;
	double	 retry_after;
	char	 errbuf[CURL_ERROR_SIZE];
	struct req *next;
};

struct httpd {
	char	*url;		/* without the fragment */
	long	 batch, inflight, timeout;
	CURLM	*m;
	int	 tfd;
	struct curl_slist *hdr;
	struct req *first, *last, *spare;
	long	 nreq;
	int	 failed;	/* a retryable failure met in this io() */
	double	 wait;		/* at least this long before retrying */
	char	 why[256];
};

static int curl_ready;

/* Parse "#k=v,k=v" into h (h NULL: check only). 0, or -1 with err. */
static int
parse_opts(const char *s, struct httpd *h, char *err, size_t errlen)
{
	long batch = 1, inflight = 1, timeout = 10;

	while (*s != '\0') {
		const char *eq = strchr(s, '='), *end;
		char *ep;
		long v;
		size_t kn;

		end = s + strcspn(s, ",");
		if (eq == NULL || eq > end) {
			snprintf(err, errlen, "options are #batch=N,inflight=N,timeout=SECS");
			return -1;
		}
		kn = (size_t)(eq - s);
		v = strtol(eq + 1, &ep, 10);
		if (ep != end || v < 1 || v > 100000) {
			snprintf(err, errlen, "#%.*s takes a number from 1 to 100000",
			    (int)kn, s);
			return -1;
		}
		if (kn == 5 && strncmp(s, "batch", 5) == 0)
			batch = v;
		else if (kn == 8 && strncmp(s, "inflight", 8) == 0)
			inflight = v > 64 ? 64 : v;
		else if (kn == 7 && strncmp(s, "timeout", 7) == 0)
			timeout = v;
		else {
			snprintf(err, errlen, "unknown option #%.*s: batch, inflight "
			    "or timeout", (int)kn, s);
			return -1;
		}
		s = *end == ',' ? end + 1 : end;
	}
	if (h != NULL) {
		h->batch = batch;
		h->inflight = inflight;
		h->timeout = timeout;
	}
	return 0;
}

static int
http_check(const char *arg, char *err, size_t errlen, size_t *col)
{
	const char *hash = strchr(arg, '#'), *brace = strchr(arg, '{');
	size_t n = strcspn(arg, "/#?");

	*col = 0;
	if (brace != NULL && (size_t)(brace - arg) < n) {
		snprintf(err, errlen, "the host cannot be a template");
		*col = (size_t)(brace - arg);
		return -1;
	}
	if (n == 0) {
		snprintf(err, errlen, "a host is expected");
		return -1;
	}
	if (hash != NULL && parse_opts(hash + 1, NULL, err, errlen) == -1) {
		*col = (size_t)(hash - arg) + 1;
		return -1;
	}
	return 0;
}

/*
 * A template value in a URL: percent-encoded but for RFC 3986's unreserved
 * bytes other than '.', so that no value makes a dot segment that libcurl
 * (RFC 3986 5.2.4) would remove with the segment before it.
 */
static void
http_quote(buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; n > 0; s++, n--) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '~') {
			buf_putc(out, (char)c);
		} else {
			buf_putc(out, '%');
			buf_putc(out, hex[c >> 4]);
			buf_putc(out, hex[c & 15]);
		}
	}
}

static void
req_free(struct req *r)
{
	if (r->e != NULL)
		curl_easy_cleanup(r->e);
	buf_free(&r->body);
	free(r);
}

/* Drop every request and the connections: after an error, and at close. */
static void
http_close(struct dest *d)
{
	struct httpd *h = d->priv;
	struct req *r, *nx;

	for (r = h->first; r != NULL; r = nx) {
		nx = r->next;
		curl_multi_remove_handle(h->m, r->e);
		req_free(r);
	}
	h->first = h->last = NULL;
	h->nreq = 0;
	if (h->m != NULL)
		curl_multi_cleanup(h->m);
	h->m = NULL;
	if (h->tfd != -1)
		close(h->tfd);
	h->tfd = -1;
	if (d->fd != -1)
		close(d->fd);
	d->fd = -1;
	dq_rewind(&d->q);
}

static void
http_free(struct dest *d)
{
	struct httpd *h = d->priv;
	struct req *r, *nx;

	if (h == NULL)
		return;
	for (r = h->spare; r != NULL; r = nx) {
		nx = r->next;
		req_free(r);
	}
	curl_slist_free_all(h->hdr);
	free(h->url);
	free(h);
}

static int
http_init(struct dest *d, const char *arg, char *err, size_t errlen)
{
	struct httpd *h;
	const char *hash;
	buf lb = BUF_INIT;

	(void)arg;
	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		snprintf(err, errlen, "cannot set up libcurl");
		return -1;
	}
	curl_ready = 1;
	h = xcalloc(1, sizeof(*h));
	h->tfd = -1;
	d->priv = h;
	hash = strchr(d->name, '#');
	if (parse_opts(hash != NULL ? hash + 1 : "", h, err, errlen) == -1) {
		http_free(d);
		return -1;
	}
	h->url = hash != NULL ? xstrndup(d->name, (size_t)(hash - d->name)) :
	    xstrdup(d->name);
	h->hdr = curl_slist_append(NULL, h->batch > 1 ?
	    "Content-Type: application/x-ndjson" : "Content-Type: application/json");
	h->hdr = curl_slist_append(h->hdr, "Expect:");
	if (h->hdr == NULL)
		alloc_fail();
	dest_mask(&lb, d->name);
	d->label = buf_cstr(&lb);
	return 0;
}

static int
on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct dest *d = userp;
	struct epoll_event ev;

	(void)e;
	(void)socketp;
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = s;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(d->fd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
	    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(d->fd, EPOLL_CTL_MOD, s, &ev) == -1 && errno == ENOENT)
		epoll_ctl(d->fd, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

static int
on_timer(CURLM *m, long ms, void *userp)
{
	struct httpd *h = userp;
	struct itimerspec its;

	(void)m;
	memset(&its, 0, sizeof(its));
	if (ms >= 0) {	/* 0: at once (a zero it_value would disarm) */
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000L + (ms == 0);
	}
	timerfd_settime(h->tfd, 0, &its, NULL);
	return 0;
}

static int
http_open(struct dest *d)
{
	struct httpd *h = d->priv;
	struct epoll_event ev;

	d->fd = epoll_create1(EPOLL_CLOEXEC);
	h->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	h->m = curl_multi_init();
	if (d->fd == -1 || h->tfd == -1 || h->m == NULL) {
		snprintf(d->err, sizeof(d->err), "cannot set up: %s", strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = h->tfd;
	epoll_ctl(d->fd, EPOLL_CTL_ADD, h->tfd, &ev);
	curl_multi_setopt(h->m, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(h->m, CURLMOPT_SOCKETDATA, d);
	curl_multi_setopt(h->m, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(h->m, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->m, CURLMOPT_MAX_HOST_CONNECTIONS, h->inflight);
	h->failed = 0;
	dq_rewind(&d->q);
	return 0;
}

static short
http_events(struct dest *d)
{
	(void)d;
	return POLLIN;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* Start a request for the next unsent lines. */
static void
start(struct dest *d)
{
	struct httpd *h = d->priv;
	struct req *r;
	const char *p, *nl;
	size_t n, k = 0;

	if ((r = h->spare) != NULL) {
		h->spare = r->next;
		buf_reset(&r->body);
		curl_easy_reset(r->e);
	} else {
		r = xcalloc(1, sizeof(*r));
		if ((r->e = curl_easy_init()) == NULL)
			alloc_fail();
	}
	r->next = NULL;
	r->done = 0;
	r->status = 0;
	r->retry_after = 0;
	p = dq_unsent(&d->q, &n);
	while (n > 0 && (long)k < h->batch) {
		nl = memchr(p, '\n', n);
		buf_put(&r->body, p, (size_t)(nl - p) + (h->batch > 1));
		dq_sent(&d->q, (size_t)(nl - p) + 1);
		k++;
		p = dq_unsent(&d->q, &n);
	}
	r->nlines = k;
	r->errbuf[0] = '\0';
	curl_easy_setopt(r->e, CURLOPT_URL, h->url);
	curl_easy_setopt(r->e, CURLOPT_POST, 1L);
	curl_easy_setopt(r->e, CURLOPT_POSTFIELDS, r->body.p);
	curl_easy_setopt(r->e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
	curl_easy_setopt(r->e, CURLOPT_HTTPHEADER, h->hdr);
	curl_easy_setopt(r->e, CURLOPT_TIMEOUT, h->timeout);
	curl_easy_setopt(r->e, CURLOPT_CONNECTTIMEOUT, h->timeout < 5 ? h->timeout : 5L);
	curl_easy_setopt(r->e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(r->e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->e, CURLOPT_USERAGENT, "vk-route/" VKPIPE_VERSION);
	curl_easy_setopt(r->e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (h->last != NULL)
		h->last->next = r;
	else
		h->first = r;
	h->last = r;
	h->nreq++;
	curl_multi_add_handle(h->m, r->e);
}

/* Settle finished requests in the order they were sent. -1: retry later. */
static int
settle(struct dest *d)
{
	struct httpd *h = d->priv;
	struct req *r;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->m, &left)) != NULL) {
		curl_off_t ra = -1;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		r->done = 1;
		r->res = msg->data.result;
		curl_easy_getinfo(r->e, CURLINFO_RESPONSE_CODE, &r->status);
		if (curl_easy_getinfo(r->e, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			r->retry_after = (double)ra;
	}
	while ((r = h->first) != NULL && r->done) {
		if (r->res != CURLE_OK) {
			snprintf(h->why, sizeof(h->why), "%s", r->errbuf[0] ?
			    r->errbuf : curl_easy_strerror(r->res));
			return -1;
		}
		if (r->status == 429 || r->status >= 500 || r->status < 200 ||
		    (r->status >= 300 && r->status < 400)) {
			snprintf(h->why, sizeof(h->why), "HTTP status %ld", r->status);
			h->wait = r->retry_after;
			return -1;
		}
		if (r->status >= 400) {	/* refused for good */
			char why[64];

			snprintf(why, sizeof(why), "HTTP status %ld", r->status);
			dest_settle(d, r->nlines, DEST_REFUSED, (int)r->status, why);
		} else {
			dest_settle(d, r->nlines, DEST_DELIVERED, 0, NULL);
			dest_ok(d);
		}
		curl_multi_remove_handle(h->m, r->e);
		h->first = r->next;
		if (h->first == NULL)
			h->last = NULL;
		h->nreq--;
		r->next = h->spare;
		h->spare = r;
	}
	return 0;
}

static int
http_io(struct dest *d, short revents)
{
	struct httpd *h = d->priv;
	struct epoll_event ev[64];
	int n, k, running;
	size_t unsent;

	if (revents != 0) {
		n = epoll_wait(d->fd, ev, 64, 0);
		for (k = 0; k < n; k++) {
			if (ev[k].data.fd == h->tfd) {
				uint64_t x;

				if (read(h->tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
					break;
				curl_multi_socket_action(h->m, CURL_SOCKET_TIMEOUT, 0, &running);
			} else {
				int what = (ev[k].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
				    (ev[k].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
				    (ev[k].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);

				curl_multi_socket_action(h->m, ev[k].data.fd, what, &running);
			}
		}
	}
	h->wait = 0;
	if (settle(d) == -1) {
		double now = mono_now();

		dest_fail(d, now, "%s", h->why);
		if (now + h->wait > d->retry_at)	/* Retry-After */
			d->retry_at = now + h->wait;
		return -1;
	}
	/* After a failure, one request at a time until one goes through. */
	while (h->nreq < (d->failing ? 1 : h->inflight)) {
		dq_unsent(&d->q, &unsent);
		if (unsent == 0)
			break;
		start(d);
	}
	return 0;
}

const struct dest_kind dest_http_kind = {
	.prefix = "http://",
	.flags = DEST_URL_TEMPLATES,
	.check = http_check,
	.quote = http_quote,
	.init = http_init,
	.open = http_open,
	.close = http_close,
	.events = http_events,
	.io = http_io,
	.free = http_free,
};

const struct dest_kind dest_https_kind = {
	.prefix = "https://",
	.flags = DEST_URL_TEMPLATES,
	.check = http_check,
	.quote = http_quote,
	.init = http_init,
	.open = http_open,
	.close = http_close,
	.events = http_events,
	.io = http_io,
	.free = http_free,
};
