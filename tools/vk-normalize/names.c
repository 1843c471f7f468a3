/* names.c - resolving user, community and chat names through the VK API. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "log.h"
#include "mono.h"
#include "names.h"

#define CHAT_PEER_BASE	2000000000LL

/* How many ids each method takes in one call, and calls of it per batch
 * (25 calls at most in one execute). */
static const size_t per_request[3] = { 1000, 500, 100 };
static const size_t calls_per_batch[3] = { 10, 5, 10 };
static const char *const method[3] = {
	"users.get", "groups.getById", "messages.getConversationsById"
};
static const char *const id_param[3] = { "user_ids", "group_ids", "peer_ids" };

/* A batch goes without waiting for company once this many ids are pending. */
#define HURRY_PENDING	1000

int
names_init(names *n, const struct names_conf *cf, char *err, size_t errlen)
{
	vkapi_err e;
	int i;

	memset(n, 0, sizeof(*n));
	if (vkapi_init(&n->api, cf->api_url, cf->api_version, cf->token, &e) == -1 ||
	    vka_init(&n->as, &n->api, &e) == -1) {
		snprintf(err, errlen, "%s", e.msg);
		names_free(n);
		return -1;
	}
	n->as.timeout_ms = cf->timeout_ms;
	json_init(&n->doc);
	if ((n->c = cache_new(cf->cache_size, cf->cache_ttl)) == NULL ||
	    rl_init(&n->rl, cf->rate) == -1) {
		snprintf(err, errlen, "out of memory for the name cache");
		names_free(n);
		return -1;
	}
	for (i = 0; i < NAMES_INFLIGHT; i++)
		vkexec_init(&n->b[i].x);
	n->tries = cf->tries > 0 ? cf->tries : 1;
	n->window = (double)cf->window_ms / 1000;
	n->next_seq = 1;
	return 0;
}

void
names_free(names *n)
{
	int i, k;

	vka_free(&n->as);
	vkapi_free(&n->api);
	json_free(&n->doc);
	cache_free(n->c);
	n->c = NULL;
	rl_free(&n->rl);
	for (k = 0; k < 3; k++)
		free(n->want[k]);
	for (i = 0; i < NAMES_INFLIGHT; i++) {
		for (k = 0; k < 3; k++)
			free(n->b[i].ids[k]);
		vkexec_free(&n->b[i].x);
	}
}

static size_t
pending(const names *n)
{
	return n->nwant[0] + n->nwant[1] + n->nwant[2];
}

/* The ticket of pending id number i of kind k: the batch it will go in. */
static unsigned long
ticket_of(const names *n, int k, size_t i)
{
	return n->next_seq + (unsigned long)(i / (calls_per_batch[k] * per_request[k]));
}

/* Room for one more id in a growable array. -1: out of memory. */
static int
room(int64_t **a, size_t n, size_t *cap, size_t want)
{
	size_t c = *cap ? *cap : 64;
	int64_t *p;

	if (n + want <= *cap)
		return 0;
	while (c < n + want)
		c *= 2;
	if ((p = realloc(*a, c * sizeof(*p))) == NULL)
		return -1;
	*a = p;
	*cap = c;
	return 0;
}

/* The ticket (kind, id) waits for, noting it for the next batch if new. */
static unsigned long
want1(names *n, int kind, int64_t id)
{
	int k = kind - 1, b;
	size_t i;

	if (cache_get(n->c, kind, id, n->now) != NULL) {
		n->st.hits++;
		return 0;
	}
	for (b = 0; b < NAMES_INFLIGHT; b++)
		for (i = 0; n->b[b].active && i < n->b[b].nids[k]; i++)
			if (n->b[b].ids[k][i] == id)
				return n->b[b].seq;
	for (i = 0; i < n->nwant[k]; i++)
		if (n->want[k][i] == id)
			return ticket_of(n, k, i);
	n->st.misses++;
	if (room(&n->want[k], n->nwant[k], &n->capwant[k], 1) == -1)
		return 0;	/* it stays unnamed; never fatal */
	if (pending(n) == 0)
		n->want_since = n->now;
	n->want[k][n->nwant[k]++] = id;
	return ticket_of(n, k, n->nwant[k] - 1);
}

/* The cache kind and id that name a user id (negative: a community). */
static int
who(int64_t uuid, int64_t *id)
{
	*id = uuid < 0 ? -uuid : uuid;
	return uuid < 0 ? CACHE_GROUP : CACHE_USER;
}

static int
peer_kind(int64_t bpid, int64_t *id)
{
	if (bpid > CHAT_PEER_BASE) {
		*id = bpid;
		return CACHE_CHAT;
	}
	return who(bpid, id);
}

