/* normalize.c - the Event contract: raw update → Event line. */
#include <stdio.h>
#include <string.h>

#include "evtype.h"
#include "jsonw.h"
#include "normalize.h"

#define CHAT_PEER_BASE	2000000000LL

static buf scratch = BUF_INIT;	/* unescaping space for the writer */
static buf text = BUF_INIT;	/* the message text, unescaped */
static buf inner = BUF_INIT;	/* a payload string, unescaped */
static json_doc inner_doc;	/* … and parsed */

#define GET(d, i, k)	json_get((d), (i), (k), sizeof(k) - 1)

/* An integer member, required: -1 if absent or not an int64. */
static int
req_int(const json_doc *d, int obj, const char *key, int64_t *v)
{
	return json_int64(d, json_get(d, obj, key, strlen(key)), v);
}

/*
 * An integer as it is spelled, when that is how jw_int would write it:
 * JSON's grammar leaves only "-0" and forms with a fraction or an exponent
 * to tell apart, and up to 18 digits always fit an int64. Copying is
 * cheaper than parsing and formatting it again. 0 if not such a number.
 */
static int
copy_int(buf *b, const struct jv *v)
{
	const char *p = v->p;
	size_t n = v->n, k;

	if (v->t != JSON_NUMBER)
		return 0;
	k = n > 0 && p[0] == '-';
	if (n - k == 0 || n - k > 18 || (k && p[1] == '0'))
		return 0;
	for (; k < n; k++)
		if (p[k] < '0' || p[k] > '9')
			return 0;
	buf_put(b, p, n);
	return 1;
}

static void
write_int_or_null(buf *b, const struct jv *s)
{
	int64_t v;

	if (copy_int(b, s))
		return;
	if (jv_int64(s, &v) == 0)
		jw_int(b, v);
	else
		jw_null(b);
}

/* The same for token i. */
static void
tok_int_or_null(buf *b, const json_doc *d, int i)
{
	struct jv s = json_span(d, i);

	write_int_or_null(b, &s);
}

/* A string span of validated text, re-escaped canonically. */
static void
write_str(buf *b, const struct jv *s)
{
	jw_rawstr(b, s->p, s->n, memchr(s->p, '\\', s->n) != NULL, &scratch);
}

static void
write_name(buf *b, const char *json)
{
	if (json)
		buf_puts(b, json);
	else
		jw_null(b);
}

/*
 * "event_type":…,"event_id":…,"user":{…},"peer":{…}, — common head. The
 * type is the literal `type`, or else the update's token ty; uuid and bpid
 * are NULL for a null user or peer. spelled, unless NULL, holds the two ids
 * as the update spells them: copied when that is how jw_int writes them.
 */
static void
write_head(buf *b, const char *type, int ty, const json_doc *d, int evid,
    const int64_t *uuid, const int64_t *bpid, const struct jv *spelled,
    const norm_opts *o)
{
	struct norm_names nm = { NULL, NULL, NULL, NULL, NULL };

	if (o->names)
		o->names(o->names_arg, uuid ? *uuid : 0, bpid ? *bpid : 0, &nm);
	if (type != NULL) {
		JW_LIT(b, "{\"event_type\":\"");
		buf_puts(b, type);
		JW_LIT(b, "\",\"event_id\":");
	} else {
		JW_LIT(b, "{\"event_type\":");
		jw_tokstr(b, d, ty, &scratch);
		JW_LIT(b, ",\"event_id\":");
	}
	if (json_type(d, evid) == JSON_STRING)
		jw_tokstr(b, d, evid, &scratch);
	else
		jw_null(b);	/* only a v3 type gets this far without one */
	if (uuid != NULL) {
		JW_LIT(b, ",\"user\":{\"uuid\":");
		if (spelled == NULL || !copy_int(b, &spelled[0]))
			jw_int(b, *uuid);
		JW_LIT(b, ",\"name\":");
		write_name(b, nm.name);
		JW_LIT(b, ",\"firstname\":");
		write_name(b, nm.firstname);
		JW_LIT(b, ",\"lastname\":");
		write_name(b, nm.lastname);
		JW_LIT(b, ",\"nick\":");
		write_name(b, nm.nick);
		buf_putc(b, '}');
	} else
		JW_LIT(b, ",\"user\":null");
	if (bpid != NULL) {
		JW_LIT(b, ",\"peer\":{\"bpid\":");
		if (spelled == NULL || !copy_int(b, &spelled[1]))
			jw_int(b, *bpid);
		JW_LIT(b, ",\"cid\":");
		if (*bpid > CHAT_PEER_BASE)
			jw_int(b, *bpid - CHAT_PEER_BASE);
		else
			jw_null(b);
		JW_LIT(b, ",\"name\":");
		write_name(b, nm.peer_name);
		JW_LIT(b, "},");
	} else
		JW_LIT(b, ",\"peer\":null,");
}

