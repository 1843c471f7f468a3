#!/usr/bin/env bats
# vk-normalize, contract v3: every VK event type becomes an Event (the
# golden fixtures types and types-edge), its user and peer from the fields
# vk-event(7)'s table names, names filled online like any other user's.

load helper
load lib-normalize

F="$FIXTURES/normalize"
TOKEN="types-test-token-0b7d2e"

# VK's types and where vk-event(7) says each Event's user and peer come from:
# TYPE USER-FIELD PEER (peer_id: the object's; direct: bpid = the user; -: null)
TABLE='message_new from_id peer_id
message_event user_id peer_id
message_reaction_event reacted_id peer_id
message_edit from_id peer_id
message_reply from_id peer_id
message_typing_state from_id direct
message_allow user_id direct
message_deny user_id direct
message_read from_id peer_id
wall_post_new from_id -
wall_repost from_id -
wall_schedule_post_new from_id -
wall_reply_new from_id -
wall_reply_edit from_id -
wall_reply_restore from_id -
photo_comment_new from_id -
photo_comment_edit from_id -
photo_comment_restore from_id -
video_comment_new from_id -
video_comment_edit from_id -
video_comment_restore from_id -
board_post_new from_id -
board_post_edit from_id -
board_post_restore from_id -
market_comment_new from_id -
market_comment_edit from_id -
market_comment_restore from_id -
wall_reply_delete deleter_id -
photo_comment_delete deleter_id -
video_comment_delete deleter_id -
board_post_delete deleter_id -
market_comment_delete deleter_id -
photo_new user_id -
audio_new - -
video_new - -
wall_schedule_post_delete - -
donut_money_withdraw - -
donut_money_withdraw_error - -
group_join user_id -
group_leave user_id -
user_block user_id -
user_unblock user_id -
group_officers_edit user_id -
group_change_settings user_id -
group_change_photo user_id -
poll_vote_new user_id -
market_order_new user_id -
market_order_edit user_id -
app_payload user_id -
lead_forms_new user_id -
donut_subscription_create user_id -
donut_subscription_prolonged user_id -
donut_subscription_expired user_id -
donut_subscription_cancelled user_id -
donut_subscription_price_changed user_id -
like_add liker_id -
like_remove liker_id -
vkpay_transaction from_id -'

teardown() {
	fake_vk_stop
}

# asked: every id the names lookups asked for, one a line as "METHOD ID",
# sorted (repeats kept)
asked() {
	for m in users.get:user_ids groups.getById:group_ids messages.getConversationsById:peer_ids; do
		param "${m%:*}" "${m#*:}" | tr , '\n' | grep . | sed "s/^/${m%:*} /"
	done | sort
}

@test "types: a realistic update of each of VK's 58 types comes out as the golden file says, one Event each" {
	run --separate-stderr vk-normalize --offline "$F/types.in.ndjson"
	assert_success
	assert_equal "$stderr" ""
	diff -u "$F/types.out.ndjson" <(printf '%s\n' "$output")
	# the fixture holds every type of the table once, in its order
	assert_equal "$(jq -r .type "$F/types.in.ndjson" | paste -sd' ')" "$(cut -d' ' -f1 <<< "$TABLE" | paste -sd' ')"
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_type | paste -sd' ')" \
		"$(cut -d' ' -f1 <<< "$TABLE" | sed 's/^message_new$/command/; s/^message_event$/button/; s/^message_reaction_event$/reaction/' | paste -sd' ')"
}

