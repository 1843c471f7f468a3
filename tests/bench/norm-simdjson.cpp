/*
 * norm-simdjson.cpp - the limit for bench-normalize.sh: vk-normalize
 * --offline's transform (tools/vk-normalize/normalize.c, vk-event(7))
 * written against simdjson's DOM parser, as fast as that library makes it.
 *
 * usage: norm-simdjson [FILE]
 *
 * Reads raw VK updates, one per line, and writes the same Events, byte for
 * byte, as vk-normalize --offline on the benchmark's input (bench-normalize.sh
 * compares the two outputs before it compares times). Lines simdjson refuses
 * (invalid UTF-8, lone surrogates) and long-poll replies are skipped: the
 * benchmark's input has none. Not part of vkpipe: built by the benchmark,
 * only when libsimdjson-dev is installed.
 */
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include <simdjson.h>

using namespace simdjson;

static std::string out;
static const char *prefix = "/!";
static dom::parser inner_parser;

static void
put(std::string_view s)
{
	out.append(s.data(), s.size());
}

/* A JSON string of raw bytes (valid UTF-8: simdjson checked it). */
static void
str(std::string_view s)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, run = 0;

	out.push_back('"');
	for (; i < s.size(); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		out.append(s.data() + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': put("\\\""); break;
		case '\\': put("\\\\"); break;
		case '\b': put("\\b"); break;
		case '\f': put("\\f"); break;
		case '\n': put("\\n"); break;
		case '\r': put("\\r"); break;
		case '\t': put("\\t"); break;
		default: {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			out.append(e, 6);
		}
		}
	}
	out.append(s.data() + run, s.size() - run);
	out.push_back('"');
}

static void
int64(int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	out.append(p, (size_t)(tmp + sizeof(tmp) - p));
}

static void
value(dom::element e)
{
	switch (e.type()) {
	case dom::element_type::OBJECT: {
		bool first = true;

		out.push_back('{');
		for (dom::key_value_pair kv : dom::object(e)) {
			if (!first)
				out.push_back(',');
			first = false;
			str(kv.key);
			out.push_back(':');
			value(kv.value);
		}
		out.push_back('}');
		break;
	}
	case dom::element_type::ARRAY: {
		bool first = true;

		out.push_back('[');
		for (dom::element x : dom::array(e)) {
			if (!first)
				out.push_back(',');
			first = false;
			value(x);
		}
		out.push_back(']');
		break;
	}
	case dom::element_type::STRING: str(std::string_view(e)); break;
	case dom::element_type::INT64: int64(int64_t(e)); break;
	case dom::element_type::UINT64: {
		char tmp[24];
		int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)uint64_t(e));

		out.append(tmp, (size_t)n);
		break;
	}
	case dom::element_type::DOUBLE: {
		char tmp[32];
		int n = snprintf(tmp, sizeof(tmp), "%.17g", double(e));

		out.append(tmp, (size_t)n);
		break;
	}
	case dom::element_type::BOOL: put(bool(e) ? "true" : "false"); break;
	case dom::element_type::NULL_VALUE: put("null"); break;
	}
}

/* Member k of an object, or an element whose error() is set. */
static simdjson_result<dom::element>
get(dom::element o, std::string_view k)
{
	if (!o.is_object())
		return NO_SUCH_FIELD;
	return dom::object(o)[k];
}

static bool
int_of(simdjson_result<dom::element> e, int64_t *v)
{
	return !e.error() && e.is_int64() && e.get_int64().get(*v) == SUCCESS;
}

static void
int_or_null(simdjson_result<dom::element> e)
{
	int64_t v;

	if (int_of(e, &v))
		int64(v);
	else
		put("null");
}

static void
head(const char *type, std::string_view evid, int64_t uuid, int64_t bpid)
{
	put("{\"event_type\":\"");
	put(type);
	put("\",\"event_id\":");
	str(evid);
	put(",\"user\":{\"uuid\":");
	int64(uuid);
	put(",\"name\":null,\"firstname\":null,\"lastname\":null,\"nick\":null},\"peer\":{\"bpid\":");
	int64(bpid);
	put(",\"cid\":");
	if (bpid > 2000000000LL)
		int64(bpid - 2000000000LL);
	else
		put("null");
	put(",\"name\":null},");
}

