/* sched.c - the queue, the limiter, batching into execute, retries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "backoff.h"
#include "jsonw.h"
#include "log.h"
#include "mono.h"
#include "ratelimit.h"
#include "sched.h"
#include "vkexec.h"

#define MAX_IN_FLIGHT	20	/* HTTP requests at once: a window's worth; the limiter paces them */
#define MAX_TRIES	6	/* for errors worth retrying */
#define SCAN_MAX	2000	/* queued requests looked at per batch */
#define PAUSE_9		3.0	/* seconds a method rests after "flood control" */
#define PAUSE_29	60.0	/* and after "rate limit reached" */
#define NPAUSE		16
#define KEYSET		8192	/* slots; holds SCAN_MAX + in-flight keys easily */
#define MAX_UPLOADS	8	/* step 2 POSTs at once; more wait their turn */

struct list {
	req	*head, *tail;
};

struct batch {
	struct batch	*next, *prev;
	int		 n, exec;
	int		 slot;		/* in the limiter */
	req		*r[VKEXEC_MAX];
	vkexec		 x;		/* the calls, when they go as one execute */
};

struct sched {
	sched_conf	 conf;
	vkasync		*api;
	sched_result_fn	*result;	/* where each result line goes */
	void		*result_arg;
	ratelimit	 rl;
	backoff		 bo;
	struct list	 q_first, q_rest;	/* button answers, then the others */
	struct list	 posting;	/* uploads at step 2: in flight, then waiting */
	int		 nposting;	/* of them in flight */
	struct batch	*flying;
	int		 nflying;
	unsigned long	 npending;
	struct { char method[65]; double until; } pauses[NPAUSE];
	buf		 line, scratch;
	struct { uint64_t key; unsigned gen; } keyset[KEYSET];
	unsigned	 keygen;
	double		 next_wake;
	struct sched_stats st;
	int		 fatal, eof;
};

/* -- lists ---------------------------------------------------------- */
static void
l_push(struct list *l, req *r)
{
	r->next = NULL;
	r->prev = l->tail;
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
}

static void
l_unshift(struct list *l, req *r)
{
	r->prev = NULL;
	r->next = l->head;
	if (l->head)
		l->head->prev = r;
	else
		l->tail = r;
	l->head = r;
}

static void
l_remove(struct list *l, req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		l->tail = r->prev;
	r->next = r->prev = NULL;
}

/* -- the set of peers that must wait ------------------------------------ */
static void
keys_clear(sched *s)
{
	if (++s->keygen == 0) {
		memset(s->keyset, 0, sizeof(s->keyset));
		s->keygen = 1;
	}
}

static int
keys_has(sched *s, uint64_t k, int add)
{
	unsigned i = (unsigned)(k ^ (k >> 32)) & (KEYSET - 1), probes;

	for (probes = 0; probes < KEYSET; probes++, i = (i + 1) & (KEYSET - 1)) {
		if (s->keyset[i].gen != s->keygen) {
			if (add) {
				s->keyset[i].gen = s->keygen;
				s->keyset[i].key = k;
			}
			return 0;
		}
		if (s->keyset[i].key == k)
			return 1;
	}
	return 0;
}

static void
batch_free(struct batch *b)
{
	vkexec_free(&b->x);
	free(b);
}

/* -- setup ---------------------------------------------------------- */
sched *
sched_new(const sched_conf *c, vkasync *m, sched_result_fn *result, void *arg)
{
	sched *s = xcalloc(1, sizeof(*s));

	s->conf = *c;
	s->api = m;
	s->result = result;
	s->result_arg = arg;
	s->next_wake = -1;
	backoff_init(&s->bo, 250, 8000);
	if (rl_init(&s->rl, s->conf.rate) == -1) {
		free(s);
		return NULL;
	}
	return s;
}

static void
free_list(struct list *l)
{
	req *r;

	while ((r = l->head) != NULL) {
		l_remove(l, r);
		req_free(r);
	}
}

void
sched_free(sched *s)
{
	struct batch *b;
	int k;

	if (s == NULL)
		return;
	mtally_free(&s->st.by_method);
	free_list(&s->q_first);
	free_list(&s->q_rest);
	free_list(&s->posting);	/* (vka_free() drops their transfers) */
	while ((b = s->flying) != NULL) {
		s->flying = b->next;
		for (k = 0; k < b->n; k++)
			req_free(b->r[k]);
		batch_free(b);
	}
	rl_free(&s->rl);
	buf_free(&s->line);
	buf_free(&s->scratch);
	free(s);
}