/* Is event_type name[0..n) one to write (--event-types)? */
static int
keeps(const norm_opts *o, const char *name, size_t n)
{
	const char *p = o->keep, *e;

	if (p == NULL)
		return 1;
	for (;; p = e + 1) {
		e = strchr(p, ',');
		if ((size_t)((e ? e : p + strlen(p)) - p) == n && memcmp(p, name, n) == 0)
			return 1;
		if (e == NULL)
			return 0;
	}
}


/* Does s start with one of the prefix characters? */
static int
is_command(const char *s, size_t n, const char *prefix)
{
	const unsigned char *p = (const unsigned char *)prefix;
	size_t k;

	while (*p) {
		/* One UTF-8 character: a lead byte and its continuation bytes. */
		k = 1;
		while (p[k] && (p[k] & 0xC0) == 0x80)
			k++;
		if (n >= k && memcmp(s, p, k) == 0)
			return 1;
		p += k;
	}
	return 0;
}

/*
 * Where a command addressed to this community starts: text that begins
 * with a mention of group g ("[club<g>|…]" or "[public<g>|…]"), then an
 * optional ',' or ':' and white space, then a prefix. Returns the offset of
 * the prefix, or 0 when text is no such command.
 */
static size_t
after_mention(const char *s, size_t n, int64_t g, const char *prefix)
{
	char id[24];
	size_t i, k;
	const char *close;

	if (n == 0 || s[0] != '[' || g <= 0)
		return 0;
	if (n > 5 && memcmp(s, "[club", 5) == 0)
		i = 5;
	else if (n > 7 && memcmp(s, "[public", 7) == 0)
		i = 7;
	else
		return 0;
	k = (size_t)snprintf(id, sizeof(id), "%lld|", (long long)g);
	if (n - i < k || memcmp(s + i, id, k) != 0 ||
	    (close = memchr(s + i + k, ']', n - i - k)) == NULL)
		return 0;
	i = (size_t)(close - s) + 1;
	if (i < n && (s[i] == ',' || s[i] == ':'))
		i++;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return is_command(s + i, n - i, prefix) ? i : 0;
}

/*
 * A keyboard button's payload: VK sends it as a JSON string; write the
 * value that string holds, or the string itself when it holds no JSON.
 * Any other value is carried over as it is.
 */
static void
write_payload(buf *b, const struct jv *v)
{
	switch (v->t) {
	case JSON_NONE:
		jw_null(b);
		return;
	case JSON_STRING:
		break;
	default:
		jw_text(b, v->p, v->n, &scratch);	/* validated text, compacted */
		return;
	}
	buf_reset(&inner);
	json_unescape_raw(v->p, v->n, &inner);
	if (json_parse_lazy(&inner_doc, inner.p ? inner.p : "", inner.len) == 0)
		jw_value(b, &inner_doc, 0, &scratch);
	else
		write_str(b, v);
}

/* The members of a message that message_new reads. */
enum { M_PEER, M_FROM, M_CMID, M_TEXT, M_REPLY, M_FWD, M_ATT, M_GEO, M_DATE,
	M_PAYLOAD, M_ACTION, M_N };
static const struct { const char *k; size_t n; } mkey[M_N] = {
	{ "peer_id", 7 }, { "from_id", 7 }, { "conversation_message_id", 23 },
	{ "text", 4 }, { "reply_message", 13 }, { "fwd_messages", 12 },
	{ "attachments", 11 }, { "geo", 3 }, { "date", 4 }, { "payload", 7 },
	{ "action", 6 }
};

/*
 * Find them all in one pass over the message m (v[M_...]: the value, t =
 * JSON_NONE when absent), rather than one lookup each: a message has a
 * dozen members and most of those asked for are absent, so each lookup
 * would walk them all. The key's length picks the one candidate to
 * compare. The first of repeated keys counts, as for json_get.
 *
 * The message is read as spans of the text json_check() validated, not as
 * jsmn tokens: of its members a few scalars are read and the containers
 * written whole or looked into at one level, so tokenizing it (the
 * biggest part of every line) would cost more than the transform.
 */
