#!/usr/bin/env bats
# vk-callback: every answer VK can get, and the lines it writes.

load helper
load lib-callback

setup() {
	export VK_CALLBACK_SECRET="$CB_SECRET" VK_GROUP_ID=42
	unset VK_CALLBACK_CONFIRM VK_CALLBACK_SECRET_FILE
}

teardown() {
	cb_teardown
}

@test "confirmation: exactly the code, text/plain, no newline" {
	VK_CALLBACK_CONFIRM=3f1a9c2e cb_start
	post '{"type":"confirmation","group_id":42,"secret":"'"$CB_SECRET"'"}'
	assert_equal "$code" 200
	assert_equal "$(od -An -c "$RESP" | tr -d ' \n')" 3f1a9c2e
	grep -qi '^content-type: text/plain' "$HDRS"
	# --confirm beats the environment; a confirmation writes no line.
	cb_stop
	assert_equal "$status" 0
	VK_CALLBACK_CONFIRM=other cb_start --confirm c0de
	post '{"type":"confirmation","group_id":42,"secret":"'"$CB_SECRET"'"}'
	assert_equal "$(cat "$RESP")" c0de
	cb_stop
	[ ! -s "$CB_OUT" ]
}

@test "confirmation without a code configured is refused, and says why" {
	cb_start
	post '{"type":"confirmation","group_id":42,"secret":"'"$CB_SECRET"'"}'
	assert_equal "$code" 403
	grep -q 'VK_CALLBACK_CONFIRM' "$CB_ERR"
}

@test "an event: ok once its line is written, VK's bytes without the secret" {
	bodies 3
	cb_start
	while IFS= read -r b; do
		post "$b"
		assert_equal "$code" 200
		assert_equal "$(cat "$RESP")" ok
	done <"$BODIES"
	cb_stop
	assert_equal "$status" 0
	diff "$EXPECTED" "$CB_OUT"
	no_secret "$CB_OUT" "$CB_ERR"
}

@test "the same lines as vk-poll writes for the same updates" {
	load lib-poll
	bodies 12 --updates "$BATS_TEST_TMPDIR/updates.ndjson"
	jq -n --arg tok "$POLL_TOKEN" --arg f "$BATS_TEST_TMPDIR/updates.ndjson" \
		'{token: $tok, group_id: 42, batch: 5, idle: 0.2, updates_file: $f, pretty: true}' \
		>"$BATS_TEST_TMPDIR/sc.json"
	fake_start "$BATS_TEST_TMPDIR/sc.json"
	poll --max-events 12
	fake_stop_all
	assert_equal "$status" 0
	cb_start
	send
	cb_stop
	diff "$OUT" "$CB_OUT"
}

@test "a wrong or a missing secret: 403, nothing written, the secret never logged" {
	cb_start -v
	post "$(event e1 42 not-the-secret)"
	assert_equal "$code" 403
	post '{"type":"message_new","event_id":"e2","group_id":42,"object":{}}'
	assert_equal "$code" 403
	# The secret compared is the unescaped string; a prefix is not the secret.
	post "$(event e3 42 "${CB_SECRET%?}")"
	assert_equal "$code" 403
	post "$(event e4 42 "$CB_SECRET"x)"
	assert_equal "$code" 403
	post '{"type":"message_new","event_id":"e5","group_id":42,"secret":42}'
	assert_equal "$code" 403
	# Escaped, it is still the secret.
	post '{"type":"message_new","event_id":"e6","group_id":42,"secret":"\u0063b-SECRET-5f3c9e0d1b2a"}'
	assert_equal "$code" 200
	cb_stop
	assert_equal "$(wc -l <"$CB_OUT")" 1
	assert_equal "$(jq -r .event_id "$CB_OUT")" e6
	assert_equal "$(grep -c 'wrong secret\|no secret' "$CB_ERR")" 5
	grep -q '^vk-callback: 127\.0\.0\.1: 403: wrong secret$' "$CB_ERR"
	no_secret "$CB_OUT" "$CB_ERR"
	run ! grep -F 'not-the-secret' "$CB_ERR"
}

@test "the secret from --secret-file; never on the command line" {
	printf '%s\n' "$CB_SECRET" >"$BATS_TEST_TMPDIR/secret"
	chmod 600 "$BATS_TEST_TMPDIR/secret"
	unset VK_CALLBACK_SECRET
	cb_start --secret-file "$BATS_TEST_TMPDIR/secret"
	post "$(event e1)"
	assert_equal "$code" 200
	post "$(event e2 42 wrong)"
	assert_equal "$code" 403
	cb_stop
	run -2 vk-callback --secret "$CB_SECRET"
	assert_output --partial 'never a command-line argument'
	refute_output --partial "$CB_SECRET"
	run -3 vk-callback --secret-file "$BATS_TEST_TMPDIR/nonexistent"
	assert_output --partial 'cannot read callback secret file'
}