unsigned long
names_want(names *n, int64_t uuid, int64_t bpid)
{
	unsigned long t = 0, u;
	int64_t id;
	int kind;

	if (n->disabled)
		return 0;
	if (uuid != 0) {
		kind = who(uuid, &id);
		t = want1(n, kind, id);
	}
	if (bpid != 0) {
		kind = peer_kind(bpid, &id);
		if ((u = want1(n, kind, id)) > t)
			t = u;
	}
	return t;
}

/* The string at token i, unescaped, or NULL. */
static char *
str_at(const json_doc *d, int i, buf *tmp)
{
	if (json_type(d, i) != JSON_STRING)
		return NULL;
	buf_reset(tmp);
	json_unescape(d, i, tmp);
	return buf_cstr(tmp);
}

/* s as a JSON string in out, or NULL for NULL. */
static const char *
encode(const char *s, buf *out)
{
	if (s == NULL)
		return NULL;
	buf_reset(out);
	jw_cstr(out, s);
	return buf_cstr(out);
}

/* Store one answer's item; returns the id it was for, or 0. */
static int64_t
store(names *n, int kind, const json_doc *d, int item, double now)
{
	buf raw[3] = { BUF_INIT, BUF_INIT, BUF_INIT };
	buf enc[4] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	const char *first, *last, *nick, *name = NULL;
	struct cnames cn = { NULL, NULL, NULL, NULL };
	buf full = BUF_INIT;
	int64_t id = 0;
	int k;

	switch (kind) {
	case CACHE_USER:
		if (json_int64(d, json_get(d, item, "id", 2), &id) == -1)
			break;
		first = str_at(d, json_get(d, item, "first_name", 10), &raw[0]);
		last = str_at(d, json_get(d, item, "last_name", 9), &raw[1]);
		nick = str_at(d, json_get(d, item, "domain", 6), &raw[2]);
		if (first || last) {
			buf_puts(&full, first ? first : "");
			if (first && last)
				buf_putc(&full, ' ');
			buf_puts(&full, last ? last : "");
			name = buf_cstr(&full);
		}
		cn.name = encode(name, &enc[0]);
		cn.first = encode(first, &enc[1]);
		cn.last = encode(last, &enc[2]);
		cn.nick = encode(nick, &enc[3]);
		break;
	case CACHE_GROUP:
		if (json_int64(d, json_get(d, item, "id", 2), &id) == -1)
			break;
		name = str_at(d, json_get(d, item, "name", 4), &raw[0]);
		nick = str_at(d, json_get(d, item, "screen_name", 11), &raw[2]);
		cn.name = cn.first = encode(name, &enc[0]);
		cn.nick = encode(nick, &enc[3]);
		break;
	case CACHE_CHAT:
		if (json_int64(d, json_path(d, item, "peer.id"), &id) == -1)
			break;
		cn.name = encode(str_at(d, json_path(d, item,
		    "chat_settings.title"), &raw[0]), &enc[0]);
		break;
	}
	if (id != 0)
		cache_put(n->c, kind, id, &cn, now);
	for (k = 0; k < 3; k++)
		buf_free(&raw[k]);
	for (k = 0; k < 4; k++)
		buf_free(&enc[k]);
	buf_free(&full);
	return id;
}

/* Remember "no names" for every id of the request VK said nothing about. */
static void
store_missing(names *n, int kind, const int64_t *ids, size_t cnt, double now)
{
	static const struct cnames none = { NULL, NULL, NULL, NULL };
	size_t i;

	for (i = 0; i < cnt; i++)
		if (cache_get(n->c, kind, ids[i], now) == NULL)
			cache_put(n->c, kind, ids[i], &none, now);
}

/* The array of items in a method's response. */
static int
items_of(const json_doc *d, int kind, int resp)
{
	int g;

	if (kind == CACHE_USER)
		return resp;
	if (kind == CACHE_GROUP)	/* 5.194+: {"groups":[…]}; before: […] */
		return json_type(d, resp) == JSON_ARRAY ? resp :
		    json_get(d, resp, "groups", 6);
	g = json_get(d, resp, "items", 5);
	return g;
}

/* Is this failure worth another try? */
static int
retryable(const vkapi_err *e)
{
	switch (e->status) {
	case VKAPI_ETRANSPORT:
	case VKAPI_EBODY:
		return 1;
	case VKAPI_EHTTP:
		return e->code >= 500 || e->code == 429;
	case VKAPI_EAPI:	/* too many requests, flood control, server */
		return e->code == 6 || e->code == 9 || e->code == 10 || e->code == 1;
	}
	return 0;
}

