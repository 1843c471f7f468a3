/* normalize.c - the Event contract: raw update → Event line. */
#include <stdio.h>
#include <string.h>

#include "evtype.h"
#include "jsonw.h"
#include "normalize.h"

#define CHAT_PEER_BASE	2000000000LL

static buf scratch = BUF_INIT;	/* unescaping space for the writer */
static buf text = BUF_INIT;	/* the start of a message text, unescaped */
static buf inner = BUF_INIT;	/* a payload string, unescaped */

/*
 * An object to read members of: a span of validated text and, when
 * json_check() indexed its members (the update itself, ent -1, or one of
 * its objects, ent its entry), that index; else (ix NULL) the text is
 * searched. The whole update is read this way, with no token tree: the
 * members the transform reads are at depth 1 and 2, where the index has
 * them, and what it copies is written from the text.
 */
struct obj {
	struct jv	 v;	/* t = JSON_NONE: absent */
	const struct json_index *ix;
	int		 ent;
};

/* Member key of o (t = JSON_NONE when absent or o is no object). */
static struct jv
get(const struct obj *o, const char *key, size_t klen)
{
	struct jv v;

	if (o->ix != NULL && json_member(o->ix, o->ent, key, klen, &v) != -2)
		return v;
	return jv_get(&o->v, key, klen);
}

#define GET(o, k)	get((o), (k), sizeof(k) - 1)

/* Member key of o as an object to read in turn (its index entry kept). */
static struct obj
sub(const struct obj *o, const char *key, size_t klen)
{
	struct obj c = { { JSON_NONE, NULL, 0 }, NULL, -1 };
	int k;

	if (o->ix != NULL && o->ent == -1 &&
	    (k = json_member(o->ix, -1, key, klen, &c.v)) != -2) {
		if (c.v.t == JSON_OBJECT) {
			c.ix = o->ix;
			c.ent = k;
		}
		return c;
	}
	c.v = get(o, key, klen);
	return c;
}

#define SUB(o, k)	sub((o), (k), sizeof(k) - 1)

