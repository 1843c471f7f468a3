/* poll.c - Bots Long Poll: server, key and ts; failures; batches out. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emit.h"
#include "json.h"
#include "log.h"
#include "mono.h"
#include "poll.h"
#include "reply.h"
#include "state.h"

enum step {
	STEP_OK,	/* a reply handled: poll again */
	STEP_RETRY,	/* failed and waited: the same request again */
	STEP_REINIT,	/* failed and waited: a new key and server, the same ts */
	STEP_REKEY,	/* failed:2: a new key and server, the same ts */
	STEP_NEWTS,	/* failed:3: a new key, server and ts */
	STEP_STOP,	/* a signal, --once, --max-events or a write error */
	STEP_FATAL	/* VK refused the token or the group */
};

void
poll_init(struct poller *p, const struct poll_conf *c, vkapi *api, out *o,
    batches *ack, volatile sig_atomic_t *stop)
{
	memset(p, 0, sizeof(*p));
	p->conf = c;
	p->api = api;
	p->o = o;
	p->ack = ack;
	p->stop = stop;
	backoff_init(&p->bo, c->backoff_min_ms, c->backoff_max_ms);
}

void
poll_free(struct poller *p)
{
	buf_free(&p->server);
	buf_free(&p->key);
	buf_free(&p->ts);
	buf_free(&p->url);
	buf_free(&p->tmp);
	buf_free(&p->id);
}

void
poll_resume(struct poller *p, const char *ts, size_t n)
{
	buf_reset(&p->ts);
	buf_put(&p->ts, ts, n);
	p->have_ts = 1;
}

/* The ts as sent in a URL: a string's content, or the number. */
static void
ts_plain(const buf *ts, buf *out)
{
	buf_reset(out);
	if (ts->len >= 2 && ts->p[0] == '"')
		json_unescape_raw(ts->p + 1, ts->len - 2, out);
	else
		buf_put(out, ts->p, ts->len);
}

/* Write ts[0..n) to the state file; 0, or -1 (reported once). */
static int
store(struct poller *p, const char *ts, size_t n)
{
	char err[512];

	if (p->conf->state == NULL)
		return 0;
	if (state_save(p->conf->state, p->conf->group, ts, n, err, sizeof(err)) == -1) {
		if (!p->save_failed)
			log_warn("%s; a restart would repeat events", err);
		p->save_failed = 1;
		return -1;
	}
	return 0;
}

/* Read the acks that came (waiting up to wait_ms); save a newly delivered ts. */
static int
ack_sync(struct poller *p, int wait_ms)
{
	const char *ts;
	size_t n;
	int r = batch_read(p->ack, wait_ms);

	if ((ts = batch_take(p->ack, &n)) != NULL)
		store(p, ts, n);
	return r;
}

/* The ts is written: save it, or with --ack, once what precedes it is acknowledged. */
static void
save_state(struct poller *p)
{
	if (!p->have_ts) {
		p->dirty = 0;
		return;
	}
	if (p->ack) {
		batch_end(p->ack, p->ts.p, p->ts.len);
		p->dirty = 0;
		ack_sync(p, 0);
		return;
	}
	if (store(p, p->ts.p, p->ts.len) == 0)
		p->dirty = 0;
}

/* During a transfer (a long poll may last --wait seconds): take the acks in. */
static void
poll_tick(void *arg)
{
	struct poller *p = arg;
	long long t = mono_ms();

	if (p->want_stats && *p->want_stats) {
		int w = *p->want_stats;

		*p->want_stats = 0;
		if (w & ~METRICS_DUE)
			poll_stats(p);
		if (w & METRICS_DUE)
			poll_metrics(p);
	}
	if (p->ack == NULL || t - p->tick_ms < 100)
		return;
	p->tick_ms = t;
	ack_sync(p, 0);
}

