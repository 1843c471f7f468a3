/*
 * evtype.h - the event types of the Event contract (vk-event(7), v3): VK's
 * update types, where each one's user and peer come from, and the names an
 * Event's event_type takes. vk-normalize writes Events by this table;
 * vk-route --check and vk-normalize --event-types name types by it.
 */
#ifndef VKPIPE_EVTYPE_H
#define VKPIPE_EVTYPE_H

#include <stddef.h>

/* Where the Event's user comes from: a member of the update's object. */
enum evt_user {
	EVT_NOBODY,		/* user is null */
	EVT_FROM_ID, EVT_USER_ID, EVT_DELETER_ID, EVT_LIKER_ID, EVT_REACTED_ID,
	EVT_USER_OR_FROM	/* user_id, else from_id (a type not in the table) */
};

/* Where its peer comes from. */
enum evt_peer {
	EVT_NO_PEER,		/* peer is null */
	EVT_PEER_ID,		/* the object's (or message's) peer_id */
	EVT_DIRECT		/* the user's direct conversation: bpid = uuid */
};

/* What follows user and peer. */
enum evt_shape {
	EVT_OBJECT,		/* "object": VK's object as sent */
	EVT_MESSAGE,		/* "message": the Message of message_edit/reply */
	EVT_SEED		/* command/message, button, reaction: their own shapes */
};

struct evtype {
	const char	*name;		/* VK's type */
	size_t		 len;
	unsigned char	 user, peer, shape;
};

/* VK's types in vk-event(7)'s order; the four seed Event names after them. */
extern const struct evtype evt_table[];
extern const int evt_nvk;		/* VK's types: evt_table[0..evt_nvk) */
extern const char *const evt_seed_names[4];	/* command, message, button, reaction */
/* For a type not in the table: user_id else from_id, peer_id. */
extern const struct evtype evt_unknown;

/* Is s[0..n) one of the seed's Event names (command, …)? */
int	evt_seed_name(const char *s, size_t n);
/* The entry of VK type s[0..n), or &evt_unknown. */
const struct evtype *evt_find(const char *s, size_t n);
/*
 * What s[0..n) is as an Event's event_type: 1 a name Events carry (a seed
 * name or a VK type under its own name), 0 unknown, -1 a VK type that never
 * is one (message_new, message_event, message_reaction_event: command or
 * message, button, reaction). *near: the known name nearest to s.
 */
int	evt_event_name(const char *s, size_t n, const char **near);

/* The one of cand[0..ncand) nearest to s[0..n) by edit distance. */
const char *evt_nearest(const char *s, size_t n, const char *const *cand, int ncand);

#endif