void
sched_add(sched *s, req *r)
{
	r->not_before = 0;
	r->tries = 0;
	r->arrived = mono_now();
	s->npending++;
	l_push(r->first ? &s->q_first : &s->q_rest, r);
}

int
sched_idle(const sched *s)
{
	return s->npending == 0;
}

unsigned long
sched_pending(const sched *s)
{
	return s->npending;
}

int
sched_fatal(const sched *s)
{
	return s->fatal;
}

void
sched_set_eof(sched *s, int eof)
{
	s->eof = eof;
}

const struct sched_stats *
sched_stats(const sched *s)
{
	return &s->st;
}

/* -- results -------------------------------------------------------- */
static void
finish(sched *s, req *r, int error, long code_)
{
	char c[32];

	if (code_ == ERR_NET)
		snprintf(c, sizeof(c), "net");
	else if (code_ == ERR_LINE)
		snprintf(c, sizeof(c), "refused");
	else if (!error)
		snprintf(c, sizeof(c), "ok");
	else
		snprintf(c, sizeof(c), "%ld", code_);
	mtally_add(&s->st.by_method, r->method ? r->method : "", c);
	if (error)
		s->st.errors++;
	s->result(s->result_arg, r, &s->line, error);
	buf_reset(&s->line);
	s->npending--;
	req_free(r);
}

static void
answer_error(sched *s, req *r, long code_, const char *text, const json_doc *d,
    int err)
{
	char named[300];

	if (r->up) {	/* which of the three steps failed */
		snprintf(named, sizeof(named), "%s: %s", upload_step(r->up, r->method), text);
		text = named;
	}
	buf_reset(&s->line);
	res_error(&s->line, r->id, code_, text, d, err, &s->scratch);
	finish(s, r, 1, code_);
}

static void upload_next(sched *s, req *r, const json_doc *d, int tok);
static void upload_posted(sched *s, req *r, const json_doc *d, int st,
    const vkapi_err *e);

static void
answer(sched *s, req *r, const json_doc *d, int tok)
{
	if (r->up) {
		upload_next(s, r, d, tok);
		return;
	}
	buf_reset(&s->line);
	res_response(&s->line, r->id, d, tok, &s->scratch);
	finish(s, r, 0, 0);
}

static int
paused(const sched *s, const char *method, double now)
{
	int k;

	for (k = 0; k < NPAUSE; k++)
		if (s->pauses[k].until > now && strcmp(s->pauses[k].method, method) == 0)
			return 1;
	return 0;
}

static void
pause_method(sched *s, const char *method, double until)
{
	int k, slot = 0;

	for (k = 0; k < NPAUSE; k++) {
		if (strcmp(s->pauses[k].method, method) == 0) {
			slot = k;
			break;
		}
		if (s->pauses[k].until < s->pauses[slot].until)
			slot = k;
	}
	snprintf(s->pauses[slot].method, sizeof(s->pauses[slot].method), "%s", method);
	if (s->pauses[slot].until < until)
		s->pauses[slot].until = until;
	log_warn("%s paused for %.0f s (VK's limit for it)", method, until - mono_now());
}

/* Put r back in the queue to go again after delay_ms, or give up. */
static void
retry(sched *s, req *r, long delay_ms, long code_, const char *text,
    const json_doc *d, int err)
{
	if (++r->tries >= MAX_TRIES || s->fatal) {
		answer_error(s, r, code_, text, d, err);
		return;
	}
	s->st.retries++;
	r->not_before = mono_now() + (double)delay_ms / 1000;
	l_unshift(r->first ? &s->q_first : &s->q_rest, r);
}

/* Fail every queued request with VK's refusal of the token. */
static void
fail_all(sched *s, long code_, const char *text)
{
	req *r;

	req *nx;

	while ((r = s->q_first.head) != NULL || (r = s->q_rest.head) != NULL) {
		l_remove(r->first ? &s->q_first : &s->q_rest, r);
		answer_error(s, r, code_, text, NULL, -1);
	}
	for (r = s->posting.head; r; r = nx) {	/* those in flight: when they end */
		nx = r->next;
		if (!r->up->inflight) {
			l_remove(&s->posting, r);
			answer_error(s, r, code_, text, NULL, -1);
		}
	}
}

