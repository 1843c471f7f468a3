#!/usr/bin/env bats
# vk-normalize against the Event contract: golden NDJSON fixtures.

load helper

F="$FIXTURES/normalize"

@test "normalize: every row of the contract (commands, messages, replies, forwards, attachments, buttons, reactions)" {
	run --separate-stderr vk-normalize "$F/contract.in.ndjson"
	assert_success
	diff -u "$F/contract.out.ndjson" <(printf '%s\n' "$output")
}

@test "normalize: every VK type becomes an Event; --keep-unknown (old command lines) changes nothing" {
	run --separate-stderr vk-normalize "$F/contract.in.ndjson"
	# the one line dropped is a failed poll reply
	assert_equal "$stderr" "vk-normalize: 34 lines read, 33 events written, 0 rejected, 1 dropped (types left out by --event-types and failed poll replies)"
	assert_line '{"event_type":"message_typing_state","event_id":"u1","user":{"uuid":1,"name":null,"firstname":null,"lastname":null,"nick":null},"peer":{"bpid":1,"cid":null,"name":null},"object":{"state":"typing","from_id":1,"to_id":-2}}'
	assert_line '{"event_type":"message_edit","event_id":null,"user":{"uuid":-111,"name":null,"firstname":null,"lastname":null,"nick":null},"peer":{"bpid":222,"cid":null,"name":null},"message":{"cmid":null,"text":"edited","reply":null,"forward":[],"attachments":[],"date":null,"payload":null,"action":null}}'
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/default"
	run --separate-stderr vk-normalize --keep-unknown "$F/contract.in.ndjson"
	assert_success
	diff -u "$BATS_TEST_TMPDIR/default" <(printf '%s\n' "$output")
}

@test "normalize: a whole long-poll response gives its updates in order" {
	run vk-normalize --keep-unknown <<'EOF2'
{"ts":"3","updates":[{"type":"message_new","event_id":"p1","object":{"message":{"from_id":1,"peer_id":1,"conversation_message_id":31,"text":"/a"}}},{"type":"group_join","event_id":"p2","object":{"user_id":1}},{"type":"message_reaction_event","event_id":"p3","object":{"reacted_id":1,"peer_id":1,"cmid":31,"reaction_id":1}}]}
EOF2
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_id | paste -sd,)" "p1,p2,p3"
}

@test "normalize: invalid UTF-8 in the input comes out as U+FFFD, valid UTF-8 as it was" {
	run vk-normalize "$F/utf8.in.ndjson"
	assert_success
	diff -u "$F/utf8.out.ndjson" <(printf '%s\n' "$output")
	# a strict UTF-8 decoder accepts every byte written
	printf '%s\n' "$output" | python3 -c 'import sys; sys.stdin.buffer.read().decode("utf-8", "strict")'
}

@test "normalize: escapes: \\/ and \\uXXXX decoded, emoji surrogate pairs joined, control characters re-escaped" {
	run vk-normalize "$F/contract.in.ndjson"
	assert_line --partial '"text":"Привет 😀 Привет 😀 / \" \\ \t \n \u0001 \u001f '
	assert_line --partial '"text":"/start escaped slash is still a command"'
	assert_line --partial '"event_type":"command","event_id":"e14"'
}

@test "normalize: the real VK payloads captured by other libraries" {
	run --separate-stderr vk-normalize "$F/vk-samples.in.ndjson"
	# the one legacy (API < 5.103) sample has no event_id: rejected, named
	assert_failure 1
	assert_equal "$stderr" "vk-normalize: $F/vk-samples.in.ndjson: line 19: update without a string \"event_id\"
vk-normalize: 26 lines read, 21 events written, 1 rejected, 3 dropped (types left out by --event-types and failed poll replies)"
	diff -u "$F/vk-samples.out.ndjson" <(printf '%s\n' "$output")
}

@test "normalize: keys in the contract's order, every line one compact JSON object" {
	run --separate-stderr vk-normalize "$F/contract.in.ndjson"
	while IFS= read -r line; do
		keys=$(jq -c 'keys_unsorted' <<< "$line")
		case $(jq -r .event_type <<< "$line") in
		command|message) assert_equal "$keys" '["event_type","event_id","user","peer","message"]'
			assert_equal "$(jq -c '.message | keys_unsorted' <<< "$line")" '["cmid","text","reply","forward","attachments","date","payload","action"]' ;;
		button) assert_equal "$keys" '["event_type","event_id","user","peer","button"]'
			assert_equal "$(jq -c '.button | keys_unsorted' <<< "$line")" '["cmid","beid","payload"]' ;;
		reaction) assert_equal "$keys" '["event_type","event_id","user","peer","reaction"]' ;;
		message_edit|message_reply) assert_equal "$keys" '["event_type","event_id","user","peer","message"]'
			assert_equal "$(jq -c '.message | keys_unsorted' <<< "$line")" '["cmid","text","reply","forward","attachments","date","payload","action"]' ;;
		*) assert_equal "$keys" '["event_type","event_id","user","peer","object"]' ;;
		esac
		[ "$(jq -c .user <<< "$line")" = null ] ||
			assert_equal "$(jq -c '.user | keys_unsorted' <<< "$line")" '["uuid","name","firstname","lastname","nick"]'
		[ "$(jq -c .peer <<< "$line")" = null ] ||
			assert_equal "$(jq -c '.peer | keys_unsorted' <<< "$line")" '["bpid","cid","name"]'
	done <<< "$output"
	# compact: no white space outside strings, and a strict JSON library
	# reads each line (python3 rather than jq, which rounds big integers)
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/events"
	python3 - "$BATS_TEST_TMPDIR/events" <<'PY'
import json, re, sys
for line in open(sys.argv[1], encoding="utf-8").read().splitlines():
    json.loads(line)
    outside = re.sub(r'"(?:[^"\\]|\\.)*"', "", line)
    assert not re.search(r"\s", outside), line
PY


}

@test "normalize: --prefix sets the command characters, UTF-8 ones included" {
	input='{"type":"message_new","event_id":"a","object":{"message":{"from_id":1,"peer_id":1,"conversation_message_id":1,"text":"§roll"}}}
{"type":"message_new","event_id":"b","object":{"message":{"from_id":1,"peer_id":1,"conversation_message_id":2,"text":"/start"}}}
{"type":"message_new","event_id":"c","object":{"message":{"from_id":1,"peer_id":1,"conversation_message_id":3,"text":"#tag"}}}'
	run vk-normalize --prefix '#§' <<< "$input"
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_type | paste -sd,)" "command,message,command"
	run vk-normalize <<< "$input"
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_type | paste -sd,)" "message,command,message"
	run vk-normalize --prefix '' <<< "$input"
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_type | paste -sd,)" "message,message,message"
}