static void
message_members(const struct jv *m, struct jv *v)
{
	const char *cur = NULL;
	struct jv key, val;
	int j;

	for (j = 0; j < M_N; j++)
		v[j].t = JSON_NONE;
	if (m->t != JSON_OBJECT)
		return;
	while (jv_next(m, &cur, &val, &key)) {
		switch (key.n) {
		case 3: j = M_GEO; break;
		case 4: j = key.p[0] == 't' ? M_TEXT : M_DATE; break;
		case 6: j = M_ACTION; break;
		case 7: j = key.p[0] == 'f' ? M_FROM : key.p[1] == 'e' ? M_PEER : M_PAYLOAD; break;
		case 11: j = M_ATT; break;
		case 12: j = M_FWD; break;
		case 13: j = M_REPLY; break;
		case 23: j = M_CMID; break;
		default: j = M_N; break;
		}
		if (j < M_N && memcmp(key.p, mkey[j].k, key.n) == 0) {
			if (v[j].t == JSON_NONE)
				v[j] = val;
			continue;
		}
		if (memchr(key.p, '\\', key.n) == NULL)
			continue;	/* no escape: no other name it could be */
		for (j = 0; j < M_N; j++)
			if (v[j].t == JSON_NONE && json_str_eq(key.p, key.n, mkey[j].k, mkey[j].n))
				v[j] = val;
	}
}

/* Message m of token tree d, as a span of its text (see message_members). */
static void
message_span_members(const json_doc *d, int m, struct jv *v)
{
	struct jv s = json_span(d, m);

	message_members(&s, v);
}

/* Reply: {"cmid":…,"text":…,"uuid":…} from a message-like value. */
static void
write_reply(buf *b, const struct jv *m)
{
	struct jv v[M_N];

	message_members(m, v);
	JW_LIT(b, "{\"cmid\":");
	write_int_or_null(b, &v[M_CMID]);
	JW_LIT(b, ",\"text\":");
	if (v[M_TEXT].t == JSON_STRING)
		write_str(b, &v[M_TEXT]);
	else
		JW_LIT(b, "\"\"");
	JW_LIT(b, ",\"uuid\":");
	write_int_or_null(b, &v[M_FROM]);
	buf_putc(b, '}');
}

/* The message object of a message_new: object.message, or, in the legacy
 * (API < 5.103) shape, the object itself. */
static int
message_of(const json_doc *d, int obj)
{
	int m = GET(d, obj, "message");

	if (m >= 0)
		return m;
	if (GET(d, obj, "peer_id") >= 0)
		return obj;
	return -1;
}

/*
 * "message":{…}}\n — the Message of message members v[], its text (in
 * `text`, unescaped) from offset start, its cmid written as it is or null.
 */
static void
write_message(buf *b, const struct jv *v, size_t start)
{
	const char *cur;
	struct jv e, ty;
	int k, n;

	JW_LIT(b, "\"message\":{\"cmid\":");
	write_int_or_null(b, &v[M_CMID]);
	JW_LIT(b, ",\"text\":");
	jw_str(b, text.p ? text.p + start : "", text.len - start);

	JW_LIT(b, ",\"reply\":");
	if (v[M_REPLY].t == JSON_OBJECT)
		write_reply(b, &v[M_REPLY]);
	else
		jw_null(b);

	JW_LIT(b, ",\"forward\":[");
	n = 0;
	if (v[M_FWD].t == JSON_ARRAY)
		for (cur = NULL; jv_next(&v[M_FWD], &cur, &e, NULL); n++) {
			if (n > 0)
				buf_putc(b, ',');
			write_reply(b, &e);
		}

	JW_LIT(b, "],\"attachments\":[");
	k = 0;
	if (v[M_ATT].t == JSON_ARRAY)
		for (cur = NULL; jv_next(&v[M_ATT], &cur, &e, NULL); ) {
			ty = jv_get(&e, "type", 4);
			if (ty.t != JSON_STRING)
				continue;
			if (k++ > 0)
				buf_putc(b, ',');
			write_str(b, &ty);
		}
#define ATT(lit)	do { if (k++ > 0) buf_putc(b, ','); JW_LIT(b, lit); } while (0)
	if (v[M_GEO].t != JSON_NONE && v[M_GEO].t != JSON_NULL)
		ATT("\"geo\"");
	if (v[M_REPLY].t == JSON_OBJECT)
		ATT("\"reply\"");
	if (n > 0)
		ATT("\"forward\"");
#undef ATT
	JW_LIT(b, "],\"date\":");
	write_int_or_null(b, &v[M_DATE]);
	JW_LIT(b, ",\"payload\":");
	write_payload(b, &v[M_PAYLOAD]);
	JW_LIT(b, ",\"action\":");
	if (v[M_ACTION].t == JSON_OBJECT)
		jw_text(b, v[M_ACTION].p, v[M_ACTION].n, &scratch);
	else
		jw_null(b);
	JW_LIT(b, "}}\n");
}