/* VK's error code for one call: return it, retry it, or stop everything. */
static void
call_error(sched *s, req *r, long code_, const char *text, const json_doc *d,
    int err, long *delay)
{
	switch (code_) {
	case 6:		/* too many requests per second */
		if (*delay < 0)
			*delay = backoff_next(&s->bo);
		retry(s, r, *delay, code_, text, d, err);
		return;
	case 10:	/* internal server error: the call may have happened */
		if (r->idem) {
			if (*delay < 0)
				*delay = backoff_next(&s->bo);
			retry(s, r, *delay, code_, text, d, err);
			return;
		}
		break;
	case 9:		/* flood control */
	case 29:	/* rate limit reached */
		pause_method(s, r->method, mono_now() + (code_ == 9 ? PAUSE_9 : PAUSE_29));
		break;
	case 5:
		if (!s->fatal)
			log_warn("VK refused the token (error 5): %s; check VK_TOKEN "
			    "or --token-file", text);
		s->fatal = 1;
		break;
	}
	answer_error(s, r, code_, text, d, err);
}

/* An execute answered: each call its element, or its execute_errors entry. */
static void
split_execute(sched *s, struct batch *b, const json_doc *d, long *delay)
{
	struct vkexec_result res[VKEXEC_MAX];
	int k;

	vkexec_split(&b->x, s->api->api, d, VKAPI_OK, NULL, res);
	for (k = 0; k < b->n; k++) {
		if (res[k].status == VKAPI_OK)
			answer(s, b->r[k], d, res[k].resp);
		else if (res[k].status == VKAPI_EAPI)
			call_error(s, b->r[k], res[k].err.code, res[k].err.msg, d,
			    res[k].errtok, delay);
		else
			answer_error(s, b->r[k], ERR_NET, res[k].err.msg, NULL, -1);
	}
}

void
sched_done(sched *s, vka_call *c, json_doc *d, int resp, int st,
    const vkapi_err *e)
{
	struct batch *b = c->user;
	long delay = -1;
	int k, err;

	if (c->mime != NULL) {	/* not a batch: an upload's POST */
		upload_posted(s, c->user, d, st, e);
		return;
	}
	if (b->prev)
		b->prev->next = b->next;
	else
		s->flying = b->next;
	if (b->next)
		b->next->prev = b->prev;
	s->nflying--;
	rl_reply(&s->rl, b->slot, mono_now());
	if (st == VKAPI_OK || st == VKAPI_EAPI)
		log_info("%s of %d call%s: %s", b->exec ? "execute" : b->r[0]->method,
		    b->n, b->n == 1 ? "" : "s", st == VKAPI_OK ? "ok" : e->msg);
	if (st == VKAPI_OK) {
		backoff_reset(&s->bo);
		if (b->exec)
			split_execute(s, b, d, &delay);
		else
			answer(s, b->r[0], d, resp);
	} else if (st == VKAPI_EAPI) {
		err = json_get(d, 0, "error", 5);
		for (k = 0; k < b->n; k++)
			call_error(s, b->r[k], e->code, e->msg, d, err, &delay);
	} else {
		int again = st == VKAPI_ETRANSPORT || st == VKAPI_EBODY ||
		    (st == VKAPI_EHTTP && e->code >= 500);

		log_warn("%s: %s%s", b->exec ? "execute" : b->r[0]->method, e->msg,
		    again ? "; trying again" : "");
		if (again)
			delay = backoff_next(&s->bo);
		for (k = 0; k < b->n; k++)
			if (again)
				retry(s, b->r[k], delay, ERR_NET, e->msg, NULL, -1);
			else
				answer_error(s, b->r[k], ERR_NET, e->msg, NULL, -1);
	}
	batch_free(b);
	if (s->fatal)
		fail_all(s, 5, "VK refused the token (error 5)");
}

/* -- uploads: step 1's answer, step 2's POST, step 3's answer ---------- */

/* Start the POSTs whose turn has come. Returns when the next one waiting
 * out a backoff may go, or -1. */
static double
upload_start(sched *s, double now)
{
	double wake = -1;
	req *r, *nx;
	vkapi_err e;

	for (r = s->posting.head; r && s->nposting < MAX_UPLOADS; r = nx) {
		nx = r->next;
		if (r->up->inflight)
			continue;
		if (r->not_before > now) {
			if (wake < 0 || r->not_before < wake)
				wake = r->not_before;
			continue;
		}
		if (vka_start_upload(s->api, r->up->url, upload_field(r->up), r->up->name,
		    r->up->fd, r->up->data, r->up->size, r, &e) == -1) {
			l_remove(&s->posting, r);
			answer_error(s, r, ERR_NET, e.msg, NULL, -1);
			continue;
		}
		r->up->inflight = 1;
		s->nposting++;
	}
	return wake;
}

