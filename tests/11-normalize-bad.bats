#!/usr/bin/env bats
# vk-normalize on bad input: one stderr line per bad line, counted, kept, and the stream goes on.

load helper

F="$FIXTURES/normalize"

@test "bad input: each bad line named with its number and reason; good lines around them still come out" {
	run --separate-stderr vk-normalize "$F/bad.in.ndjson"
	assert_failure 1
	diff -u "$F/bad.out.ndjson" <(printf '%s\n' "$output")
	err() { printf '%s\n' "$stderr" | grep -F -- "$F/bad.in.ndjson: line $1: $2"; }
	err 2 "not JSON: invalid literal at byte 1"
	err 3 "not a JSON object"
	err 4 "not a JSON object"
	err 5 "not JSON: truncated: the line ends inside an object"
	err 6 "not JSON: trailing characters after the JSON value at byte 3"
	err 7 "not JSON: unexpected character at byte 6"
	err 8 "message_new without an integer object.message.peer_id"
	err 9 "message_new without an integer object.message.peer_id"
	err 10 "message_new without an integer object.message.from_id"
	err 11 'update without a string "event_id"'
	err 12 "message_new whose object.message.text is not a string"
	err 13 "message_event without a string object.event_id"
	err 14 "message_reaction_event without an integer object.cmid"
	err 15 'not a VK update: no "type"'
	err 16 '"type" is not a string'
	err 17 "update 2: message_new without object.message"
	err 18 '"updates" is not an array'
	err 19 "message_new without an integer object.message.from_id"
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 19
	assert_equal "$(printf '%s\n' "$stderr" | tail -n 1)" \
		"vk-normalize: 20 lines read, 4 events written, 18 rejected, 0 dropped (types left out by --event-types and failed poll replies)"
}

@test "bad input: --reject keeps every rejected line verbatim (a bad update of a poll response alone), appending" {
	rej="$BATS_TEST_TMPDIR/rejected.ndjson"
	echo '{"earlier":"run"}' > "$rej"
	run vk-normalize --reject "$rej" "$F/bad.in.ndjson"
	assert_failure 1
	{
		echo '{"earlier":"run"}'
		sed -n '2,16p' "$F/bad.in.ndjson"
		echo '{"type":"message_new","event_id":"u2","object":{}}'
		sed -n '18,19p' "$F/bad.in.ndjson"
	} > "$BATS_TEST_TMPDIR/expected"
	diff -u "$BATS_TEST_TMPDIR/expected" "$rej"
	# replaying the rejects after a fix: the same lines, the same verdicts
	run vk-normalize < "$rej"
	assert_failure 1
}

@test "bad input: a line over --max-line is rejected whole, not truncated, and the next line is read" {
	{
		echo '{"type":"message_new","event_id":"a","object":{"message":{"from_id":1,"peer_id":1,"conversation_message_id":1,"text":"short"}}}'
		printf '{"type":"message_new","event_id":"b","object":{"message":{"from_id":1,"peer_id":1,"conversation_message_id":2,"text":"%s"}}}\n' "$(head -c 5000 /dev/zero | tr '\0' x)"
		echo '{"type":"message_new","event_id":"c","object":{"message":{"from_id":1,"peer_id":1,"conversation_message_id":3,"text":"after"}}}'
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-normalize --max-line 1000 --reject "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_id | paste -sd,)" "a,c"
	assert_equal "$(printf '%s\n' "$stderr" | head -n 1)" \
		"vk-normalize: $BATS_TEST_TMPDIR/in: line 2: longer than 1000 bytes (skipped; not kept in the reject file)"
	run vk-normalize --max-line 100000 "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 3
}

@test "bad input: NUL bytes, CR LF line ends and blank lines" {
	printf '{"type":"message_new","event_id":"a","object":{"message":{"from_id":1,"peer_id":1,"conversation_message_id":1,"text":"crlf"}}}\r\n\n   \n{"a":"\0"}\n{"type":"message_new","event_id":"b","object":{"message":{"from_id":1,"peer_id":1,"conversation_message_id":2}}}' > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-normalize < "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_id | paste -sd,)" "a,b"
	assert_equal "$(printf '%s\n' "$stderr" | head -n 1)" "vk-normalize: line 4: not JSON: NUL byte at byte 7"
}

@test "bad input: random bytes never crash it, and every line is accounted for" {
	python3 - "$BATS_TEST_TMPDIR/noise" <<'EOF2'
import random, sys
r = random.Random(7)
good = open(sys.argv[1] + ".good", "w")
with open(sys.argv[1], "wb") as f:
    for i in range(3000):
        k = r.random()
        if k < 0.3:
            f.write(b"x" + bytes(r.getrandbits(8) for _ in range(r.randint(0, 200))).replace(b"\n", b"") + b"\n")
        elif k < 0.6:
            line = b'{"type":"message_new","event_id":"e%d","object":{"message":{"from_id":1,"peer_id":2000000001,"conversation_message_id":%d,"text":"x"}}}' % (i, i)
            cut = r.randint(1, len(line) - 1)
            f.write(line[:cut] + bytes([r.getrandbits(8) | 1]).replace(b"\n", b"") + line[cut:] + b"\n")
        else:
            f.write(b'{"type":"message_reaction_event","event_id":"r%d","object":{"reacted_id":1,"peer_id":1,"cmid":%d}}\n' % (i, i))
EOF2
	run --separate-stderr vk-normalize --reject "$BATS_TEST_TMPDIR/rej" < "$BATS_TEST_TMPDIR/noise"
	[ "$status" -le 1 ]
	read -r lines events rejected dropped < <(printf '%s\n' "$stderr" | tail -n 1 |
		sed -E 's/.*: ([0-9]+) lines read, ([0-9]+) events written, ([0-9]+) rejected, ([0-9]+) dropped.*/\1 \2 \3 \4/')
	assert_equal "$lines" 3000
	assert_equal "$((events + rejected + dropped))" 3000
	assert_equal "$(printf '%s\n' "$output" | grep -c .)" "$events"
	assert_equal "$(wc -l < "$BATS_TEST_TMPDIR/rej")" "$rejected"
	printf '%s\n' "$output" | jq -c . > /dev/null
}