void
poll_stats(const struct poller *p)
{
	log_note("stats: poll polls=%llu updates=%llu gaps=%llu retries=%llu "
	    "reconnects=%llu key_expired=%llu history_lost=%llu http_status=%llu "
	    "bad_reply=%llu", p->polls, p->events, p->gaps, p->retries,
	    p->re_expired + p->re_lost + p->re_http + p->re_bad,
	    p->re_expired, p->re_lost, p->re_http, p->re_bad);
	if (p->ack)
		log_note("stats: ack acks=%llu unknown=%llu unacknowledged=%zu",
		    (unsigned long long)p->ack->acks,
		    (unsigned long long)p->ack->unknown, batch_pending(p->ack));
}

void
poll_metrics(struct poller *p)
{
	static const char *const cause[] = { "key_expired", "history_lost",
	    "http_status", "bad_reply" };
	const unsigned long long re[] = { p->re_expired, p->re_lost, p->re_http,
	    p->re_bad };
	metrics *m = p->metrics;
	size_t i;

	if (m == NULL || m->path == NULL)
		return;
	metrics_counter(m, "vkpipe_poll_polls_total",
	    "Replies of the long-poll server.", (double)p->polls);
	metrics_counter(m, "vkpipe_poll_updates_total", "Updates written.",
	    (double)p->events);
	metrics_counter(m, "vkpipe_poll_gaps_total",
	    "Places where VK said events were lost.", (double)p->gaps);
	metrics_counter(m, "vkpipe_poll_retries_total",
	    "Failed requests tried again.", (double)p->retries);
	metrics_family(m, "vkpipe_poll_reconnects_total", "counter",
	    "New keys and servers, by cause.");
	for (i = 0; i < sizeof(re) / sizeof(re[0]); i++)
		metrics_value(m, "vkpipe_poll_reconnects_total", (double)re[i],
		    "cause", cause[i], NULL);
	if (p->ack) {
		metrics_counter(m, "vkpipe_poll_acks_total",
		    "Event ids acknowledged by the end of the pipeline.",
		    (double)p->ack->acks);
		metrics_gauge(m, "vkpipe_poll_unacknowledged_batches",
		    "Batches written and not acknowledged yet.",
		    (double)batch_pending(p->ack));
	}
	metrics_gauge(m, "vkpipe_poll_last_poll_timestamp_seconds",
	    "When the long-poll server last replied (0: never).",
	    (double)p->last_poll);
	metrics_gauge(m, "vkpipe_poll_last_update_timestamp_seconds",
	    "When the last update was written (0: never).",
	    (double)p->last_event);
	metrics_flush(m);
}

/* Too much unacknowledged: poll no more until acks make room. -1: stopped. */
static int
ack_hold(struct poller *p)
{
	batches *a = p->ack;

	if (p->holds++ == 0)
		log_warn("%llu updates not acknowledged yet: polling paused until the "
		    "pipeline acknowledges them (--ack-window %zu; logged once)",
		    (unsigned long long)(a->written - a->done), a->window);
	else
		log_info("%llu updates not acknowledged yet: polling paused",
		    (unsigned long long)(a->written - a->done));
	while (batch_full(a)) {
		if (*p->stop)
			return -1;
		poll_tick(p);
		ack_sync(p, 200);
	}
	log_info("acknowledgements caught up: polling again");
	return 0;
}

/*
 * Stopping with batches unacknowledged: end the output, so that the rest of
 * the pipeline finishes its input, and wait (at most --ack-drain) for the
 * acks, or for the writer of the ack channel to leave.
 */
static void
ack_drain(struct poller *p)
{
	long long end = mono_ms() + p->conf->ack_drain_ms, left;

	ack_sync(p, 0);
	if (batch_pending(p->ack) == 0)
		return;
	if (out_flush(p->o) == 0 && p->o->fd != -1) {
		close(p->o->fd);
		p->o->fd = -1;
	}
	while (batch_pending(p->ack) && (left = end - mono_ms()) > 0)
		if (ack_sync(p, left < 200 ? (int)left : 200) == BATCH_HUP) {
			ack_sync(p, 0);
			break;
		}
	if (batch_pending(p->ack))
		log_info("%zu batches not acknowledged at exit: the next start with this "
		    "state polls them again", batch_pending(p->ack));
}

