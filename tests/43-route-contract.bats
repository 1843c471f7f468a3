#!/usr/bin/env bats
# vk-route --check knows the Event contract (vk-event(7)): a path no Event
# has, or an event_type compared with a name no Event carries, is a warning
# naming the file, the line and the nearest known name; .object stays open.

load helper

@test "route --check: typos in paths and event_type names are warned with file, line and the nearest name; the rules still load" {
	cat > "$BATS_TEST_TMPDIR/rules.conf" <<'EOF2'
.event_typ == "command" -> stdout
.event_type == "comand" -> stdout
.message.txt =~ "x" -> stdout
.user.uid == 5 -> stdout
.event_type in ["group_join", "group_jion", "message_new"] -> stdout
.event_type == "like_add" -> file:likes-{.usr.name}.ndjson
EOF2
	run --separate-stderr vk-route --check "$BATS_TEST_TMPDIR/rules.conf"
	assert_success
	R="$BATS_TEST_TMPDIR/rules.conf"
	assert_equal "$stderr" "vk-route: $R:1: .event_typ is no path of an Event (vk-event(7)); nearest: .event_type
vk-route: $R:2: .event_type compared with \"comand\", no VK type and no event_type of the seed's; nearest: command
vk-route: $R:3: .message.txt is no path of an Event (vk-event(7)); nearest: .message.text
vk-route: $R:4: .user.uid is no path of an Event (vk-event(7)); nearest: .user.uuid
vk-route: $R:5: .event_type compared with \"group_jion\", no VK type and no event_type of the seed's; nearest: group_join
vk-route: $R:5: .event_type compared with \"message_new\", which is never an event_type (message_new gives command or message, message_event button, message_reaction_event reaction)
vk-route: $R:6: .usr.name is no path of an Event (vk-event(7)); nearest: .user.name"
}

@test "route --check: every path of the contract, VK's objects under .object, payloads and actions pass without a word" {
	cat > "$BATS_TEST_TMPDIR/rules.conf" <<'EOF2'
.event_type == "command" and .user.uuid > 0 and .peer.cid == 2 -> stdout
.event_type in ["message", "button", "reaction", "group_join", "wall_reply_new", "donut_subscription_price_changed"] -> stdout
.message.text =~ "^/ban" and .message.reply.uuid == 1 and .message.forward[0].cmid == 3 -> stdout
.message.attachments contains "photo" and .message.date > 0 and .message.action.type == "chat_invite_user" -> stdout
.message.payload.command == "start" or .button.payload.data == "x" or .button.beid == "b" -> stdout
.reaction.rid == 4 and .reaction.cmid == 1 and .button.cmid == null and .event_id != "" -> stdout
.object.liker_id == 5 and .object.deep[2]."any name" == 1 and .peer.name != null -> stdout
.user.name and .user.firstname and .user.lastname and .user.nick and .peer.bpid -> file:by-type/{.event_type}.ndjson
"group_leave" == .event_type -> stdout
* -> stdout
EOF2
	run --separate-stderr vk-route --check "$BATS_TEST_TMPDIR/rules.conf"
	assert_success
	assert_equal "$stderr" ""
}