/* An integer member, required: -1 if absent or not an int64. */
static int
req_int(const struct obj *o, const char *key, int64_t *v)
{
	struct jv m = get(o, key, strlen(key));

	return jv_int64(&m, v);
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

/* A string span of validated text, re-escaped canonically. */
static void
write_str(buf *b, const struct jv *s)
{
	jw_rawstr(b, s->p, s->n, memchr(s->p, '\\', s->n) != NULL, &scratch);
}

/* Any value of validated text, compacted; null when absent. */
static void
write_value(buf *b, const struct jv *v)
{
	if (v->t == JSON_NONE)
		jw_null(b);
	else if (v->t == JSON_STRING)
		write_str(b, v);
	else
		jw_text(b, v->p, v->n, &scratch);
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
 * type is the literal `type`, or else the update's string ty; uuid and bpid
 * are NULL for a null user or peer. spelled, unless NULL, holds the two ids
 * as the update spells them: copied when that is how jw_int writes them.
 */
static void
write_head(buf *b, const char *type, const struct jv *ty, const struct jv *evid,
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
		write_str(b, ty);
		JW_LIT(b, ",\"event_id\":");
	}
	if (evid->t == JSON_STRING)
		write_str(b, evid);
	else
		jw_null(b);	/* only a v3 type gets this far without one */
	if (uuid != NULL) {
		JW_LIT(b, ",\"user\":{\"uuid\":");
		if (spelled == NULL || !copy_int(b, &spelled[0]))
			jw_int(b, *uuid);
		if (!nm.name && !nm.firstname && !nm.lastname && !nm.nick) {
			/* no names (offline, or not known yet): one piece */
			JW_LIT(b, ",\"name\":null,\"firstname\":null,\"lastname\":null,\"nick\":null}");
		} else {
			JW_LIT(b, ",\"name\":");
			write_name(b, nm.name);
			JW_LIT(b, ",\"firstname\":");
			write_name(b, nm.firstname);
			JW_LIT(b, ",\"lastname\":");
			write_name(b, nm.lastname);
			JW_LIT(b, ",\"nick\":");
			write_name(b, nm.nick);
			buf_putc(b, '}');
		}
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
		if (nm.peer_name == NULL) {
			JW_LIT(b, ",\"name\":null},");
		} else {
			JW_LIT(b, ",\"name\":");
			write_name(b, nm.peer_name);
			JW_LIT(b, "},");
		}
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
	if (json_check(inner.p ? inner.p : "", inner.len, NULL, NULL, NULL, 0) == 0)
		jw_text(b, inner.p, inner.len, &scratch);
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

/* Does raw string s[0..n) hold an escape? Keys are short: no call for them. */
static inline int
has_escape(const char *s, size_t n)
{
	size_t k;

	if (n > 32)
		return memchr(s, '\\', n) != NULL;
	for (k = 0; k < n; k++)
		if (s[k] == '\\')
			return 1;
	return 0;
}

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
		/* memcmp of a constant length is compiled inline */
#define IS(lit)	(memcmp(key.p, lit, sizeof(lit) - 1) == 0)
		switch (key.n) {
		case 3: j = IS("geo") ? M_GEO : M_N; break;
		case 4: j = IS("text") ? M_TEXT : IS("date") ? M_DATE : M_N; break;
		case 6: j = IS("action") ? M_ACTION : M_N; break;
		case 7: j = IS("from_id") ? M_FROM : IS("peer_id") ? M_PEER :
		    IS("payload") ? M_PAYLOAD : M_N; break;
		case 11: j = IS("attachments") ? M_ATT : M_N; break;
		case 12: j = IS("fwd_messages") ? M_FWD : M_N; break;
		case 13: j = IS("reply_message") ? M_REPLY : M_N; break;
		case 23: j = IS("conversation_message_id") ? M_CMID : M_N; break;
		default: j = M_N; break;
		}
#undef IS
		if (j < M_N) {
			if (v[j].t == JSON_NONE)
				v[j] = val;
			continue;
		}
		if (!has_escape(key.p, key.n))
			continue;	/* no escape: no other name it could be */
		for (j = 0; j < M_N; j++)
			if (v[j].t == JSON_NONE && json_str_eq(key.p, key.n, mkey[j].k, mkey[j].n))
				v[j] = val;
	}
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
static struct jv
message_of(const struct obj *obj)
{
	struct jv m = GET(obj, "message");

	if (m.t != JSON_NONE)
		return m;
	if (GET(obj, "peer_id").t != JSON_NONE)
		return obj->v;
	return m;
}

/*
 * "message":{…}}\n — the Message of message members v[], its text t[0..tn)
 * (escaped text when raw, else bytes), its cmid written as it is or null.
 */
static void
write_message(buf *b, const struct jv *v, const char *t, size_t tn, int raw)
{
	const char *cur;
	struct jv e, ty;
	int k, n;

	JW_LIT(b, "\"message\":{\"cmid\":");
	write_int_or_null(b, &v[M_CMID]);
	JW_LIT(b, ",\"text\":");
	jw_rawstr(b, t, tn, raw, &scratch);

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
message_new(const struct obj *upd, const struct jv *evid, const struct obj *obj,
    const norm_opts *o, buf *b, const char **why)
{
	int cmd;
	struct jv m, v[M_N], *t = &v[M_TEXT], ids[2];
	int64_t from, peer, cmid, group;
	const char *tp, *up;
	size_t tn, un, used, start = 0;
	int raw;

	if ((m = message_of(obj)).t != JSON_OBJECT)
		return *why = "message_new without object.message", NORM_REJECT;
	message_members(&m, v);
	if (jv_int64(&v[M_PEER], &peer) == -1)
		return *why = "message_new without an integer object.message.peer_id", NORM_REJECT;
	if (jv_int64(&v[M_FROM], &from) == -1)
		return *why = "message_new without an integer object.message.from_id", NORM_REJECT;
	if (jv_int64(&v[M_CMID], &cmid) == -1)
		return *why = "message_new without an integer object.message.conversation_message_id", NORM_REJECT;
	if (t->t != JSON_NONE && t->t != JSON_STRING && t->t != JSON_NULL)
		return *why = "message_new whose object.message.text is not a string", NORM_REJECT;
	/*
	 * What decides the type is at the text's start: a prefix, or a
	 * mention and then a prefix. Unescape only as much as a prefix
	 * takes, unless a mention may start it; write it from its escaped
	 * text but after a mention.
	 */
	tp = "";
	tn = 0;
	raw = 0;
	if (t->t == JSON_STRING) {
		tp = t->p;
		tn = t->n;
		raw = memchr(tp, '\\', tn) != NULL;
	}
	if (raw) {
		buf_reset(&text);
		used = json_unescape_some(tp, tn, strlen(o->prefix), &text);
		if (text.len > 0 && text.p[0] == '[')
			json_unescape_raw(tp + used, tn - used, &text);
		up = text.p;
		un = text.len;
	} else {
		up = tp;
		un = tn;
	}
	cmd = is_command(up, un, o->prefix);
	if (!cmd && un > 0 && up[0] == '[' &&
	    req_int(upd, "group_id", &group) == 0)
		cmd = (start = after_mention(up, un, group, o->prefix)) > 0;
	if (o->keep != NULL && !keeps(o, cmd ? "command" : "message", 7))
		return NORM_DROP;
	if (start > 0) {	/* the text after the mention, all of it unescaped */
		tp = up + start;
		tn = un - start;
		raw = 0;
	}

	ids[0] = v[M_FROM];
	ids[1] = v[M_PEER];
	write_head(b, cmd ? "command" : "message", NULL, evid, &from, &peer, ids, o);
	write_message(b, v, tp, tn, raw);
	return NORM_EVENT;
}

static enum norm_result
message_event(const struct jv *evid, const struct obj *obj, const norm_opts *o,
    buf *b, const char **why)
{
	int64_t user, peer, v;
	struct jv cmid, beid, payload;

	if (req_int(obj, "user_id", &user) == -1)
		return *why = "message_event without an integer object.user_id", NORM_REJECT;
	if (req_int(obj, "peer_id", &peer) == -1)
		return *why = "message_event without an integer object.peer_id", NORM_REJECT;
	/* Absent for a press on a non-inline keyboard: the Event says null. */
	cmid = GET(obj, "conversation_message_id");
	if (cmid.t != JSON_NONE && cmid.t != JSON_NULL && jv_int64(&cmid, &v) == -1)
		return *why = "message_event whose object.conversation_message_id is not an integer", NORM_REJECT;
	beid = GET(obj, "event_id");
	if (beid.t != JSON_STRING)
		return *why = "message_event without a string object.event_id", NORM_REJECT;
	payload = GET(obj, "payload");
	if (!keeps(o, "button", 6))
		return NORM_DROP;

	write_head(b, "button", NULL, evid, &user, &peer, NULL, o);
	JW_LIT(b, "\"button\":{\"cmid\":");
	write_int_or_null(b, &cmid);
	JW_LIT(b, ",\"beid\":");
	write_str(b, &beid);
	JW_LIT(b, ",\"payload\":");
	write_payload(b, &payload);	/* a string holding JSON: its value */
	JW_LIT(b, "}}\n");
	return NORM_EVENT;
}

static enum norm_result
reaction(const struct jv *evid, const struct obj *obj, const norm_opts *o,
    buf *b, const char **why)
{
	int64_t user, peer, cmid;
	struct jv rid;

	if (req_int(obj, "reacted_id", &user) == -1)
		return *why = "message_reaction_event without an integer object.reacted_id", NORM_REJECT;
	if (req_int(obj, "peer_id", &peer) == -1)
		return *why = "message_reaction_event without an integer object.peer_id", NORM_REJECT;
	if (req_int(obj, "cmid", &cmid) == -1)
		return *why = "message_reaction_event without an integer object.cmid", NORM_REJECT;
	rid = GET(obj, "reaction_id");
	if (!keeps(o, "reaction", 8))
		return NORM_DROP;

	write_head(b, "reaction", NULL, evid, &user, &peer, NULL, o);
	JW_LIT(b, "\"reaction\":{\"cmid\":");
	jw_int(b, cmid);
	JW_LIT(b, ",\"rid\":");
	write_int_or_null(b, &rid);	/* absent when the reaction was removed */
	JW_LIT(b, "}}\n");
	return NORM_EVENT;
}

static buf tname = BUF_INIT;	/* an escaped type's name, unescaped */

/* The update's type (string ty) as its bytes, unescaped. */
static const char *
type_name(const struct jv *ty, size_t *n)
{
	if (memchr(ty->p, '\\', ty->n) == NULL) {
		*n = ty->n;
		return ty->p;
	}
	buf_reset(&tname);
	json_unescape_raw(ty->p, ty->n, &tname);
	*n = tname.len;
	return tname.p ? tname.p : "";
}

/* An actor id of object obj, if that member is an integer. */
static int
actor(const struct obj *obj, const char *key, int64_t *v)
{
	return obj->v.t == JSON_OBJECT && req_int(obj, key, v) == 0;
}

/*
 * The user and peer of a v3 type t whose object (the message, for
 * message_edit/reply) is obj: *hu, *hp say whether each is there.
 */
static void
v3_ids(const struct obj *obj, const struct evtype *t, int64_t *uuid,
    int *hu, int64_t *bpid, int *hp)
{
	switch (t->user) {
	case EVT_FROM_ID: *hu = actor(obj, "from_id", uuid); break;
	case EVT_USER_ID: *hu = actor(obj, "user_id", uuid); break;
	case EVT_DELETER_ID: *hu = actor(obj, "deleter_id", uuid); break;
	case EVT_LIKER_ID: *hu = actor(obj, "liker_id", uuid); break;
	case EVT_REACTED_ID: *hu = actor(obj, "reacted_id", uuid); break;
	case EVT_USER_OR_FROM:
		*hu = actor(obj, "user_id", uuid) || actor(obj, "from_id", uuid);
		break;
	default: *hu = 0; break;
	}
	switch (t->peer) {
	case EVT_PEER_ID: *hp = actor(obj, "peer_id", bpid); break;
	case EVT_DIRECT: *hp = *hu; *bpid = *uuid; break;
	default: *hp = 0; break;
	}
}

/* The message of a message_edit/reply: the object itself (or, should VK
 * wrap it as in message_new, object.message); t = JSON_NONE if none. */
static struct obj
edited_message(const struct obj *obj)
{
	struct obj m = SUB(obj, "message");

	if (m.v.t == JSON_OBJECT)
		return m;
	if (obj->v.t == JSON_OBJECT)
		return *obj;
	m.v.t = JSON_NONE;
	return m;
}

/*
 * Every type but the seed's: never rejected, since nothing in it is
 * required. message_edit and message_reply carry a Message, the others
 * VK's object as sent.
 */
static enum norm_result
v3_event(const struct jv *ty, const struct jv *evid, const struct obj *obj,
    const norm_opts *o, buf *b, const char **why)
{
	const struct evtype *t;
	const char *name;
	int64_t uuid = 0, bpid = 0;
	int hu, hp, j;
	struct obj m;
	struct jv v[M_N];
	size_t n;

	name = type_name(ty, &n);
	if (evt_seed_name(name, n))	/* would pass for an Event of another shape */
		return *why = "\"type\" is the name of an Event, not of a VK update", NORM_REJECT;
	if (!keeps(o, name, n))
		return NORM_DROP;
	t = evt_find(name, n);

	if (t->shape != EVT_MESSAGE) {
		v3_ids(obj, t, &uuid, &hu, &bpid, &hp);
		write_head(b, NULL, ty, evid, hu ? &uuid : NULL, hp ? &bpid : NULL, NULL, o);
		JW_LIT(b, "\"object\":");
		write_value(b, &obj->v);	/* absent → null */
		JW_LIT(b, "}\n");
		return NORM_EVENT;
	}
	m = edited_message(obj);
	v3_ids(&m, t, &uuid, &hu, &bpid, &hp);
	if (m.v.t == JSON_OBJECT)
		message_members(&m.v, v);
	else
		for (j = 0; j < M_N; j++)
			v[j].t = JSON_NONE;
	write_head(b, NULL, ty, evid, hu ? &uuid : NULL, hp ? &bpid : NULL, NULL, o);
	if (v[M_TEXT].t == JSON_STRING)
		write_message(b, v, v[M_TEXT].p, v[M_TEXT].n,
		    memchr(v[M_TEXT].p, '\\', v[M_TEXT].n) != NULL);
	else
		write_message(b, v, "", 0, 0);
	return NORM_EVENT;
}

/* The update u as an object to read. */
static struct obj
update_obj(const struct norm_upd *u)
{
	struct obj o = { u->v, u->ix, -1 };

	return o;
}

struct jv
norm_member(const struct norm_upd *u, const char *key, size_t klen)
{
	struct obj upd = update_obj(u);

	return get(&upd, key, klen);
}

/* Is raw string v (t = JSON_STRING) the name n[0..len)? */
static int
str_is(const struct jv *v, const char *n, size_t len)
{
	return v->t == JSON_STRING && json_str_eq(v->p, v->n, n, len);
}

int
norm_ids(const struct norm_upd *u, const norm_opts *o, int64_t *uuid,
    int64_t *bpid)
{
	struct obj upd = update_obj(u), obj = SUB(&upd, "object"), m;
	struct jv ty = GET(&upd, "type");
	const struct evtype *t;
	const char *name;
	int hu, hp;
	size_t n;

	if (str_is(&ty, "message_new", 11)) {
		struct jv mv, v[M_N];

		if ((mv = message_of(&obj)).t == JSON_NONE ||
		    !(keeps(o, "command", 7) || keeps(o, "message", 7)))
			return 0;
		message_members(&mv, v);	/* as norm_update reads it */
		return jv_int64(&v[M_FROM], uuid) == 0 && jv_int64(&v[M_PEER], bpid) == 0;
	}
	if (str_is(&ty, "message_event", 13))
		return keeps(o, "button", 6) &&
		    req_int(&obj, "user_id", uuid) == 0 &&
		    req_int(&obj, "peer_id", bpid) == 0;
	if (str_is(&ty, "message_reaction_event", 22))
		return keeps(o, "reaction", 8) &&
		    req_int(&obj, "reacted_id", uuid) == 0 &&
		    req_int(&obj, "peer_id", bpid) == 0;
	if (ty.t != JSON_STRING)
		return 0;
	name = type_name(&ty, &n);
	if (!keeps(o, name, n))
		return 0;	/* no names asked for what is not written */
	t = evt_find(name, n);
	m = t->shape == EVT_MESSAGE ? edited_message(&obj) : obj;
	v3_ids(&m, t, uuid, &hu, bpid, &hp);
	if (!hu)
		*uuid = 0;
	if (!hp)
		*bpid = 0;
	return hu || hp;
}

enum norm_result
norm_update(const struct norm_upd *u, const norm_opts *o, buf *out,
    const char **why)
{
	struct obj upd = update_obj(u), obj;
	struct jv ty, evid;
	size_t mark = out->len;
	enum norm_result r;
	int kind;

	if (u->v.t != JSON_OBJECT)
		return *why = "not a JSON object", NORM_REJECT;
	if ((ty = GET(&upd, "type")).t == JSON_NONE)
		return *why = "not a VK update: no \"type\"", NORM_REJECT;
	if (ty.t != JSON_STRING)
		return *why = "\"type\" is not a string", NORM_REJECT;
	evid = GET(&upd, "event_id");
	obj = SUB(&upd, "object");
	kind = str_is(&ty, "message_new", 11) ? 1 :
	    str_is(&ty, "message_event", 13) ? 2 :
	    str_is(&ty, "message_reaction_event", 22) ? 3 : 0;

	if (kind != 0) {
		if (evid.t != JSON_STRING)
			return *why = "update without a string \"event_id\"", NORM_REJECT;
		if (obj.v.t != JSON_OBJECT)
			return *why = "update without an \"object\"", NORM_REJECT;
		if (kind == 1)
			r = message_new(&upd, &evid, &obj, o, out, why);
		else if (kind == 2)
			r = message_event(&evid, &obj, o, out, why);
		else
			r = reaction(&evid, &obj, o, out, why);
		if (r != NORM_EVENT)
			out->len = mark;
		return r;
	}
	return v3_event(&ty, &evid, &obj, o, out, why);
}