/* Wait out a backoff step after a failure described by what. */
static int
retry_after(struct poller *p, const char *what, const char *then)
{
	long ms = backoff_next(&p->bo);

	p->retries++;
	log_warn("%s; retrying in %.1f s%s", what, ms / 1000.0, then);
	return backoff_sleep(ms, p->stop) ? STEP_STOP : STEP_RETRY;
}

static int
fatal_api(const struct poller *p, const vkapi_err *e)
{
	switch (e->code) {
	case 5:
		log_warn("VK refused the token (error 5: %s): check VK_TOKEN or "
		    "--token-file; it must be a valid community token", e->msg);
		return 1;
	case 15:
		log_warn("access denied (error 15: %s): the token needs the community's "
		    "manage right and Long Poll API must be on for group %s",
		    e->msg, p->conf->group);
		return 1;
	case 100:
		log_warn("VK rejected a parameter (error 100: %s): check the group id "
		    "%s (VK_GROUP_ID or --group-id)", e->msg, p->conf->group);
		return 1;
	case 27:
		log_warn("this is not a community token (error 27: %s): create one in "
		    "the community's Manage > API usage > Access tokens", e->msg);
		return 1;
	}
	return 0;
}

/* groups.getLongPollServer: a new key and server; the ts too if take_ts. */
static int
lp_init(struct poller *p, int take_ts, buf *old_ts)
{
	const char *params[] = { "group_id", p->conf->group, NULL };
	const json_doc *d = &p->api->doc;
	char what[400];
	vkapi_err e;
	int r, k, s, t;

	switch (vkapi_call(p->api, "groups.getLongPollServer", params, &r, &e)) {
	case VKAPI_OK:
		break;
	case VKAPI_EABORT:
		return STEP_STOP;
	case VKAPI_EAPI:
		if (fatal_api(p, &e))
			return STEP_FATAL;
		/* FALLTHROUGH */
	default:
		if (e.status == VKAPI_EAPI)
			snprintf(what, sizeof(what), "groups.getLongPollServer failed: "
			    "VK error %ld: %s", e.code, e.msg);
		else
			snprintf(what, sizeof(what), "groups.getLongPollServer failed: %s",
			    e.msg);
		return retry_after(p, what, "");
	}
	k = json_get(d, r, "key", 3);
	s = json_get(d, r, "server", 6);
	t = json_get(d, r, "ts", 2);
	if (json_type(d, k) != JSON_STRING || json_type(d, s) != JSON_STRING ||
	    (json_type(d, t) != JSON_STRING && json_type(d, t) != JSON_NUMBER))
		return retry_after(p, "groups.getLongPollServer reply lacks key, "
		    "server or ts", "");
	buf_reset(&p->key);
	json_unescape(d, k, &p->key);
	buf_cstr(&p->key);
	vkapi_set_secret(p->api, p->key.p);
	buf_reset(&p->server);
	json_unescape(d, s, &p->server);
	buf_cstr(&p->server);
	if (strstr(p->server.p, "://") == NULL) {	/* before API 5.103: no scheme */
		buf_reset(&p->tmp);
		buf_puts(&p->tmp, "https://");
		buf_put(&p->tmp, p->server.p, p->server.len);
		buf_reset(&p->server);
		buf_put(&p->server, p->tmp.p, p->tmp.len);
		buf_cstr(&p->server);
	}
	if (take_ts || !p->have_ts) {
		if (p->have_ts && old_ts) {
			buf_reset(old_ts);
			buf_put(old_ts, p->ts.p, p->ts.len);
			buf_cstr(old_ts);
		}
		reply_token(&p->ts, d, t);
		p->have_ts = 1;
		p->dirty = 1;
	}
	log_info("long-poll server %s, ts %s", p->server.p, buf_cstr(&p->ts));
	return STEP_OK;
}

