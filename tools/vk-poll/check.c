/* check.c - start-up self-check of the community's Long Poll settings. */
#include <string.h>

#include "buf.h"
#include "json.h"
#include "log.h"
#include "poll.h"

/* The events whose absence users most often take for lost events. */
static const char *const wanted[] = {
	"message_new", "message_event", "message_reaction_event", NULL
};

static int
truthy(const json_doc *d, int t)
{
	int64_t v;

	if (json_type(d, t) == JSON_TRUE)
		return 1;
	return json_type(d, t) == JSON_NUMBER && json_int64(d, t, &v) == 0 && v != 0;
}

/* With -v: the types that are on, each of which arrives as an Event. */
static void
list_on(const json_doc *d, int ev)
{
	buf on = BUF_INIT;
	int k, n = json_size(d, ev), key, cnt = 0;

	for (k = 0, key = json_child(d, ev); k < n; k++, key = json_next(d, key + 1)) {
		if (!truthy(d, key + 1))
			continue;
		if (cnt++)
			buf_puts(&on, ", ");
		json_unescape(d, key, &on);
	}
	log_info("Long Poll events on (%d, each one becomes an Event): %s", cnt,
	    cnt ? buf_cstr(&on) : "none");
	buf_free(&on);
}

void
check_settings(vkapi *api, const char *group, const char *version)
{
	const char *params[] = { "group_id", group, NULL };
	const json_doc *d = &api->doc;
	buf off = BUF_INIT, v = BUF_INIT;
	vkapi_err e;
	int r, t, ev, i;

	if (vkapi_call(api, "groups.getLongPollSettings", params, &r, &e) != VKAPI_OK) {
		if (e.status == VKAPI_EABORT)
			return;
		if (e.status == VKAPI_EAPI)
			log_warn("cannot read the Long Poll settings (VK error %ld: %s); "
			    "going on without the self-check", e.code, e.msg);
		else
			log_warn("cannot read the Long Poll settings (%s); going on "
			    "without the self-check", e.msg);
		return;
	}
	t = json_get(d, r, "is_enabled", 10);
	if (t != -1 && !truthy(d, t))
		log_warn("Long Poll API is disabled for group %s: nothing will arrive "
		    "until it is enabled (community > Manage > API usage > Long Poll API)",
		    group);
	t = json_get(d, r, "api_version", 11);
	if (json_type(d, t) == JSON_STRING) {
		json_unescape(d, t, &v);
		buf_cstr(&v);
		if (strcmp(v.p, version) != 0)
			log_warn("Long Poll API version is %s, vk-poll expects %s: updates "
			    "may have another shape; set %s in community > Manage > "
			    "API usage > Long Poll API", v.p, version, version);
	}
	ev = json_get(d, r, "events", 6);
	if (json_type(d, ev) == JSON_OBJECT) {
		for (i = 0; wanted[i]; i++) {
			t = json_get(d, ev, wanted[i], strlen(wanted[i]));
			if (t != -1 && truthy(d, t))
				continue;
			if (off.len)
				buf_puts(&off, ", ");
			buf_puts(&off, wanted[i]);
		}
		if (off.len)
			log_warn("Long Poll events not enabled: %s: VK will not send them; "
			    "tick them in community > Manage > API usage > Long Poll API > "
			    "Event types", buf_cstr(&off));
		list_on(d, ev);
	}
	log_info("Long Poll settings checked");
	buf_free(&off);
	buf_free(&v);
}
