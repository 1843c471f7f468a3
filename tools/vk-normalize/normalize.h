/*
 * normalize.h - one raw VK update in, one Event (vk-event(7)) out.
 *
 * norm_update() reads an update, a value of text json_check() accepted,
 * and appends the Event line (with its newline) to `out`, or says why not.
 * It never touches `out` unless it returns NORM_EVENT, so a rejected
 * update leaves no half-written line behind.
 */
#ifndef VKPIPE_NORMALIZE_H
#define VKPIPE_NORMALIZE_H

#include <stdint.h>

#include "buf.h"
#include "json.h"

enum norm_result {
	NORM_EVENT,	/* an Event was appended */
	NORM_DROP,	/* a type --event-types leaves out, counted */
	NORM_REJECT	/* not an update we can read; *why says why */
};

/*
 * Names of a user and a peer, for the Event's name fields, each already
 * written as a JSON string (quotes and escapes included); NULL = null.
 */
struct norm_names {
	const char	*name, *firstname, *lastname, *nick;
	const char	*peer_name;
};

typedef struct norm_opts {
	const char	*prefix;	/* command prefixes, one UTF-8 character each */
	/* The event_types to write, comma-separated; NULL: all. */
	const char	*keep;
	/* Where names come from; NULL (offline) writes null names. An id of
	 * 0 is no id (the Event's user or peer is null). */
	void		(*names)(void *arg, int64_t uuid, int64_t bpid,
			    struct norm_names *out);
	void		*names_arg;
} norm_opts;

/*
 * An update: a value of validated text, and json_check()'s index of it
 * when it was the root of the text checked (ix NULL: none; then the
 * members are found by reading the text). Both give the same Event.
 */
struct norm_upd {
	struct jv		 v;
	const struct json_index	*ix;
};

/* Member key (klen bytes, unescaped) of the update; t = JSON_NONE if absent. */
struct jv norm_member(const struct norm_upd *u, const char *key, size_t klen);

/* The ids an update's Event will need names for (0: none); 0 when none. */
int	norm_ids(const struct norm_upd *u, const norm_opts *o, int64_t *uuid,
	    int64_t *bpid);

enum norm_result norm_update(const struct norm_upd *u, const norm_opts *o,
	    buf *out, const char **why);

#endif
