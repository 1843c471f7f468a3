/* names.c - resolving user, community and chat names through the VK API. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "log.h"
#include "names.h"

#define CHAT_PEER_BASE	2000000000LL

/* How many ids each method takes in one request. */
static const size_t per_request[3] = { 1000, 500, 100 };
static const char *const method[3] = {
	"users.get", "groups.getById", "messages.getConversationsById"
};

int
names_init(names *n, const struct names_conf *cf, char *err, size_t errlen)
{
	vkapi_err e;

	memset(n, 0, sizeof(*n));
	if (vkapi_init(&n->api, cf->api_url, cf->api_version, cf->token, &e) == -1) {
		snprintf(err, errlen, "%s", e.msg);
		return -1;
	}
	n->api.timeout_ms = cf->timeout_ms;
	if ((n->c = cache_new(cf->cache_size, cf->cache_ttl)) == NULL ||
	    rl_init(&n->rl, cf->rate) == -1) {
		snprintf(err, errlen, "out of memory for the name cache");
		names_free(n);
		return -1;
	}
	backoff_init(&n->bo, 200, 5000);
	n->tries = cf->tries > 0 ? cf->tries : 1;
	return 0;
}

void
names_free(names *n)
{
	int k;

	vkapi_free(&n->api);
	cache_free(n->c);
	n->c = NULL;
	rl_free(&n->rl);
	for (k = 0; k < 3; k++)
		free(n->want[k]);
}

size_t
names_pending(const names *n)
{
	return n->nwant[0] + n->nwant[1] + n->nwant[2];
}

/* Is (kind, id) known? If not, note it for the next fetch. */
static int
want1(names *n, int kind, int64_t id)
{
	int k = kind - 1;
	size_t i;

	if (cache_get(n->c, kind, id, n->now) != NULL) {
		n->st.hits++;
		return 1;
	}
	for (i = 0; i < n->nwant[k]; i++)
		if (n->want[k][i] == id)
			return 0;
	n->st.misses++;
	if (n->nwant[k] == n->capwant[k]) {
		size_t cap = n->capwant[k] ? n->capwant[k] * 2 : 64;
		int64_t *p = realloc(n->want[k], cap * sizeof(*p));

		if (p == NULL)
			return 0;	/* it stays unnamed; never fatal */
		n->want[k] = p;
		n->capwant[k] = cap;
	}
	n->want[k][n->nwant[k]++] = id;
	return 0;
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

int
names_want(names *n, int64_t uuid, int64_t bpid)
{
	int64_t id;
	int ok = 1, kind;

	if (n->disabled)
		return 1;
	if (uuid != 0) {
		kind = who(uuid, &id);
		ok &= want1(n, kind, id);
	}
	if (bpid != 0) {
		kind = peer_kind(bpid, &id);
		ok &= want1(n, kind, id);
	}
	return ok;
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

static void
request(names *n, int kind, const int64_t *ids, size_t cnt)
{
	buf list = BUF_INIT;
	const char *params[7];
	char num[24];
	vkapi_err e;
	double now, wait;
	int resp, items, i, m, tries, st;
	size_t k;

	for (k = 0; k < cnt; k++) {
		snprintf(num, sizeof(num), "%s%" PRId64, k ? "," : "", ids[k]);
		buf_puts(&list, num);
	}
	buf_cstr(&list);
	i = 0;
	params[i++] = kind == CACHE_USER ? "user_ids" : kind == CACHE_GROUP ?
	    "group_ids" : "peer_ids";
	params[i++] = list.p;
	if (kind == CACHE_USER) {
		params[i++] = "fields";
		params[i++] = "domain";
	}
	params[i] = NULL;

	for (tries = 0; tries < n->tries; tries++) {
		if (n->stop && *n->stop)
			break;
		while ((wait = rl_delay(&n->rl, now = rl_now())) > 0)
			backoff_sleep((long)(wait * 1000) + 1, n->stop);
		rl_note(&n->rl, rl_now());
		n->st.requests++;
		st = vkapi_call(&n->api, method[kind - 1], params, &resp, &e);
		now = rl_now();
		if (st == VKAPI_OK) {
			backoff_reset(&n->bo);
			items = items_of(&n->api.doc, kind, resp);
			m = json_type(&n->api.doc, items) == JSON_ARRAY ?
			    json_size(&n->api.doc, items) : 0;
			for (i = 0, resp = items + 1; i < m;
			    i++, resp = json_next(&n->api.doc, resp))
				store(n, kind, &n->api.doc, resp, now);
			store_missing(n, kind, ids, cnt, now);
			buf_free(&list);
			return;
		}
		if (st == VKAPI_EAPI && kind == CACHE_CHAT && e.code == 917) {
			/* no access to these chats: their titles stay null */
			store_missing(n, kind, ids, cnt, now);
			buf_free(&list);
			return;
		}
		if (st == VKAPI_EAPI && (e.code == 5 || e.code == 27)) {
			log_warn("VK refused the token for %s (error %ld): names "
			    "will be null from now on; check VK_TOKEN", method[kind - 1], e.code);
			n->disabled = 1;
			break;
		}
		if (!retryable(&e)) {
			log_warn("%s failed: %s; these names stay null",
			    method[kind - 1], e.msg);
			break;
		}
		if (tries + 1 < n->tries) {
			n->st.retries++;
			backoff_sleep(backoff_next(&n->bo), n->stop);
		} else {
			log_warn("%s failed %d times (%s); these names stay null",
			    method[kind - 1], n->tries, e.msg);
		}
	}
	n->st.unavailable += cnt;
	buf_free(&list);
}

void
names_fetch(names *n)
{
	size_t off, cnt;
	int k;

	for (k = 0; k < 3; k++) {
		for (off = 0; off < n->nwant[k] && !n->disabled; off += cnt) {
			cnt = n->nwant[k] - off;
			if (cnt > per_request[k])
				cnt = per_request[k];
			request(n, k + 1, n->want[k] + off, cnt);
		}
		n->nwant[k] = 0;
	}
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
	u = cache_get(n->c, kind, id, now);
	if (u != NULL) {
		out->name = u->name;
		out->firstname = u->first;
		out->lastname = u->last;
		out->nick = u->nick;
	}
	kind = peer_kind(bpid, &id);
	p = cache_get(n->c, kind, id, now);
	if (p != NULL)
		out->peer_name = p->name;
}
