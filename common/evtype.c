/* evtype.c - VK's event types and where their Events' user and peer come from. */
#include <string.h>

#include "evtype.h"

#define T(name, user, peer, shape)	{ name, sizeof(name) - 1, user, peer, shape }
#define O(name, user, peer)		T(name, user, peer, EVT_OBJECT)

const struct evtype evt_table[] = {
	T("message_new", EVT_FROM_ID, EVT_PEER_ID, EVT_SEED),
	T("message_event", EVT_USER_ID, EVT_PEER_ID, EVT_SEED),
	T("message_reaction_event", EVT_REACTED_ID, EVT_PEER_ID, EVT_SEED),
	T("message_edit", EVT_FROM_ID, EVT_PEER_ID, EVT_MESSAGE),
	T("message_reply", EVT_FROM_ID, EVT_PEER_ID, EVT_MESSAGE),
	O("message_typing_state", EVT_FROM_ID, EVT_DIRECT),
	O("message_allow", EVT_USER_ID, EVT_DIRECT),
	O("message_deny", EVT_USER_ID, EVT_DIRECT),
	O("message_read", EVT_FROM_ID, EVT_PEER_ID),
	O("wall_post_new", EVT_FROM_ID, EVT_NO_PEER),
	O("wall_repost", EVT_FROM_ID, EVT_NO_PEER),
	O("wall_schedule_post_new", EVT_FROM_ID, EVT_NO_PEER),
	O("wall_reply_new", EVT_FROM_ID, EVT_NO_PEER),
	O("wall_reply_edit", EVT_FROM_ID, EVT_NO_PEER),
	O("wall_reply_restore", EVT_FROM_ID, EVT_NO_PEER),
	O("photo_comment_new", EVT_FROM_ID, EVT_NO_PEER),
	O("photo_comment_edit", EVT_FROM_ID, EVT_NO_PEER),
	O("photo_comment_restore", EVT_FROM_ID, EVT_NO_PEER),
	O("video_comment_new", EVT_FROM_ID, EVT_NO_PEER),
	O("video_comment_edit", EVT_FROM_ID, EVT_NO_PEER),
	O("video_comment_restore", EVT_FROM_ID, EVT_NO_PEER),
	O("board_post_new", EVT_FROM_ID, EVT_NO_PEER),
	O("board_post_edit", EVT_FROM_ID, EVT_NO_PEER),
	O("board_post_restore", EVT_FROM_ID, EVT_NO_PEER),
	O("market_comment_new", EVT_FROM_ID, EVT_NO_PEER),
	O("market_comment_edit", EVT_FROM_ID, EVT_NO_PEER),
	O("market_comment_restore", EVT_FROM_ID, EVT_NO_PEER),
	O("wall_reply_delete", EVT_DELETER_ID, EVT_NO_PEER),
	O("photo_comment_delete", EVT_DELETER_ID, EVT_NO_PEER),
	O("video_comment_delete", EVT_DELETER_ID, EVT_NO_PEER),
	O("board_post_delete", EVT_DELETER_ID, EVT_NO_PEER),
	O("market_comment_delete", EVT_DELETER_ID, EVT_NO_PEER),
	O("photo_new", EVT_USER_ID, EVT_NO_PEER),
	O("audio_new", EVT_NOBODY, EVT_NO_PEER),
	O("video_new", EVT_NOBODY, EVT_NO_PEER),
	O("wall_schedule_post_delete", EVT_NOBODY, EVT_NO_PEER),
	O("donut_money_withdraw", EVT_NOBODY, EVT_NO_PEER),
	O("donut_money_withdraw_error", EVT_NOBODY, EVT_NO_PEER),
	O("group_join", EVT_USER_ID, EVT_NO_PEER),
	O("group_leave", EVT_USER_ID, EVT_NO_PEER),
	O("user_block", EVT_USER_ID, EVT_NO_PEER),
	O("user_unblock", EVT_USER_ID, EVT_NO_PEER),
	O("group_officers_edit", EVT_USER_ID, EVT_NO_PEER),
	O("group_change_settings", EVT_USER_ID, EVT_NO_PEER),
	O("group_change_photo", EVT_USER_ID, EVT_NO_PEER),
	O("poll_vote_new", EVT_USER_ID, EVT_NO_PEER),
	O("market_order_new", EVT_USER_ID, EVT_NO_PEER),
	O("market_order_edit", EVT_USER_ID, EVT_NO_PEER),
	O("app_payload", EVT_USER_ID, EVT_NO_PEER),
	O("lead_forms_new", EVT_USER_ID, EVT_NO_PEER),
	O("donut_subscription_create", EVT_USER_ID, EVT_NO_PEER),
	O("donut_subscription_prolonged", EVT_USER_ID, EVT_NO_PEER),
	O("donut_subscription_expired", EVT_USER_ID, EVT_NO_PEER),
	O("donut_subscription_cancelled", EVT_USER_ID, EVT_NO_PEER),
	O("donut_subscription_price_changed", EVT_USER_ID, EVT_NO_PEER),
	O("like_add", EVT_LIKER_ID, EVT_NO_PEER),
	O("like_remove", EVT_LIKER_ID, EVT_NO_PEER),
	O("vkpay_transaction", EVT_FROM_ID, EVT_NO_PEER),
};
const int evt_nvk = (int)(sizeof(evt_table) / sizeof(evt_table[0]));
const char *const evt_seed_names[4] = { "command", "message", "button", "reaction" };
const struct evtype evt_unknown = { "", 0, EVT_USER_OR_FROM, EVT_PEER_ID, EVT_OBJECT };

