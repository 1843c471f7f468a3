/* setup.c - register the callback server, turn the events on, get the code. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "setup.h"

/* The events vk-normalize turns into Events. */
static const char *const events[] = {
	"message_new", "message_event", "message_reaction_event", NULL
};

/* Prefix e's message with the step, so the user knows which call failed. */
static int
failed(vkapi_err *e, const char *method)
{
	char m[sizeof(e->msg)];

	snprintf(m, sizeof(m), "%s: %.200s", method, e->msg);
	memcpy(e->msg, m, sizeof(m));
	return -1;
}

/* VK's codes are a few letters and digits: print nothing else on a terminal. */
static int
code_ok(const buf *c)
{
	size_t i;

	for (i = 0; i < c->len; i++)
		if (!((c->p[i] >= '0' && c->p[i] <= '9') || (c->p[i] >= 'a' && c->p[i] <= 'z') ||
		    (c->p[i] >= 'A' && c->p[i] <= 'Z')))
			return 0;
	return c->len > 0 && c->len <= 64;
}

/* The id of the community's server whose url is url, or -1. */
static int64_t
find_server(const json_doc *d, int resp, const char *url)
{
	int items = json_get(d, resp, "items", 5), n, i, it;
	int64_t id;

	n = json_type(d, items) == JSON_ARRAY ? json_size(d, items) : 0;
	for (i = 0; i < n; i++) {
		it = json_at(d, items, i);
		if (json_streq(d, json_get(d, it, "url", 3), url, strlen(url)) &&
		    json_int64(d, json_get(d, it, "id", 2), &id) == 0)
			return id;
	}
	return -1;
}

int
setup_run(vkapi *api, const char *group, const char *url, const char *secret,
    FILE *out, vkapi_err *e)
{
	const json_doc *d = &api->doc;
	const char *params[16];
	char sid[32];
	buf code = BUF_INIT;
	int64_t id;
	int resp, k, i, added;

	params[0] = "group_id";
	params[1] = group;
	params[2] = NULL;
	if (vkapi_call(api, "groups.getCallbackServers", params, &resp, e) != VKAPI_OK)
		return failed(e, "groups.getCallbackServers");
	id = find_server(d, resp, url);
	added = id == -1;
	snprintf(sid, sizeof(sid), "%" PRId64, id);
	k = 2;
	if (!added) {
		params[k++] = "server_id";
		params[k++] = sid;
	}
	params[k++] = "url";
	params[k++] = url;
	params[k++] = "title";
	params[k++] = SETUP_TITLE;
	if (secret) {
		params[k++] = "secret_key";
		params[k++] = secret;
	}
	params[k] = NULL;
	if (added) {
		if (vkapi_call(api, "groups.addCallbackServer", params, &resp, e) != VKAPI_OK)
			return failed(e, "groups.addCallbackServer");
		if (json_int64(d, json_get(d, resp, "server_id", 9), &id) == -1) {
			e->status = VKAPI_EBODY;
			e->code = 0;
			snprintf(e->msg, sizeof(e->msg), "no server_id in the reply");
			return failed(e, "groups.addCallbackServer");
		}
		snprintf(sid, sizeof(sid), "%" PRId64, id);
	} else if (vkapi_call(api, "groups.editCallbackServer", params, &resp, e) != VKAPI_OK) {
		return failed(e, "groups.editCallbackServer");
	}
	fprintf(out, "server %s %s: %s (title %s, %s)\n", sid, added ? "added" : "updated",
	    url, SETUP_TITLE, secret ? "with the secret" : "no secret");

	k = 0;
	params[k++] = "group_id";
	params[k++] = group;
	params[k++] = "server_id";
	params[k++] = sid;
	params[k++] = "api_version";
	params[k++] = VKAPI_DEFAULT_VERSION;
	for (i = 0; events[i]; i++) {
		params[k++] = events[i];
		params[k++] = "1";
	}
	params[k] = NULL;
	if (vkapi_call(api, "groups.setCallbackSettings", params, &resp, e) != VKAPI_OK)
		return failed(e, "groups.setCallbackSettings");
	fprintf(out, "events on: message_new, message_event, message_reaction_event "
	    "(API version %s)\n", VKAPI_DEFAULT_VERSION);

	params[2] = NULL;
	if (vkapi_call(api, "groups.getCallbackConfirmationCode", params, &resp, e) !=
	    VKAPI_OK)
		return failed(e, "groups.getCallbackConfirmationCode");
	if (json_type(d, k = json_get(d, resp, "code", 4)) != JSON_STRING ||
	    json_unescape(d, k, &code) == -1 || !code_ok(&code)) {
		buf_free(&code);
		e->status = VKAPI_EBODY;
		e->code = 0;
		snprintf(e->msg, sizeof(e->msg), "no code of letters and digits in the reply");
		return failed(e, "groups.getCallbackConfirmationCode");
	}
	fprintf(out, "confirmation code: %s (run vk-callback with VK_CALLBACK_CONFIRM=%s, "
	    "then press Confirm in the community's Callback API settings)\n",
	    buf_cstr(&code), code.p);
	buf_free(&code);
	return fflush(out) == 0 ? 0 : -1;
}