@test "types: each Event's user and peer are the ids the table names; object is VK's object as sent, message for edits and replies" {
	vk-normalize --offline "$F/types.in.ndjson" > "$BATS_TEST_TMPDIR/out"
	paste -d'\n' "$F/types.in.ndjson" "$BATS_TEST_TMPDIR/out" > "$BATS_TEST_TMPDIR/pairs"
	n=0
	while read -r type ufield psrc; do
		n=$((n + 1))
		raw=$(sed -n "$((2 * n - 1))p" "$BATS_TEST_TMPDIR/pairs")
		ev=$(sed -n "$((2 * n))p" "$BATS_TEST_TMPDIR/pairs")
		assert_equal "$(jq -r .type <<< "$raw")" "$type"
		obj=$(jq -c 'if .type == "message_new" then .object.message else .object end' <<< "$raw")
		if [ "$ufield" = - ]; then want_u=null; else want_u=$(jq -c --arg k "$ufield" '.[$k]' <<< "$obj"); fi
		case $psrc in
		peer_id) want_p=$(jq -c .peer_id <<< "$obj") ;;
		direct) want_p=$want_u ;;
		-) want_p=null ;;
		esac
		assert_equal "$type user $(jq -c '.user.uuid // null' <<< "$ev")" "$type user $want_u"
		assert_equal "$type peer $(jq -c '.peer.bpid // null' <<< "$ev")" "$type peer $want_p"
		[ "$want_u" = null ] || [ "$(jq -c '.user | keys_unsorted' <<< "$ev")" = '["uuid","name","firstname","lastname","nick"]' ]
		[ "$want_p" = null ] || [ "$(jq -c '.peer | keys_unsorted' <<< "$ev")" = '["bpid","cid","name"]' ]
		case $type in
		message_new|message_event|message_reaction_event) ;;
		message_edit|message_reply)
			assert_equal "$(jq -c keys_unsorted <<< "$ev")" '["event_type","event_id","user","peer","message"]'
			assert_equal "$(jq -c '[.message.cmid, .message.text]' <<< "$ev")" "$(jq -c '[.conversation_message_id, .text]' <<< "$obj")" ;;
		*)
			assert_equal "$(jq -c keys_unsorted <<< "$ev")" '["event_type","event_id","user","peer","object"]'
			assert_equal "$(jq -c .object <<< "$ev")" "$(jq -c .object <<< "$raw")" ;;
		esac
	done <<< "$TABLE"
	assert_equal "$n" 58
}

@test "types: an actor absent, null, a string or a fraction gives null and the Event is written; new types follow the fallback; a raw type named like an Event is rejected" {
	run --separate-stderr vk-normalize --offline "$F/types-edge.in.ndjson"
	assert_failure 1
	assert_equal "$stderr" "vk-normalize: $F/types-edge.in.ndjson: line 16: \"type\" is the name of an Event, not of a VK update
vk-normalize: 23 lines read, 22 events written, 1 rejected, 0 dropped (types left out by --event-types and failed poll replies)"
	diff -u "$F/types-edge.out.ndjson" <(printf '%s\n' "$output")
	# a type VK adds: user_id, else from_id, when an integer; peer_id
	assert_line --index 5 --partial '"event_type":"donut_gift_new","event_id":"x6","user":{"uuid":206295116,'
	assert_line --index 5 --partial '"peer":{"bpid":2000000005,"cid":5,"name":null},"object":{"user_id":206295116,'
	assert_line --index 7 --partial '"event_type":"future_type","event_id":"x8","user":{"uuid":171882202,'
	# a button payload sent as a JSON string is read like message.payload
	assert_line --index 16 --partial '"button":{"cmid":null,"beid":"b2","payload":42}}'
	assert_line --index 15 --partial '"button":{"cmid":834,"beid":"b1","payload":"not json {"}}'
}