/* VK says events were lost between from and to: say so, mark the stream. */
static int
report_gap(struct poller *p, const char *reason, const char *from, const char *to)
{
	log_warn("events may have been lost (VK replied %s): ts jumped from %s to %s",
	    reason, from && *from ? from : "?", to);
	p->gaps++;
	if (p->conf->mark_gaps) {
		emit_gap(&p->o->b, reason, from, to);
		if (out_flush(p->o) == -1)
			return -1;
	}
	return 0;
}

/* Write the updates of one reply; returns -1 on a write error. */
static int
write_batch(struct poller *p, const json_doc *d, int upd, int *cut)
{
	int i, k, cnt = json_size(d, upd);

	*cut = 0;
	for (k = 0, i = json_child(d, upd); k < cnt; k++, i = json_next(d, i)) {
		if (p->conf->max_events && p->events >= p->conf->max_events) {
			*cut = 1;
			break;
		}
		reply_update(d, i, &p->o->b, p->ack ? &p->id : NULL);
		if (p->ack)
			batch_update(p->ack, p->id.p, p->id.len);
		p->events++;
		p->last_event = time(NULL);
		if (out_done(p->o) == -1)
			return -1;
	}
	return out_flush(p->o);
}

/* One poll of the long-poll server and what its reply says to do. */
static int
poll_once(struct poller *p)
{
	const json_doc *d = &p->api->doc;
	char what[400];
	vkapi_err e;
	struct reply r;
	int st, t, u, cut;
	buf from = BUF_INIT;

	buf_reset(&p->url);
	buf_put(&p->url, p->server.p, p->server.len);
	buf_puts(&p->url, strchr(p->server.p, '?') ? "&" : "?");
	buf_puts(&p->url, "act=a_check&key=");
	vkapi_urlenc(&p->url, p->key.p, p->key.len);
	buf_puts(&p->url, "&ts=");
	ts_plain(&p->ts, &p->tmp);
	vkapi_urlenc(&p->url, p->tmp.p, p->tmp.len);
	snprintf(what, sizeof(what), "&wait=%d", p->conf->wait);
	buf_puts(&p->url, what);

	st = vkapi_get(p->api, buf_cstr(&p->url), p->conf->timeout_ms, &e);
	if (st == VKAPI_EABORT)
		return STEP_STOP;
	if (st == VKAPI_EHTTP && (e.code < 500 || e.code > 599)) {
		snprintf(what, sizeof(what), "long-poll server answered %s", e.msg);
		p->re_http++;
		return retry_after(p, what, ", with a new key and the same ts") ==
		    STEP_STOP ? STEP_STOP : STEP_REINIT;
	}
	if (st != VKAPI_OK) {
		snprintf(what, sizeof(what), "poll failed: %s", e.msg);
		return retry_after(p, what, " with the same ts");
	}
	p->polls++;
	state_touch(p->conf->state);	/* alive, even when nothing changes */
	p->last_poll = time(NULL);

	reply_classify(d, &r);
	t = r.ts;
	u = r.updates;
	switch (r.kind) {
	case REPLY_FAILED1:
		/* The ts is too old or history was cut: VK gives the
		 * ts to go on from; the events in between are gone. */
		buf_put(&from, p->ts.p, p->ts.len);
		buf_cstr(&from);
		if (reply_token(&p->ts, d, t) == -1) {
			buf_free(&from);
			return retry_after(p, "failed:1 reply without a ts",
			    ", with a new key");
		}
		p->dirty = 1;
		/* The same ts back: nothing can lie between the two. */
		ts_plain(&from, &p->url);
		ts_plain(&p->ts, &p->tmp);
		st = 0;
		if (p->url.len == p->tmp.len &&
		    memcmp(p->url.p, p->tmp.p, p->url.len) == 0)
			log_info("failed:1 with the same ts %s: nothing lost", p->ts.p);
		else
			st = report_gap(p, "failed:1", from.p, p->ts.p);
		buf_free(&from);
		if (st == -1)
			return STEP_STOP;
		save_state(p);
		backoff_reset(&p->bo);
		return STEP_OK;
	case REPLY_FAILED2:
		log_info("key expired (failed:2): asking for a new one, keeping ts %s",
		    p->ts.p);
		p->re_expired++;
		return STEP_REKEY;
	case REPLY_FAILED3:
		log_info("information lost (failed:3): asking for a new key and ts");
		p->re_lost++;
		return STEP_NEWTS;
	case REPLY_FAILED:
		snprintf(what, sizeof(what), "long-poll server replied failed:%lld",
		    (long long)r.code);
		p->re_bad++;
		return retry_after(p, what, ", with a new key and the same ts") ==
		    STEP_STOP ? STEP_STOP : STEP_REINIT;
	case REPLY_BAD:
		p->re_bad++;
		return retry_after(p, "long-poll reply has neither ts and updates nor failed",
		    ", with a new key and the same ts") == STEP_STOP ? STEP_STOP : STEP_REINIT;
	case REPLY_UPDATES:
		break;
	}

	if (write_batch(p, d, u, &cut) == -1)
		return STEP_STOP;
	if (log_verbose) {
		buf_reset(&from);
		reply_token(&from, d, t);
		log_info("poll ts %s: %d updates, next ts %s", p->ts.p,
		    json_size(d, u), from.p);
		buf_free(&from);
	}
	/* Advance only past a batch written whole: a cut batch comes again. */
	if (!cut) {
		reply_token(&p->ts, d, t);
		p->dirty = 1;
		save_state(p);
	}
	backoff_reset(&p->bo);
	if (p->conf->once || cut ||
	    (p->conf->max_events && p->events >= p->conf->max_events))
		return STEP_STOP;
	return STEP_OK;
}