static enum norm_result
message_new(const json_doc *d, int upd, int evid, int obj, const norm_opts *o,
    buf *b, const char **why)
{
	int m, cmd;
	struct jv v[M_N], *t = &v[M_TEXT], ids[2];
	int64_t from, peer, cmid, group;
	size_t start = 0;

	if ((m = message_of(d, obj)) < 0 || json_type(d, m) != JSON_OBJECT)
		return *why = "message_new without object.message", NORM_REJECT;
	message_span_members(d, m, v);
	if (jv_int64(&v[M_PEER], &peer) == -1)
		return *why = "message_new without an integer object.message.peer_id", NORM_REJECT;
	if (jv_int64(&v[M_FROM], &from) == -1)
		return *why = "message_new without an integer object.message.from_id", NORM_REJECT;
	if (jv_int64(&v[M_CMID], &cmid) == -1)
		return *why = "message_new without an integer object.message.conversation_message_id", NORM_REJECT;
	if (t->t != JSON_NONE && t->t != JSON_STRING && t->t != JSON_NULL)
		return *why = "message_new whose object.message.text is not a string", NORM_REJECT;
	buf_reset(&text);
	if (t->t == JSON_STRING)
		json_unescape_raw(t->p, t->n, &text);

	cmd = is_command(text.p, text.len, o->prefix);
	if (!cmd && text.len > 0 && text.p[0] == '[' &&
	    req_int(d, upd, "group_id", &group) == 0)
		cmd = (start = after_mention(text.p, text.len, group, o->prefix)) > 0;
	if (o->keep != NULL && !keeps(o, cmd ? "command" : "message", 7))
		return NORM_DROP;

	ids[0] = v[M_FROM];
	ids[1] = v[M_PEER];
	write_head(b, cmd ? "command" : "message", -1, d, evid, &from, &peer, ids, o);
	write_message(b, v, start);
	return NORM_EVENT;
}

static enum norm_result
message_event(const json_doc *d, int evid, int obj, const norm_opts *o,
    buf *b, const char **why)
{
	int64_t user, peer, v;
	int beid, payload, cmid;
	struct jv pv;

	if (req_int(d, obj, "user_id", &user) == -1)
		return *why = "message_event without an integer object.user_id", NORM_REJECT;
	if (req_int(d, obj, "peer_id", &peer) == -1)
		return *why = "message_event without an integer object.peer_id", NORM_REJECT;
	/* Absent for a press on a non-inline keyboard: the Event says null. */
	cmid = GET(d, obj, "conversation_message_id");
	if (cmid >= 0 && json_type(d, cmid) != JSON_NULL && json_int64(d, cmid, &v) == -1)
		return *why = "message_event whose object.conversation_message_id is not an integer", NORM_REJECT;
	beid = GET(d, obj, "event_id");
	if (json_type(d, beid) != JSON_STRING)
		return *why = "message_event without a string object.event_id", NORM_REJECT;
	payload = GET(d, obj, "payload");
	if (!keeps(o, "button", 6))
		return NORM_DROP;

	write_head(b, "button", -1, d, evid, &user, &peer, NULL, o);
	JW_LIT(b, "\"button\":{\"cmid\":");
	tok_int_or_null(b, d, cmid);
	JW_LIT(b, ",\"beid\":");
	jw_tokstr(b, d, beid, &scratch);
	JW_LIT(b, ",\"payload\":");
	pv = json_span(d, payload);
	write_payload(b, &pv);	/* a string holding JSON: its value */
	JW_LIT(b, "}}\n");
	return NORM_EVENT;
}