/* Take the pending ids, as many as one execute holds, into batch b. */
static void
take_batch(names *n, struct names_batch *b)
{
	size_t cnt, off, per;
	int k;

	b->active = 1;
	b->seq = n->next_seq++;
	b->tries = 0;
	b->due = 0;
	b->ncall = 0;
	backoff_init(&b->bo, 200, 5000);
	for (k = 0; k < 3; k++) {
		cnt = n->nwant[k];
		if (cnt > calls_per_batch[k] * per_request[k])
			cnt = calls_per_batch[k] * per_request[k];
		b->nids[k] = 0;
		if (cnt == 0)
			continue;
		if (room(&b->ids[k], 0, &b->capids[k], cnt) == -1)
			cnt = 0;	/* they stay unnamed, as want1 says */
		memcpy(b->ids[k], n->want[k], cnt * sizeof(int64_t));
		b->nids[k] = cnt;
		memmove(n->want[k], n->want[k] + cnt,
		    (n->nwant[k] - cnt) * sizeof(int64_t));
		n->nwant[k] -= cnt;
		for (off = 0; off < cnt; off += per) {
			per = cnt - off < per_request[k] ? cnt - off : per_request[k];
			b->call[b->ncall++] = (struct names_call){ k + 1, off, per, 0 };
		}
	}
}

static void finish(names *, struct names_batch *, int, vkapi_err *);

/* Send batch i's calls that are not settled yet, as one execute. */
static void
send_batch(names *n, int i)
{
	struct names_batch *b = &n->b[i];
	const char *params[5], *ex[3];
	buf list = BUF_INIT;
	char num[24];
	vkapi_err e;
	size_t j;
	int c, k, slot;

	vkexec_reset(&b->x);
	for (c = 0; c < b->ncall; c++) {
		if (b->call[c].settled)
			continue;
		k = b->call[c].kind - 1;
		buf_reset(&list);
		for (j = 0; j < b->call[c].cnt; j++) {
			snprintf(num, sizeof(num), "%s%" PRId64, j ? "," : "",
			    b->ids[k][b->call[c].off + j]);
			buf_puts(&list, num);
		}
		params[0] = id_param[k];
		params[1] = buf_cstr(&list);
		params[2] = k == 0 ? "fields" : NULL;
		params[3] = "domain";
		params[4] = NULL;
		if ((slot = vkexec_add(&b->x, method[k], params, &e)) >= 0)
			b->xcall[slot] = c;
	}
	buf_free(&list);
	ex[0] = "code";
	ex[1] = vkexec_code(&b->x);
	ex[2] = NULL;
	rl_note(&n->rl, mono_now());
	n->st.requests++;
	b->tries++;
	b->inflight = 1;
	if (vka_start(&n->as, "execute", ex, b, &e) == -1)
		finish(n, b, e.status, &e);
}

/* Settle one call of batch b by its result r; or leave it for another try. */
static void
settle(names *n, struct names_batch *b, struct names_call *c,
    const struct vkexec_result *r, const json_doc *d, double now)
{
	const int64_t *ids = b->ids[c->kind - 1] + c->off;
	const char *m = method[c->kind - 1];
	int items, i, cnt, it;

	if (r->status == VKAPI_OK) {
		items = items_of(d, c->kind, r->resp);
		cnt = json_type(d, items) == JSON_ARRAY ? json_size(d, items) : 0;
		for (i = 0, it = items + 1; i < cnt; i++, it = json_next(d, it))
			store(n, c->kind, d, it, now);
		store_missing(n, c->kind, ids, c->cnt, now);
		c->settled = 1;
		return;
	}
	if (r->status == VKAPI_EAPI && c->kind == CACHE_CHAT && r->err.code == 917) {
		/* no access to these chats: their titles stay null */
		store_missing(n, c->kind, ids, c->cnt, now);
		c->settled = 1;
		return;
	}
	if (r->status == VKAPI_EAPI && (r->err.code == 5 || r->err.code == 27)) {
		if (!n->disabled)
			log_warn("VK refused the token for %s (error %ld): names "
			    "will be null from now on; check VK_TOKEN", m, r->err.code);
		n->disabled = 1;
	} else if (!retryable(&r->err)) {
		log_warn("%s failed: %s; these names stay null", m, r->err.msg);
	} else if (b->tries < n->tries) {
		return;		/* another try */
	} else {
		log_warn("%s failed %d times (%s); these names stay null",
		    m, n->tries, r->err.msg);
	}
	n->st.unavailable += c->cnt;
	c->settled = 1;
}

/* Batch b's request finished (its reply in n->doc): settle its calls, free
 * it or plan a retry. */