int
poll_run(struct poller *p)
{
	int st = STEP_REINIT, take_ts = 0, checked = 0, rekeys = 0;
	buf old = BUF_INIT;

	p->api->tick = poll_tick;	/* acks and SIGUSR1 during a long poll */
	p->api->tick_arg = p;
	while (!*p->stop && !p->o->err) {
		poll_tick(p);
		if (st == STEP_REKEY || st == STEP_NEWTS) {
			if (st == STEP_NEWTS)
				take_ts = 1;
			/* At once the first time; when VK asks again before a
			 * poll succeeded, after a backoff step. */
			if (rekeys++ > 0 && backoff_sleep(backoff_next(&p->bo), p->stop))
				break;
			st = STEP_REINIT;
		}
		if (st == STEP_REINIT) {
			buf_reset(&old);
			st = lp_init(p, take_ts, &old);
			if (st == STEP_FATAL) {
				buf_free(&old);
				return POLL_FATAL;
			}
			if (st == STEP_STOP)
				break;
			if (st == STEP_RETRY) {
				st = STEP_REINIT;
				continue;
			}
			if (take_ts && report_gap(p, "failed:3", old.len ? old.p : NULL,
			    p->ts.p) == -1)
				break;
			take_ts = 0;
			save_state(p);
			if (!checked) {
				check_settings(p->api, p->conf->group, p->conf->version);
				checked = 1;
			}
		}
		if (p->ack && batch_full(p->ack) && ack_hold(p) == -1)
			break;
		st = poll_once(p);
		if (st == STEP_OK)
			rekeys = 0;
		else if (st == STEP_STOP)
			break;
	}
	buf_free(&old);
	if (p->o->err) {
		if (p->ack)
			ack_sync(p, 0);
		return p->o->err == EPIPE ? POLL_EPIPE : POLL_WRITE;
	}
	if (p->dirty)
		save_state(p);
	if (p->ack)
		ack_drain(p);
	return POLL_STOPPED;
}