static enum norm_result
reaction(const json_doc *d, int evid, int obj, const norm_opts *o,
    buf *b, const char **why)
{
	int64_t user, peer, cmid;
	int rid;

	if (req_int(d, obj, "reacted_id", &user) == -1)
		return *why = "message_reaction_event without an integer object.reacted_id", NORM_REJECT;
	if (req_int(d, obj, "peer_id", &peer) == -1)
		return *why = "message_reaction_event without an integer object.peer_id", NORM_REJECT;
	if (req_int(d, obj, "cmid", &cmid) == -1)
		return *why = "message_reaction_event without an integer object.cmid", NORM_REJECT;
	rid = GET(d, obj, "reaction_id");
	if (!keeps(o, "reaction", 8))
		return NORM_DROP;

	write_head(b, "reaction", -1, d, evid, &user, &peer, NULL, o);
	JW_LIT(b, "\"reaction\":{\"cmid\":");
	jw_int(b, cmid);
	JW_LIT(b, ",\"rid\":");
	tok_int_or_null(b, d, rid);	/* absent when the reaction was removed */
	JW_LIT(b, "}}\n");
	return NORM_EVENT;
}

static buf tname = BUF_INIT;	/* an escaped type's name, unescaped */

/* The update's type (string token ty) as its bytes, unescaped. */
static const char *
type_name(const json_doc *d, int ty, size_t *n)
{
	if (!json_escaped(d, ty))
		return json_raw(d, ty, n);
	buf_reset(&tname);
	json_unescape(d, ty, &tname);
	*n = tname.len;
	return tname.p ? tname.p : "";
}

/* An actor id of object obj, if that member is an integer. */
static int
actor(const json_doc *d, int obj, const char *key, int64_t *v)
{
	return json_type(d, obj) == JSON_OBJECT && req_int(d, obj, key, v) == 0;
}

/*
 * The user and peer of a v3 type t whose object (the message, for
 * message_edit/reply) is at token obj: *hu, *hp say whether each is there.
 */
static void
v3_ids(const json_doc *d, int obj, const struct evtype *t, int64_t *uuid,
    int *hu, int64_t *bpid, int *hp)
{
	switch (t->user) {
	case EVT_FROM_ID: *hu = actor(d, obj, "from_id", uuid); break;
	case EVT_USER_ID: *hu = actor(d, obj, "user_id", uuid); break;
	case EVT_DELETER_ID: *hu = actor(d, obj, "deleter_id", uuid); break;
	case EVT_LIKER_ID: *hu = actor(d, obj, "liker_id", uuid); break;
	case EVT_REACTED_ID: *hu = actor(d, obj, "reacted_id", uuid); break;
	case EVT_USER_OR_FROM:
		*hu = actor(d, obj, "user_id", uuid) || actor(d, obj, "from_id", uuid);
		break;
	default: *hu = 0; break;
	}
	switch (t->peer) {
	case EVT_PEER_ID: *hp = actor(d, obj, "peer_id", bpid); break;
	case EVT_DIRECT: *hp = *hu; *bpid = *uuid; break;
	default: *hp = 0; break;
	}
}

/* The message of a message_edit/reply: the object itself (or, should VK
 * wrap it as in message_new, object.message); -1 if none. */
static int
edited_message(const json_doc *d, int obj)
{
	int m = GET(d, obj, "message");

	if (json_type(d, m) == JSON_OBJECT)
		return m;
	return json_type(d, obj) == JSON_OBJECT ? obj : -1;
}

/*
 * Every type but the seed's: never rejected, since nothing in it is
 * required. message_edit and message_reply carry a Message, the others
 * VK's object as sent.
 */
