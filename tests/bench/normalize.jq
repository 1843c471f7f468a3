# normalize.jq - the Event contract (vk-event(7)) as a jq program, offline
# (names null, prefixes "/" and "!"), mentions of the update's community
# before a command included. The benchmark races vk-normalize
# against it, and tests/13-normalize-jq.bats checks both agree byte for byte.
def reply: {cmid: (.conversation_message_id // null), text: (.text // ""),
	uuid: (.from_id // null)};
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
def norm($g):
	if .type == "message_new" then
		(if .object | has("message") then .object.message else .object end) as $m
		| ($m.text // "") as $raw
		| ($raw | command($g)) as $cmd
		| ($cmd // $raw) as $text
		| (($m.reply_message | type) == "object") as $hasreply
		| ($m.fwd_messages // []) as $fwd
		| head(if $cmd != null then "command" else "message" end; $m.from_id; $m.peer_id)
		+ {message: {cmid: $m.conversation_message_id, text: $text,
			reply: (if $hasreply then ($m.reply_message | reply) else null end),
			forward: [$fwd[] | reply],
			attachments: ([($m.attachments // [])[] | .type | strings]
				+ (if $m.geo != null then ["geo"] else [] end)
				+ (if $hasreply then ["reply"] else [] end)
				+ (if ($fwd | length) > 0 then ["forward"] else [] end)),
			date: ($m.date | if type == "number" then . else null end),
			payload: ($m.payload | if type == "string" then (. as $s | try fromjson catch $s) else . end),
			action: ($m.action | if type == "object" then . else null end)}}
	elif .type == "message_event" then
		.object as $o
		| head("button"; $o.user_id; $o.peer_id)
		+ {button: {cmid: ($o.conversation_message_id // null), beid: $o.event_id,
			payload: (if $o | has("payload") then $o.payload else null end)}}
	elif .type == "message_reaction_event" then
		.object as $o
		| head("reaction"; $o.reacted_id; $o.peer_id)
		+ {reaction: {cmid: $o.cmid, rid: ($o.reaction_id // null)}}
	else empty end;
if has("updates") and (has("type") | not) then .updates[] | norm(.group_id) else norm(.group_id) end