@test "two secret members are refused: either could be the one read" {
	cb_start
	post '{"type":"message_new","event_id":"e1","group_id":42,"secret":"'"$CB_SECRET"'","secret":"x"}'
	assert_equal "$code" 400
	cb_stop
	[ ! -s "$CB_OUT" ]
}

@test "another community's event, or one without group_id: 403" {
	cb_start
	post "$(event e1 43)"
	assert_equal "$code" 403
	post '{"type":"message_new","event_id":"e2","secret":"'"$CB_SECRET"'"}'
	assert_equal "$code" 403
	post "$(event e3 42)"
	assert_equal "$code" 200
	cb_stop
	assert_equal "$(jq -r .event_id "$CB_OUT")" e3
	grep -q '403: group_id 43 is not ours' "$CB_ERR"
	# Without a community set, any group_id goes.
	unset VK_GROUP_ID
	: >"$CB_OUT"
	cb_start
	post "$(event e4 43)"
	assert_equal "$code" 200
}

@test "GET, HEAD, PUT: 405 with Allow: POST" {
	cb_start
	code=$(curl -s -o /dev/null -D "$BATS_TEST_TMPDIR/h" -w '%{http_code}' "http://127.0.0.1:$CB_PORT/")
	assert_equal "$code" 405
	grep -qi '^allow: POST' "$BATS_TEST_TMPDIR/h"
	code=$(curl -s -o /dev/null -I -w '%{http_code}' "http://127.0.0.1:$CB_PORT/")
	assert_equal "$code" 405
	code=$(curl -s -o /dev/null -X PUT --data-binary "$(event e1)" -w '%{http_code}' "http://127.0.0.1:$CB_PORT/")
	assert_equal "$code" 405
	cb_stop
	[ ! -s "$CB_OUT" ]
	assert_equal "$(grep -c ': 405: ' "$CB_ERR")" 3
}

@test "a 2 MiB body: 413, with or without a Content-Length; the server goes on" {
	cb_start
	{ printf '{"type":"message_new","event_id":"big","group_id":42,"secret":"%s","pad":"' "$CB_SECRET"
	  head -c 2097152 /dev/zero | tr '\0' a; printf '"}'; } >"$BATS_TEST_TMPDIR/big"
	code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$BATS_TEST_TMPDIR/big" \
		"http://127.0.0.1:$CB_PORT/")
	assert_equal "$code" 413
	code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
		--data-binary @"$BATS_TEST_TMPDIR/big" "http://127.0.0.1:$CB_PORT/")
	assert_equal "$code" 413
	post "$(event e1)"
	assert_equal "$code" 200
	cb_stop
	assert_equal "$(jq -r .event_id "$CB_OUT")" e1
	# --max-body lowers the limit.
	cb_start --max-body 200
	post "$(event e2)"
	assert_equal "$code" 200
	post "$(event e3 42 "$CB_SECRET")$(printf '%100s' '')"
	assert_equal "$code" 413
}

@test "an event_id over 1024 bytes (what an ack line takes): 400, not written, not remembered" {
	cb_start
	local ok long
	ok=$(head -c 1024 /dev/zero | tr '\0' f)
	long=$(head -c 1025 /dev/zero | tr '\0' f)
	post "$(event "$ok")"
	assert_equal "$code" 200
	post "$(event "$ok")"	# a repeat: remembered, so not written again
	assert_equal "$code" 200
	post "$(event "$long")"
	assert_equal "$code" 400
	# Escapes count as the bytes they stand for: 1025 bytes spelled in 1030.
	post "$(event "\\u0066${long:1}")"
	assert_equal "$code" 400
	# Without a secret, anyone can send them: still refused, memory stays put.
	cb_stop
	unset VK_CALLBACK_SECRET
	cb_start
	event "$(head -c 900000 /dev/zero | tr '\0' x)" >"$BATS_TEST_TMPDIR/huge"
	code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$BATS_TEST_TMPDIR/huge" \
		"http://127.0.0.1:$CB_PORT/")
	assert_equal "$code" 400
	post "$(event e1)"
	assert_equal "$code" 200
	cb_stop
	assert_equal "$(jq -r '.event_id | length' "$CB_OUT" | paste -sd' ' -)" "1024 2"
	assert_equal "$(grep -c ': 400: an event_id over 1024 bytes' "$CB_ERR")" 3
}