static void
reply(dom::element m)
{
	auto t = get(m, "text");

	put("{\"cmid\":");
	int_or_null(get(m, "conversation_message_id"));
	put(",\"text\":");
	if (!t.error() && t.is_string())
		str(std::string_view(t.value_unsafe()));
	else
		put("\"\"");
	put(",\"uuid\":");
	int_or_null(get(m, "from_id"));
	out.push_back('}');
}

static bool
is_command(std::string_view s)
{
	const unsigned char *p = (const unsigned char *)prefix;

	while (*p) {
		size_t k = 1;

		while (p[k] && (p[k] & 0xC0) == 0x80)
			k++;
		if (s.size() >= k && memcmp(s.data(), p, k) == 0)
			return true;
		p += k;
	}
	return false;
}

static size_t
after_mention(std::string_view s, int64_t g)
{
	size_t i, k;
	char id[24];

	if (s.empty() || s[0] != '[' || g <= 0)
		return 0;
	if (s.size() > 5 && s.compare(0, 5, "[club") == 0)
		i = 5;
	else if (s.size() > 7 && s.compare(0, 7, "[public") == 0)
		i = 7;
	else
		return 0;
	k = (size_t)snprintf(id, sizeof(id), "%lld|", (long long)g);
	if (s.size() - i < k || s.compare(i, k, id) != 0)
		return 0;
	size_t close = s.find(']', i + k);
	if (close == std::string_view::npos)
		return 0;
	i = close + 1;
	if (i < s.size() && (s[i] == ',' || s[i] == ':'))
		i++;
	while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return is_command(s.substr(i)) ? i : 0;
}

static bool
message_new(dom::element upd, std::string_view evid, dom::element obj)
{
	auto mr = get(obj, "message");
	dom::element m;
	int64_t from, peer, cmid, group;
	std::string_view text;
	size_t start = 0, mark = out.size();
	int k = 0, nfwd = 0;

	if (!mr.error())
		m = mr.value_unsafe();
	else if (!get(obj, "peer_id").error())
		m = obj;
	else
		return false;
	if (!m.is_object())
		return false;
	if (!int_of(get(m, "peer_id"), &peer) || !int_of(get(m, "from_id"), &from) ||
	    !int_of(get(m, "conversation_message_id"), &cmid))
		return false;
	auto t = get(m, "text");
	if (!t.error()) {
		if (t.is_string())
			text = std::string_view(t.value_unsafe());
		else if (!t.is_null())
			return false;
	}
	bool cmd = is_command(text);
	if (!cmd && !text.empty() && text[0] == '[' && int_of(get(upd, "group_id"), &group))
		cmd = (start = after_mention(text, group)) > 0;

	head(cmd ? "command" : "message", evid, from, peer);
	put("\"message\":{\"cmid\":");
	int64(cmid);
	put(",\"text\":");
	str(text.substr(start));
	put(",\"reply\":");
	auto rep = get(m, "reply_message");
	bool has_rep = !rep.error() && rep.is_object();
	if (has_rep)
		reply(rep.value_unsafe());
	else
		put("null");
	put(",\"forward\":[");
	auto fwd = get(m, "fwd_messages");
	if (!fwd.error() && fwd.is_array())
		for (dom::element f : dom::array(fwd.value_unsafe())) {
			if (nfwd++ > 0)
				out.push_back(',');
			reply(f);
		}
	put("],\"attachments\":[");
	auto att = get(m, "attachments");
	if (!att.error() && att.is_array())
		for (dom::element a : dom::array(att.value_unsafe())) {
			auto ty = get(a, "type");

			if (ty.error() || !ty.is_string())
				continue;
			if (k++ > 0)
				out.push_back(',');
			str(std::string_view(ty.value_unsafe()));
		}
	auto geo = get(m, "geo");
	if (!geo.error() && !geo.is_null()) {
		if (k++ > 0)
			out.push_back(',');
		put("\"geo\"");
	}
	if (has_rep) {
		if (k++ > 0)
			out.push_back(',');
		put("\"reply\"");
	}
	if (nfwd > 0) {
		if (k++ > 0)
			out.push_back(',');
		put("\"forward\"");
	}
	put("],\"date\":");
	int_or_null(get(m, "date"));
	put(",\"payload\":");
	auto pl = get(m, "payload");
	if (pl.error())
		put("null");
	else if (!pl.is_string())
		value(pl.value_unsafe());
	else {
		std::string_view s(pl.value_unsafe());
		auto in = inner_parser.parse(padded_string(s));

		if (!in.error())
			value(in.value_unsafe());
		else
			str(s);
	}
	put(",\"action\":");
	auto act = get(m, "action");
	if (!act.error() && act.is_object())
		value(act.value_unsafe());
	else
		put("null");
	put("}}\n");
	(void)mark;
	return true;
}

