#!/usr/bin/env bats
# The Event contract's additions (vk-event(7)): message.date, .payload and
# .action; button.cmid null for a non-inline keyboard; commands after a
# mention of this community. Golden fixtures: tests/fixtures/normalize/additions.*

load helper

F="$FIXTURES/normalize"

# ev ID: the Event of that event_id in $output
ev() { printf '%s\n' "$output" | jq -c --arg id "$1" 'select(.event_id == $id)'; }
# kind_text ID: "event_type text" of that Event
kind_text() { printf '%s\n' "$output" | jq -r --arg id "$1" 'select(.event_id == $id) | "\(.event_type) \(.message.text)"'; }

@test "additions: the golden fixture, bad lines named and the stream going on" {
	run --separate-stderr vk-normalize "$F/additions.in.ndjson"
	assert_failure 1
	diff -u "$F/additions.out.ndjson" <(printf '%s\n' "$output")
	assert_equal "$stderr" "vk-normalize: $F/additions.in.ndjson: line 37: message_event whose object.conversation_message_id is not an integer
vk-normalize: $F/additions.in.ndjson: line 38: message_new without an integer object.message.conversation_message_id
vk-normalize: 39 lines read, 37 events written, 2 rejected, 0 dropped (types left out by --event-types and failed poll replies)"
}

@test "additions: a button pressed on a non-inline keyboard (no conversation_message_id) is an Event with cmid null" {
	run vk-normalize <<'EOF2'
{"type":"message_event","event_id":"e82e","group_id":886761559,"object":{"user_id":918650328,"peer_id":918650328,"event_id":"5bba1af2abf1","payload":{"data":"clicked"}}}
{"type":"message_event","event_id":"e82f","group_id":886761559,"object":{"user_id":918650328,"peer_id":918650328,"event_id":"5bba1af2abf2","payload":{"data":"clicked"},"conversation_message_id":833}}
EOF2
	assert_success
	assert_output - <<'EOF2'
{"event_type":"button","event_id":"e82e","user":{"uuid":918650328,"name":null,"firstname":null,"lastname":null,"nick":null},"peer":{"bpid":918650328,"cid":null,"name":null},"button":{"cmid":null,"beid":"5bba1af2abf1","payload":{"data":"clicked"}}}
{"event_type":"button","event_id":"e82f","user":{"uuid":918650328,"name":null,"firstname":null,"lastname":null,"nick":null},"peer":{"bpid":918650328,"cid":null,"name":null},"button":{"cmid":833,"beid":"5bba1af2abf2","payload":{"data":"clicked"}}}
EOF2
}

@test "additions: message.date, and action carried over from a service message (null when absent)" {
	run --separate-stderr vk-normalize "$F/additions.in.ndjson"
	assert_equal "$(ev m1 | jq -c .message.date)" 1709107598
	assert_equal "$(ev d1 | jq -c .message.date)" null
	assert_equal "$(ev d2 | jq -c .message.date)" null
	assert_equal "$(ev a1 | jq -c .message.action)" '{"type":"chat_invite_user","member_id":-190405359}'
	assert_equal "$(ev a2 | jq -c .message.action)" '{"type":"chat_kick_user","member_id":7}'
	assert_equal "$(ev a3 | jq -c .message.action)" '{"type":"chat_title_update","text":"Новое \"имя\""}'
	assert_equal "$(ev a1 | jq -c '[.event_type, .message.text]')" '["message",""]'
	assert_equal "$(ev m1 | jq -c .message.action)" null
}

@test "additions: message.payload is the value its JSON string holds; not JSON stays a string; absent is null" {
	run --separate-stderr vk-normalize "$F/additions.in.ndjson"
	assert_equal "$(ev y1 | jq -c .message.payload)" '{"command":"start"}'
	assert_equal "$(ev y2 | jq -c .message.payload)" '"{\"command\":"'
	assert_equal "$(ev y3 | jq -c .message.payload)" '"go"'
	assert_equal "$(ev y4 | jq -c .message.payload)" 42
	assert_equal "$(ev y5 | jq -c .message.payload)" '[1,{"a":null}]'
	assert_equal "$(ev y6 | jq -c .message.payload)" '""'
	assert_equal "$(ev y7 | jq -c .message.payload)" '{"button":"1"}'
	assert_equal "$(ev y8 | jq -c .message.payload)" null
	assert_equal "$(ev m1 | jq -c .message.payload)" null
	# a hostile string stays one string value, the line stays one JSON object
	assert_equal "$(ev y9 | jq -r '.message.payload | type')" string
	assert_equal "$(ev y9 | jq -c 'keys_unsorted')" '["event_type","event_id","user","peer","message"]'
}

@test "additions: a command after a mention of this community: [club<G>|…] and [public<G>|…], with , and : and white space" {
	run --separate-stderr vk-normalize "$F/additions.in.ndjson"
	assert_equal "$(kind_text m1)" "command /ban 42"
	assert_equal "$(kind_text m2)" "command /ban 42"
	assert_equal "$(kind_text m3)" "command !kick 7"
	assert_equal "$(kind_text m4)" "command /top"
	assert_equal "$(kind_text m5)" "command /roll"
	assert_equal "$(kind_text last)" "command /last"
}

@test "additions: a mention of another community, or one without a prefix after it, changes nothing" {
	run --separate-stderr vk-normalize "$F/additions.in.ndjson"
	assert_equal "$(kind_text m6)" "message [club218730916|@toaster] hello /ban"
	assert_equal "$(kind_text m7)" "message [club999|@other] /ban 42"
	assert_equal "$(kind_text m8)" "message [public2187309160|@other] /ban 42"
	assert_equal "$(kind_text m9)" "message [club218730916|@toaster]"
	assert_equal "$(kind_text m10)" "message [club218730916|@toaster] /ban"	# no group_id
	assert_equal "$(kind_text m11)" "message [id5|Вася] /ban 42"		# a person
	assert_equal "$(kind_text m12)" "message [club218730916|@toaster]; /ban"
	assert_equal "$(kind_text m13)" "message [club218730916|@toaster"
	assert_equal "$(kind_text m15)" "message [club21873091|@toaster] /ban"
	assert_equal "$(kind_text m16)" "command /plain [club218730916|@toaster] stays as it is"
}

@test "additions: --prefix applies after a mention too" {
	input='{"group_id":7,"type":"message_new","event_id":"a","object":{"message":{"from_id":1,"peer_id":2000000001,"conversation_message_id":1,"text":"[club7|bot] §roll"}}}
{"group_id":7,"type":"message_new","event_id":"b","object":{"message":{"from_id":1,"peer_id":2000000001,"conversation_message_id":2,"text":"[club7|bot] /start"}}}'
	run vk-normalize --prefix '§' <<< "$input"
	assert_equal "$(printf '%s\n' "$output" | jq -r '"\(.event_type) \(.message.text)"' | paste -sd,)" "command §roll,message [club7|bot] /start"
}