@test "garbage: 400 each, the line number of nothing, the stream goes on" {
	cb_start
	for b in 'garbage' '' '[1,2]' '"str"' '{"type":1}' '{"event_id":"x"}' '{"a":1}{"b":2}' \
	    '{"type":"message_new",}' "$(printf '{"type":"message_new","x":"\001"}')" \
	    "$(printf '\xff\xfe')"; do
		post "$b"
		assert_equal "$code" 400
	done
	post "$(event e1)"
	assert_equal "$code" 200
	cb_stop
	assert_equal "$status" 0
	assert_equal "$(wc -l <"$CB_OUT")" 1
	assert_equal "$(grep -c ': 400: ' "$CB_ERR")" 10
}

@test "hostile bytes in strings stay in their strings; the log shows none of them" {
	cb_start -v
	b='{"type":"message_new","event_id":"e\n1\u0000; rm -rf /","group_id":42,"secret":"'"$CB_SECRET"'","object":{"text":"\"}\n{\"type\":\"forged\"}"}}'
	post "$b" -H 'X-Retry-Counter: 1; rm -rf /'
	assert_equal "$code" 200
	post "$b" -H 'X-Retry-Counter: 2'
	assert_equal "$code" 200
	cb_stop
	assert_equal "$(wc -l <"$CB_OUT")" 1
	assert_equal "$(jq -r .object.text "$CB_OUT")" '"}
{"type":"forged"}'
	run ! grep -q 'rm -rf\|forged' "$CB_ERR"
	grep -q 'X-Retry-Counter 2' "$CB_ERR"
}

@test "usage and configuration errors: exit 2 and 3, one line each" {
	run -2 vk-callback --bogus
	run -2 vk-callback --ack-timeout 5
	assert_output --partial 'only goes with --ack'
	run -2 vk-callback --tls-cert x
	run -2 vk-callback --confirm 'a b'
	run -2 vk-callback --max-body 1
	run -2 vk-callback --group-id x
	run -3 vk-callback --listen nonsense
	run -3 vk-callback --listen 256.0.0.1:0
	VK_GROUP_ID=abc run -3 vk-callback --listen 127.0.0.1:0
	run -3 vk-callback --listen 127.0.0.1:0 --ack "$BATS_TEST_TMPDIR/no-such-fifo"
	assert_output --partial 'cannot open the ack channel'
	run -0 vk-callback --help
	assert_output --partial 'usage: vk-callback'
}

@test "SIGTERM: exit 0; a reader that left: exit 0 quietly, like vk-poll" {
	cb_start
	post "$(event e1)"
	cb_stop
	assert_equal "$status" 0
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	CB_SINK="$BATS_TEST_TMPDIR/fifo"
	head -n 1 "$BATS_TEST_TMPDIR/fifo" >"$BATS_TEST_TMPDIR/first" &
	cb_start
	post "$(event e2)"
	assert_equal "$code" 200
	post "$(event e3)" -m 5
	status=0
	wait "$CB_PID" || status=$?
	CB_PID=
	assert_equal "$status" 0
	assert_equal "$(jq -r .event_id "$BATS_TEST_TMPDIR/first")" e2
}

@test "--check: the settings checked, nothing bound, nothing written" {
	run -0 vk-callback --check --listen 127.0.0.1:0 --ack "$BATS_TEST_TMPDIR/not-yet"
	run -3 vk-callback --check --listen nonsense
	run -3 vk-callback --check --secret-file "$BATS_TEST_TMPDIR/nonexistent"
	run -3 vk-callback --check --tls-cert "$BATS_TEST_TMPDIR/x" --tls-key "$BATS_TEST_TMPDIR/y"
	run -2 vk-callback --check --setup https://x/
	VK_CALLBACK_CONFIRM='a b' run -3 vk-callback --check
	[ ! -e "$BATS_TEST_TMPDIR/not-yet" ]
}

@test "--check binds the address and closes it: in use, or not this machine's, fails with why" {
	cb_start
	run -3 vk-callback --check --listen "127.0.0.1:$CB_PORT"
	assert_output --partial "--listen 127.0.0.1:$CB_PORT: cannot listen there: "
	assert_output --partial '(another program listens there)'
	# 192.0.2.1 (TEST-NET-1) is no address of this machine.
	run -3 vk-callback --check --listen 192.0.2.1:8080
	assert_output --partial '(not an address of this machine)'
	# The running server was not disturbed, and the probe left nothing bound.
	post "$(event e1)"
	assert_equal "$code" 200
	cb_stop
	run -0 vk-callback --check --listen "127.0.0.1:$CB_PORT"
	assert_equal "$(jq -r .event_id "$CB_OUT")" e1
}