@test "types: online, the actors' names are filled (people and communities) and direct conversations named, batched: each id asked once" {
	fake "{\"token\":\"$TOKEN\"}"
	# (a wide batch window: a slow machine does not split the batch by time)
	run --separate-stderr vk-normalize --stats --batch-window 10000 "$F/types.in.ndjson"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 58
	# every user named: a person by users.get, a community by groups.getById
	assert_equal "$(printf '%s\n' "$output" | jq -r 'select(.user != null and .user.name == null) | .event_type' | wc -l)" 0
	assert_line --index 38 --partial '"event_type":"group_join",'
	assert_line --index 38 --partial '"user":{"uuid":918650328,"name":"Имя918650328 Фамилия918650328","firstname":"Имя918650328","lastname":"Фамилия918650328","nick":"id918650328"},"peer":null,'
	assert_line --index 9 --partial '"event_type":"wall_post_new","event_id":"'
	assert_line --index 9 --partial '"user":{"uuid":-218730916,"name":"Сообщество 218730916","firstname":"Сообщество 218730916","lastname":null,"nick":"club218730916"},"peer":null,'
	# direct conversations are named after the person; chats by their title
	assert_line --index 6 --partial '"event_type":"message_allow",'
	assert_line --index 6 --partial '"peer":{"bpid":918650328,"cid":null,"name":"Имя918650328 Фамилия918650328"}'
	assert_line --index 3 --partial '"peer":{"bpid":2000000002,"cid":2,"name":"Чат 2"}'
	# batched: one execute for the whole file (two when the input came in
	# two reads), asking each id once
	[ "$(wc -l < "$LOG")" -le 2 ]
	[ -z "$(asked | uniq -d)" ]
	assert_equal "$(param users.get user_ids | tr , '\n' | sort -n | paste -sd,)" "50121847,171882202,206295116,485963123,918650328"
	assert_equal "$(param groups.getById group_ids)" 218730916
	assert_equal "$(param messages.getConversationsById peer_ids)" 2000000002
}

@test "types: on a realistic mixed stream the new types' names come from the same lookups: no id asked for more than with the seed's four alone" {
	fake "{\"token\":\"$TOKEN\"}"
	python3 "$REPO_DIR/tests/bench/gen-updates.py" 3000 7 > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-normalize --event-types command,message,button,reaction "$BATS_TEST_TMPDIR/in"
	assert_success
	seed_events=$(printf '%s\n' "$output" | wc -l)
	asked > "$BATS_TEST_TMPDIR/seed-asked"
	: > "$LOG"
	run --separate-stderr vk-normalize "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 3000
	[ "$seed_events" -lt 2900 ]
	# the same ids, each asked for once (the rest are cache hits)
	asked | diff -u "$BATS_TEST_TMPDIR/seed-asked" -
	[ -z "$(asked | uniq -d)" ]
	[ "$(wc -l < "$BATS_TEST_TMPDIR/seed-asked")" -gt 200 ]
	# and the new types' users are named too
	assert_equal "$(printf '%s\n' "$output" | jq -r 'select(.user != null and .user.name == null) | .event_id' | wc -l)" 0
	[ "$(printf '%s\n' "$output" | jq -r 'select(.object != null and .user != null) | .event_id' | wc -l)" -gt 10 ]
}

@test "types: --event-types writes the named ones, counts the rest as dropped and asks no names for them; a misspelt name is said with the nearest" {
	run --separate-stderr vk-normalize --offline --event-types group_join,command "$F/types.in.ndjson"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_type | paste -sd,)" "command,group_join"
	assert_equal "$stderr" "vk-normalize: 58 lines read, 2 events written, 0 rejected, 56 dropped (types left out by --event-types and failed poll replies)"
	run --separate-stderr vk-normalize --offline -q --event-types reaction "$F/types.in.ndjson"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_type)" reaction
	# misspelt, or a raw type that never is an event_type: said, not fatal
	run --separate-stderr vk-normalize --offline -q --event-types comand,group_jion,message_new "$F/types.in.ndjson"
	assert_success
	assert_output ""
	assert_equal "$stderr" 'vk-normalize: --event-types: "comand" is no event_type vk-normalize knows (nearest: command)
vk-normalize: --event-types: "group_jion" is no event_type vk-normalize knows (nearest: group_join)
vk-normalize: --event-types: "message_new" is never an event_type (message_new gives command or message, message_event button, message_reaction_event reaction)'
	# online: only the kept Events' ids are asked for
	fake "{\"token\":\"$TOKEN\"}"
	run --separate-stderr vk-normalize --event-types like_add,group_leave "$F/types.in.ndjson"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r .user.name | paste -sd,)" "Имя171882202 Фамилия171882202,Имя171882202 Фамилия171882202"
	assert_equal "$(param users.get user_ids)" 171882202
	assert_equal "$(jq -c .calls "$LOG")" '["users.get"]'
}