static bool
message_event(std::string_view evid, dom::element obj)
{
	int64_t user, peer, v;

	if (!int_of(get(obj, "user_id"), &user) || !int_of(get(obj, "peer_id"), &peer))
		return false;
	auto cmid = get(obj, "conversation_message_id");
	if (!cmid.error() && !cmid.is_null() && !int_of(cmid, &v))
		return false;
	auto beid = get(obj, "event_id");
	if (beid.error() || !beid.is_string())
		return false;
	head("button", evid, user, peer);
	put("\"button\":{\"cmid\":");
	int_or_null(cmid);
	put(",\"beid\":");
	str(std::string_view(beid.value_unsafe()));
	put(",\"payload\":");
	auto pl = get(obj, "payload");
	if (pl.error())
		put("null");
	else
		value(pl.value_unsafe());
	put("}}\n");
	return true;
}

static bool
reaction(std::string_view evid, dom::element obj)
{
	int64_t user, peer, cmid;

	if (!int_of(get(obj, "reacted_id"), &user) || !int_of(get(obj, "peer_id"), &peer) ||
	    !int_of(get(obj, "cmid"), &cmid))
		return false;
	head("reaction", evid, user, peer);
	put("\"reaction\":{\"cmid\":");
	int64(cmid);
	put(",\"rid\":");
	int_or_null(get(obj, "reaction_id"));
	put("}}\n");
	return true;
}

static void
update(dom::element upd)
{
	size_t mark = out.size();
	std::string_view type, evid;
	bool ok;

	if (!upd.is_object() || get(upd, "type").get(type) != SUCCESS)
		return;
	if (type != "message_new" && type != "message_event" && type != "message_reaction_event")
		return;
	auto obj = get(upd, "object");
	if (get(upd, "event_id").get(evid) != SUCCESS || obj.error() || !obj.is_object())
		return;
	if (type == "message_new")
		ok = message_new(upd, evid, obj.value_unsafe());
	else if (type == "message_event")
		ok = message_event(evid, obj.value_unsafe());
	else
		ok = reaction(evid, obj.value_unsafe());
	if (!ok)
		out.resize(mark);
}

/* Lines from FILE or standard input, a block at a time, each parsed where
 * it lies: the rest of the block (and the padding after it) pads it. */
#define BLOCK	(1 << 20)
int
main(int argc, char **argv)
{
	static char blk[BLOCK + SIMDJSON_PADDING];
	dom::parser parser;
	size_t have = 0, r;
	const char *p, *e, *nl;
	FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;

	if (argc > 2 || f == NULL) {
		fprintf(stderr, "usage: norm-simdjson [FILE]\n");
		return 2;
	}
	if (parser.allocate(BLOCK) != SUCCESS)
		return 1;
	do {
		r = fread(blk + have, 1, BLOCK - have, f);
		have += r;
		for (p = blk, e = blk + have; p < e; p = nl + 1) {
			dom::element upd;

			if ((nl = (const char *)memchr(p, '\n', (size_t)(e - p))) == NULL) {
				if (r > 0 && p > blk)
					break;	/* the rest comes with the next block */
				nl = e;	/* the last line (or one longer than a block: skipped) */
				if (r > 0)
					continue;
			}
			if (parser.parse(p, (size_t)(nl - p), false).get(upd) == SUCCESS)
				update(upd);
		}
		if (p > e)
			p = e;
		have = (size_t)(e - p);
		memmove(blk, p, have);
		if (out.size() >= 1 << 16 || r == 0) {
			fwrite(out.data(), 1, out.size(), stdout);
			out.clear();
		}
	} while (r > 0);
	return fflush(stdout) == 0 ? 0 : 1;
}