static void
upload_next(sched *s, req *r, const json_doc *d, int tok)
{
	upload *u = r->up;
	int url;

	if (u->step == 1) {
		url = json_get(d, tok, "upload_url", 10);
		if (url == -1 || json_type(d, url) != JSON_STRING) {
			answer_error(s, r, ERR_NET, "no upload_url in the reply", NULL, -1);
			return;
		}
		buf_reset(&s->scratch);
		json_unescape(d, url, &s->scratch);
		u->url = xstrdup(buf_cstr(&s->scratch));
		u->step = 2;
		r->tries = 0;
		r->not_before = 0;
		l_push(&s->posting, r);
		return;		/* sched_run() starts it */
	}
	/* step 3: VK saved it */
	buf_reset(&s->line);
	if (upload_attachment(u, d, tok, &s->scratch) == -1) {
		answer_error(s, r, ERR_NET, "no owner_id and id in the reply", NULL, -1);
		return;
	}
	JW_LIT(&s->line, "{\"id\":");
	buf_puts(&s->line, r->id);
	JW_LIT(&s->line, ",\"response\":{\"attachment\":");
	jw_cstr(&s->line, s->scratch.p);
	JW_LIT(&s->line, ",\"saved\":");
	jw_value(&s->line, d, tok, &s->scratch);
	JW_LIT(&s->line, "}}\n");
	finish(s, r, 0, 0);
}

/* Step 2 ended: on to step 3 through the queue, again, or an error. */
static void
upload_posted(sched *s, req *r, const json_doc *d, int st, const vkapi_err *e)
{
	const char *method;
	char why[256];
	int k;

	r->up->inflight = 0;
	s->nposting--;
	if (s->fatal) {
		l_remove(&s->posting, r);
		answer_error(s, r, 5, "VK refused the token (error 5)", NULL, -1);
		return;
	}
	if (st == VKAPI_OK) {
		if (upload_saving(r->up, d, &method, why, sizeof(why)) == -1) {
			l_remove(&s->posting, r);
			answer_error(s, r, ERR_NET, why, NULL, -1);
			return;
		}
		l_remove(&s->posting, r);
		r->up->step = 3;
		r->method = method;
		r->kv = r->up->kv;
		for (r->nkv = 0; r->kv[2 * r->nkv]; r->nkv++)
			;
		for (k = 0, r->size = 0; k < 2 * r->nkv; k++)
			r->size += strlen(r->kv[k]) + 8;
		r->alone = 1;	/* VK wants the saving call's values as given */
		r->idem = 0;
		r->tries = 0;
		r->not_before = 0;
		/* at the back: what was asked meanwhile (a chat's text
		 * messages) does not wait behind every upload's save */
		l_push(&s->q_rest, r);
		return;
	}
	/* unreachable, dropped, 5xx or garbage: again, like a transport error */
	if ((st == VKAPI_ETRANSPORT || st == VKAPI_EBODY ||
	    (st == VKAPI_EHTTP && e->code >= 500)) && ++r->tries < MAX_TRIES) {
		log_warn("upload of %s: %s; trying again", r->up->name, e->msg);
		s->st.retries++;
		r->not_before = mono_now() + (double)backoff_next(&s->bo) / 1000;
		return;
	}
	l_remove(&s->posting, r);
	answer_error(s, r, ERR_NET, e->msg, NULL, -1);
}

/* -- sending -------------------------------------------------------- */
static void
send_batch(sched *s, struct batch *b, double now)
{
	const char *params[3] = { "code", NULL, NULL };
	vkapi_err e;
	int st, k;

	b->exec = b->n > 1;
	if (b->exec) {
		int j;

		vkexec_init(&b->x);
		/* A call vkexec will not write fails alone (req_parse lets
		 * none through; this keeps the others going if one did). */
		for (k = j = 0; k < b->n; k++)
			if (vkexec_add(&b->x, b->r[k]->method, b->r[k]->kv, &e) == -1)
				answer_error(s, b->r[k], ERR_LINE, e.msg, NULL, -1);
			else
				b->r[j++] = b->r[k];
		b->n = j;
		if (b->n == 0) {
			batch_free(b);
			return;
		}
		params[1] = vkexec_code(&b->x);
		st = vka_start(s->api, "execute", params, b, &e);
		/* the form holds the program now: keep only the method names */
		buf_free(&b->x.code);
		s->st.executes++;
	} else {
		st = vka_start(s->api, b->r[0]->method, b->r[0]->kv, b, &e);
	}
	if (st != 0) {
		for (k = 0; k < b->n; k++)
			answer_error(s, b->r[k], ERR_NET, e.msg, NULL, -1);
		batch_free(b);
		return;
	}
	(void)now;
	b->slot = rl_start(&s->rl);
	s->st.http++;
	s->st.calls += (unsigned long long)b->n;
	b->prev = NULL;
	b->next = s->flying;
	if (s->flying)
		s->flying->prev = b;
	s->flying = b;
	s->nflying++;
}