const struct evtype *
evt_find(const char *s, size_t n)
{
	int i;

	for (i = 0; i < evt_nvk; i++)
		if (evt_table[i].len == n && memcmp(evt_table[i].name, s, n) == 0)
			return &evt_table[i];
	return &evt_unknown;
}

int
evt_seed_name(const char *s, size_t n)
{
	int i;

	for (i = 0; i < 4; i++)
		if (strlen(evt_seed_names[i]) == n && memcmp(evt_seed_names[i], s, n) == 0)
			return 1;
	return 0;
}

/* Edit distance between a[0..n) and b, capped at 99 (names are short). */
static int
distance(const char *a, size_t n, const char *b)
{
	int row[64], prev, cur, k;
	size_t m = strlen(b), i, j;

	if (n >= 63 || m >= 63)
		return 99;
	for (j = 0; j <= m; j++)
		row[j] = (int)j;
	for (i = 1; i <= n; i++) {
		prev = row[0];
		row[0] = (int)i;
		for (j = 1; j <= m; j++) {
			cur = row[j];
			k = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < k)
				k = row[j] + 1;
			if (row[j - 1] + 1 < k)
				k = row[j - 1] + 1;
			row[j] = k;
			prev = cur;
		}
	}
	return row[m];
}

const char *
evt_nearest(const char *s, size_t n, const char *const *cand, int ncand)
{
	int i, d, bestd = 100;
	const char *best = ncand > 0 ? cand[0] : "";

	for (i = 0; i < ncand; i++)
		if ((d = distance(s, n, cand[i])) < bestd) {
			bestd = d;
			best = cand[i];
		}
	return best;
}

int
evt_event_name(const char *s, size_t n, const char **near)
{
	const char *best = evt_seed_names[0], *name;
	int i, d, bestd = 100;

	for (i = 0; i < evt_nvk + 4; i++) {
		name = i < 4 ? evt_seed_names[i] : evt_table[i - 4].name;
		if (strlen(name) == n && memcmp(name, s, n) == 0) {
			*near = name;
			return i >= 4 && evt_table[i - 4].shape == EVT_SEED ? -1 : 1;
		}
		if (i >= 4 && evt_table[i - 4].shape == EVT_SEED)
			continue;	/* never suggested: no Event carries it */
		if ((d = distance(s, n, name)) < bestd) {
			bestd = d;
			best = name;
		}
	}
	*near = best;
	return 0;
}
