# normalize.jq - the Event contract (vk-event(7), v3: every VK type) as a jq
# program, offline (names null, prefixes "/" and "!"), mentions of the
# update's community before a command included. The benchmark races
# vk-normalize against it, and tests/13-normalize-jq.bats checks both agree
# byte for byte. (jq reads numbers as doubles: 1.0 counts as an integer here.)
def int_or_null: if type == "number" and . == floor then . else null end;
def reply: {cmid: (.conversation_message_id | int_or_null),
	text: (.text | if type == "string" then . else "" end), uuid: (.from_id | int_or_null)};
def user($u): if $u == null then null
	else {uuid: $u, name: null, firstname: null, lastname: null, nick: null} end;
def peer($p): if $p == null then null
	else {bpid: $p, cid: (if $p > 2000000000 then $p - 2000000000 else null end),
		name: null} end;
def head($t; $uuid; $bpid):
	{event_type: $t, event_id: .event_id,
	 user: {uuid: $uuid, name: null, firstname: null, lastname: null, nick: null},
	 peer: {bpid: $bpid,
		cid: (if $bpid > 2000000000 then $bpid - 2000000000 else null end),
		name: null}};
def prefixed: startswith("/") or startswith("!");
# The text from the command prefix on, or null: a prefix first, or after a
# mention of community $g ("[club<g>|…]", "[public<g>|…]", then , or : and
# white space).
def command($g):
	if prefixed then .
	elif ($g | type) == "number" and $g > 0 then
		("^\\[(club|public)" + ($g | tostring) + "\\|[^\\]]*\\][,:]?[ \t\n\r]*") as $rx
		| if test($rx) and (sub($rx; "") | prefixed) then sub($rx; "") else null end
	else null end;
def payload: if type == "string" then (. as $s | try fromjson catch $s) else . end;
# The Message of message_new (from the command prefix on) and message_edit/reply.
def message($m; $text):
	(($m.reply_message | type) == "object") as $hasreply
	| ($m.fwd_messages // []) as $fwd
	| {cmid: ($m.conversation_message_id | int_or_null), text: $text,
		reply: (if $hasreply then ($m.reply_message | reply) else null end),
		forward: [$fwd[] | reply],
		attachments: ([($m.attachments // [])[] | .type | strings]
			+ (if $m.geo != null then ["geo"] else [] end)
			+ (if $hasreply then ["reply"] else [] end)
			+ (if ($fwd | length) > 0 then ["forward"] else [] end)),
		date: ($m.date | if type == "number" then . else null end),
		payload: ($m.payload | payload),
		action: ($m.action | if type == "object" then . else null end)};
# Every other type: where its user and peer come from (vk-event(7)'s table).
def v3table: {
	message_edit: ["from_id", "peer_id"], message_reply: ["from_id", "peer_id"],
	message_typing_state: ["from_id", "direct"],
	message_allow: ["user_id", "direct"], message_deny: ["user_id", "direct"],
	message_read: ["from_id", "peer_id"],
	wall_post_new: ["from_id"], wall_repost: ["from_id"], wall_schedule_post_new: ["from_id"],
	wall_reply_new: ["from_id"], wall_reply_edit: ["from_id"], wall_reply_restore: ["from_id"],
	photo_comment_new: ["from_id"], photo_comment_edit: ["from_id"], photo_comment_restore: ["from_id"],
	video_comment_new: ["from_id"], video_comment_edit: ["from_id"], video_comment_restore: ["from_id"],
	board_post_new: ["from_id"], board_post_edit: ["from_id"], board_post_restore: ["from_id"],
	market_comment_new: ["from_id"], market_comment_edit: ["from_id"], market_comment_restore: ["from_id"],
	wall_reply_delete: ["deleter_id"], photo_comment_delete: ["deleter_id"],
	video_comment_delete: ["deleter_id"], board_post_delete: ["deleter_id"],
	market_comment_delete: ["deleter_id"],
	photo_new: ["user_id"], audio_new: [], video_new: [], wall_schedule_post_delete: [],
	donut_money_withdraw: [], donut_money_withdraw_error: [],
	group_join: ["user_id"], group_leave: ["user_id"], user_block: ["user_id"],
	user_unblock: ["user_id"], group_officers_edit: ["user_id"],
	group_change_settings: ["user_id"], group_change_photo: ["user_id"],
	poll_vote_new: ["user_id"], market_order_new: ["user_id"], market_order_edit: ["user_id"],
	app_payload: ["user_id"], lead_forms_new: ["user_id"],
	donut_subscription_create: ["user_id"], donut_subscription_prolonged: ["user_id"],
	donut_subscription_expired: ["user_id"], donut_subscription_cancelled: ["user_id"],
	donut_subscription_price_changed: ["user_id"],
	like_add: ["liker_id"], like_remove: ["liker_id"], vkpay_transaction: ["from_id"]};
def id($o; $k): if ($o | type) == "object" then ($o[$k] | int_or_null) else null end;
def v3:
	.type as $t
	| (v3table[$t] // null) as $row
	| (if $t == "message_edit" or $t == "message_reply" then
		(if (.object | type) == "object" and (.object.message | type) == "object" then .object.message
		 elif (.object | type) == "object" then .object else null end)
	   else .object end) as $o
	| (if $row == null then (id($o; "user_id") // id($o; "from_id"))
	   elif ($row | length) > 0 then id($o; $row[0]) else null end) as $u
	| (if $row == null or $row[1] == "peer_id" then id($o; "peer_id")
	   elif $row[1] == "direct" then $u else null end) as $p
	| {event_type: $t, event_id: (.event_id | if type == "string" then . else null end),
	   user: user($u), peer: peer($p)}
	+ (if $t == "message_edit" or $t == "message_reply" then
		{message: message($o; ($o.text | if type == "string" then . else "" end))}
	   else {object: .object} end);
def norm($g):
	if .type == "message_new" then
		(if .object | has("message") then .object.message else .object end) as $m
		| ($m.text // "") as $raw
		| ($raw | command($g)) as $cmd
		| head(if $cmd != null then "command" else "message" end; $m.from_id; $m.peer_id)
		+ {message: message($m; $cmd // $raw)}
	elif .type == "message_event" then
		.object as $o
		| head("button"; $o.user_id; $o.peer_id)
		+ {button: {cmid: ($o.conversation_message_id // null), beid: $o.event_id,
			payload: ($o.payload | payload)}}
	elif .type == "message_reaction_event" then
		.object as $o
		| head("reaction"; $o.reacted_id; $o.peer_id)
		+ {reaction: {cmid: $o.cmid, rid: ($o.reaction_id // null)}}
	elif (.type | type) != "string" then empty	# rejected, or a failed poll reply
	elif .type as $t | ["command", "message", "button", "reaction"] | any(. == $t)
	then empty	# rejected: a raw type named like an Event
	else v3 end;
if has("updates") and (has("type") | not) then .updates[] | norm(.group_id) else norm(.group_id) end