static enum norm_result
v3_event(const json_doc *d, int ty, int evid, int obj, const norm_opts *o,
    buf *b, const char **why)
{
	const struct evtype *t;
	const char *name;
	int64_t uuid = 0, bpid = 0;
	int hu, hp, m, j;
	struct jv v[M_N];
	size_t n;

	name = type_name(d, ty, &n);
	if (evt_seed_name(name, n))	/* would pass for an Event of another shape */
		return *why = "\"type\" is the name of an Event, not of a VK update", NORM_REJECT;
	if (!keeps(o, name, n))
		return NORM_DROP;
	t = evt_find(name, n);

	if (t->shape != EVT_MESSAGE) {
		v3_ids(d, obj, t, &uuid, &hu, &bpid, &hp);
		write_head(b, NULL, ty, d, evid, hu ? &uuid : NULL, hp ? &bpid : NULL, NULL, o);
		JW_LIT(b, "\"object\":");
		jw_value(b, d, obj, &scratch);	/* absent → null */
		JW_LIT(b, "}\n");
		return NORM_EVENT;
	}
	m = edited_message(d, obj);
	v3_ids(d, m, t, &uuid, &hu, &bpid, &hp);
	if (m >= 0)
		message_span_members(d, m, v);
	else
		for (j = 0; j < M_N; j++)
			v[j].t = JSON_NONE;
	buf_reset(&text);
	if (v[M_TEXT].t == JSON_STRING)
		json_unescape_raw(v[M_TEXT].p, v[M_TEXT].n, &text);
	write_head(b, NULL, ty, d, evid, hu ? &uuid : NULL, hp ? &bpid : NULL, NULL, o);
	write_message(b, v, 0);
	return NORM_EVENT;
}

int
norm_ids(const json_doc *d, int upd, const norm_opts *o, int64_t *uuid,
    int64_t *bpid)
{
	int ty = GET(d, upd, "type"), obj = GET(d, upd, "object"), m, hu, hp;
	const struct evtype *t;
	const char *name;
	size_t n;

	if (json_streq(d, ty, "message_new", 11)) {
		struct jv v[M_N];

		if ((m = message_of(d, obj)) < 0 ||
		    !(keeps(o, "command", 7) || keeps(o, "message", 7)))
			return 0;
		message_span_members(d, m, v);	/* as norm_update reads it */
		return jv_int64(&v[M_FROM], uuid) == 0 && jv_int64(&v[M_PEER], bpid) == 0;
	}
	if (json_streq(d, ty, "message_event", 13))
		return keeps(o, "button", 6) &&
		    req_int(d, obj, "user_id", uuid) == 0 &&
		    req_int(d, obj, "peer_id", bpid) == 0;
	if (json_streq(d, ty, "message_reaction_event", 22))
		return keeps(o, "reaction", 8) &&
		    req_int(d, obj, "reacted_id", uuid) == 0 &&
		    req_int(d, obj, "peer_id", bpid) == 0;
	if (json_type(d, ty) != JSON_STRING)
		return 0;
	name = type_name(d, ty, &n);
	if (!keeps(o, name, n))
		return 0;	/* no names asked for what is not written */
	t = evt_find(name, n);
	if (t->shape == EVT_MESSAGE)
		obj = edited_message(d, obj);
	v3_ids(d, obj, t, uuid, &hu, bpid, &hp);
	if (!hu)
		*uuid = 0;
	if (!hp)
		*bpid = 0;
	return hu || hp;
}

enum norm_result
norm_update(const json_doc *d, int upd, const norm_opts *o, buf *out,
    const char **why)
{
	int ty, evid, obj, kind;
	size_t mark = out->len;
	enum norm_result r;

	if (json_type(d, upd) != JSON_OBJECT)
		return *why = "not a JSON object", NORM_REJECT;
	if ((ty = GET(d, upd, "type")) < 0)
		return *why = "not a VK update: no \"type\"", NORM_REJECT;
	if (json_type(d, ty) != JSON_STRING)
		return *why = "\"type\" is not a string", NORM_REJECT;
	evid = GET(d, upd, "event_id");
	obj = GET(d, upd, "object");
	kind = json_streq(d, ty, "message_new", 11) ? 1 :
	    json_streq(d, ty, "message_event", 13) ? 2 :
	    json_streq(d, ty, "message_reaction_event", 22) ? 3 : 0;

	if (kind != 0) {
		if (json_type(d, evid) != JSON_STRING)
			return *why = "update without a string \"event_id\"", NORM_REJECT;
		if (json_type(d, obj) != JSON_OBJECT)
			return *why = "update without an \"object\"", NORM_REJECT;
		if (kind == 1)
			r = message_new(d, upd, evid, obj, o, out, why);
		else if (kind == 2)
			r = message_event(d, evid, obj, o, out, why);
		else
			r = reaction(d, evid, obj, o, out, why);
		if (r != NORM_EVENT)
			out->len = mark;
		return r;
	}
	return v3_event(d, ty, evid, obj, o, out, why);
}
