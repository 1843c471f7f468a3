/*
 * event.h - what one Callback API request body says, and the line it becomes.
 *
 * Kept apart from HTTP (server.c) so that every byte sequence a client
 * could send can be fed to it without a network (tests/fuzz/fuzz-callback.c).
 *
 * VK POSTs one JSON object per event: {"type":T,"event_id":E,"v":V,
 * "object":{...},"group_id":G,"secret":S}; the confirmation request is
 * {"type":"confirmation","group_id":G,"secret":S}. The line written is the
 * object exactly as vk-poll writes an update: VK's bytes with the white
 * space outside strings removed, here also without the "secret" member
 * (the secret must never travel down the pipeline).
 */
#ifndef VKCALLBACK_EVENT_H
#define VKCALLBACK_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"

enum ev_kind {
	EV_LINE,	/* an event: the line and its event_id are filled */
	EV_CONFIRM,	/* the confirmation request of a community we serve */
	EV_BAD,		/* not one JSON object with a string "type", or an
			 * event_id longer than an ack line takes (400) */
	EV_NOSECRET,	/* a secret is configured and the body has none (403) */
	EV_BADSECRET,	/* the secret differs (403) */
	EV_GROUP	/* group_id missing or another community's (403) */
};

/*
 * The longest event_id taken: what an ack line carries (ACK_ID_MAX in
 * common/ack.h; server.c checks they agree), so that every id remembered
 * can be acknowledged and the id window is bounded in bytes, not only in ids.
 */
#define EV_ID_MAX	1024

struct ev_conf {
	const char	*secret;	/* NULL: no secret configured */
	size_t		 secret_len;
	int64_t		 group;		/* 0: any community */
};

struct ev_result {
	enum ev_kind	 kind;
	const char	*why;		/* EV_BAD: a short reason, no input bytes */
	int64_t		 group;		/* the body's group_id (-1 if none) */
};

/*
 * Classify the body s[0..n): json_check() and its index of the root's
 * members (no token tree: four members are read, the rest passed on as
 * VK's bytes). For EV_LINE append the line (with its newline) to line and
 * set id to the event_id, unescaped (empty when the event has none).
 * scratch is working space; it held the body's secret and is wiped before
 * return.
 */
void	ev_read(const char *s, size_t n, const struct ev_conf *c, struct ev_result *r,
	    buf *line, buf *id, buf *scratch);

/* Constant-time equality of a[0..an) and the secret b[0..bn): time depends on bn only. */
int	ev_secret_eq(const char *a, size_t an, const char *b, size_t bn);

#endif