/*
 * Gather the next batch from the queue into b. Returns 1 if it should go
 * now, 0 if it may wait for company (then *wait is when it must go).
 */
static int
gather(sched *s, struct batch *b, double now, double *wait)
{
	struct list *lists[2] = { &s->q_first, &s->q_rest };
	struct batch *f;
	double oldest = now;
	int li, k, scanned = 0;
	size_t bytes = 0;
	req *r, *nx;

	keys_clear(s);
	for (f = s->flying; f; f = f->next)
		for (k = 0; k < f->n; k++)
			if (f->r[k]->key)
				keys_has(s, f->r[k]->key, 1);
	b->n = 0;
	for (li = 0; li < 2; li++)
		for (r = lists[li]->head; r && b->n < s->conf.max_batch &&
		    scanned < SCAN_MAX; r = nx, scanned++) {
			nx = r->next;
			if (r->not_before > now || paused(s, r->method, now) ||
			    (r->key && keys_has(s, r->key, 0)) ||
			    (r->alone && b->n > 0)) {
				/* it waits, and so do later requests for its peer */
				if (r->key)
					keys_has(s, r->key, 1);
				continue;
			}
			if (b->n > 0 && bytes + r->size > REQ_BATCH_BYTES)
				goto full;	/* a program VK will take */
			bytes += r->size;
			l_remove(lists[li], r);
			b->r[b->n++] = r;
			if (r->arrived < oldest)
				oldest = r->arrived;
			if (r->alone)
				goto full;
		}
	if (b->n == 0)
		return 0;
	/* Wait for company only when it pays: while other requests are in
	 * flight or the limiter is filling up; an idle vk-call sends at once. */
	if (b->n < s->conf.max_batch && now < oldest + (double)s->conf.window_ms / 1000 &&
	    !s->eof && (s->nflying > 0 || rl_recent(&s->rl, now) > s->conf.rate / 2)) {
		*wait = oldest + (double)s->conf.window_ms / 1000;
		return 0;
	}
full:
	return 1;
}

/* Put a batch that is not going yet back, in its order. */
static void
ungather(sched *s, struct batch *b)
{
	int k;

	for (k = b->n - 1; k >= 0; k--)
		l_unshift(b->r[k]->first ? &s->q_first : &s->q_rest, b->r[k]);
	b->n = 0;
}

void
sched_run(sched *s, double now)
{
	struct batch *b;
	double wait, upwake = -1;

	s->next_wake = -1;
	if (!s->fatal)
		upwake = upload_start(s, now);
	while (!s->fatal && s->npending > 0 && s->nflying < MAX_IN_FLIGHT) {
		if ((wait = rl_delay(&s->rl, now)) > 0) {
			/* a slot still in flight frees when its reply comes */
			s->next_wake = wait < 2 ? now + wait : -1;
			goto out;
		}
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return;
		wait = -1;
		if (!gather(s, b, now, &wait)) {
			ungather(s, b);
			free(b);
			s->next_wake = wait;
			break;
		}
		send_batch(s, b, now);
	}
	/* A request waiting out a backoff or a pause wakes the loop too. */
	if (!s->fatal && s->nflying < MAX_IN_FLIGHT) {
		struct list *lists[2] = { &s->q_first, &s->q_rest };
		int li, scanned = 0, k;
		req *r;

		for (li = 0; li < 2; li++)
			for (r = lists[li]->head; r && scanned < SCAN_MAX; r = r->next, scanned++) {
				double t = r->not_before;

				if (paused(s, r->method, now))
					for (k = 0; k < NPAUSE; k++)
						if (strcmp(s->pauses[k].method, r->method) == 0 &&
						    s->pauses[k].until > t)
							t = s->pauses[k].until;
				if (t > now && (s->next_wake < 0 || t < s->next_wake))
					s->next_wake = t;
			}
	}
out:
	if (upwake > 0 && (s->next_wake < 0 || upwake < s->next_wake))
		s->next_wake = upwake;
}

long
sched_wake(const sched *s, double now)
{
	double ms = (s->next_wake - now) * 1000;

	if (s->next_wake < 0)
		return -1;
	if (ms <= 0)
		return 0;
	return (double)(long)ms < ms ? (long)ms + 1 : (long)ms;	/* rounded up */
}