static void
finish(names *n, struct names_batch *b, int st, vkapi_err *e)
{
	struct vkexec_result res[VKEXEC_MAX];
	double now = mono_now();
	int s, c, left = 0;

	b->inflight = 0;
	vkexec_split(&b->x, &n->api, &n->doc, st, e, res);
	for (s = 0; s < b->x.n; s++)
		settle(n, b, &b->call[b->xcall[s]], &res[s], &n->doc, now);
	for (c = 0; c < b->ncall; c++)
		left += !b->call[c].settled;
	if (left == 0 || n->disabled) {
		b->active = 0;
		return;
	}
	n->st.retries++;
	b->due = now + (double)backoff_next(&b->bo) / 1000;
}

/* The token was refused: what waits will get no names. */
static void
give_up(names *n)
{
	int i, k;

	n->st.unavailable += pending(n);
	for (k = 0; k < 3; k++)
		n->nwant[k] = 0;
	for (i = 0; i < NAMES_INFLIGHT; i++)
		if (!n->b[i].inflight)
			n->b[i].active = 0;
}

void
names_run(names *n, int idle)
{
	vkapi_err e;
	vka_call *call;
	double now;
	int i, st, resp;

	if (n->as.running > 0)
		vka_poll(&n->as, NULL, 0, 0);
	while ((call = vka_done(&n->as, &n->doc, &resp, &st, &e)) != NULL) {
		finish(n, call->user, st, &e);
		vka_release(&n->as, call);
	}
	if (n->disabled) {
		give_up(n);
		return;
	}
	now = mono_now();
	for (i = 0; i < NAMES_INFLIGHT; i++) {
		struct names_batch *b = &n->b[i];

		if (b->active && !b->inflight && b->due <= now) {
			if (rl_delay_even(&n->rl, now) > 0)
				return;
			send_batch(n, i);
		}
	}
	if (pending(n) == 0 || rl_delay_even(&n->rl, now) > 0 ||
	    !(idle || now - n->want_since >= n->window ||
	    pending(n) >= HURRY_PENDING))
		return;
	for (i = 0; i < NAMES_INFLIGHT; i++)
		if (!n->b[i].active) {
			take_batch(n, &n->b[i]);
			send_batch(n, i);
			if (pending(n) > 0)
				n->want_since = now;
			return;
		}
}

int
names_ready(const names *n, unsigned long ticket)
{
	unsigned long done = n->next_seq - 1;
	int i;

	if (ticket == 0 || n->disabled)
		return 1;
	for (i = 0; i < NAMES_INFLIGHT; i++)
		if (n->b[i].active && n->b[i].seq <= done)
			done = n->b[i].seq - 1;
	return ticket <= done;
}

int
names_busy(const names *n)
{
	int i;

	if (pending(n) > 0)
		return 1;
	for (i = 0; i < NAMES_INFLIGHT; i++)
		if (n->b[i].active)
			return 1;
	return 0;
}

int
names_timeout(const names *n)
{
	double now = mono_now(), slot = rl_delay_even(&n->rl, now), t = -1, d;
	int i, room = 0;

	if (n->disabled)
		return -1;
	for (i = 0; i < NAMES_INFLIGHT; i++) {
		const struct names_batch *b = &n->b[i];

		room |= !b->active;
		if (b->active && !b->inflight) {
			d = b->due - now > slot ? b->due - now : slot;
			if (t < 0 || d < t)
				t = d;
		}
	}
	if (pending(n) > 0 && room && (t < 0 || slot < t))
		t = slot;
	return t < 0 ? -1 : (int)(t * 1000) + 1;
}

void
names_wait(names *n, int fd, int ms)
{
	struct pollfd in = { fd, POLLIN, 0 };
	long t = vka_timeout(&n->as);

	if (t >= 0 && t < ms)
		ms = (int)t;
	vka_poll(&n->as, &in, fd >= 0 ? 1 : 0, ms);
}

void
names_lookup(void *arg, int64_t uuid, int64_t bpid, struct norm_names *out)
{
	names *n = arg;
	const struct cnames *u, *p;
	double now = n->now;
	int64_t id;
	int kind;

	memset(out, 0, sizeof(*out));
	kind = who(uuid, &id);
	u = uuid != 0 ? cache_get(n->c, kind, id, now) : NULL;	/* 0: no user */
	if (u != NULL) {
		out->name = u->name;
		out->firstname = u->first;
		out->lastname = u->last;
		out->nick = u->nick;
	}
	kind = peer_kind(bpid, &id);
	p = bpid != 0 ? cache_get(n->c, kind, id, now) : NULL;
	if (p != NULL)
		out->peer_name = p->name;
}
