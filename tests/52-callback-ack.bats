#!/usr/bin/env bats
# vk-callback --ack: ok only once vk-route acknowledged the event; 503 after the timeout.

load helper
load lib-callback

setup() {
	export VK_CALLBACK_SECRET="$CB_SECRET" VK_GROUP_ID=42
	unset VK_CALLBACK_CONFIRM
	T=$BATS_TEST_TMPDIR
	mkfifo "$T/ack" "$T/pipe" "$T/stuck"
}

teardown() {
	cb_teardown
	[ -z "${ROUTE_PID:-}" ] || kill -KILL "$ROUTE_PID" 2>/dev/null || true
	[ -z "${READER_PID:-}" ] || kill -KILL "$READER_PID" 2>/dev/null || true
	local p
	for p in ${CURLS:-}; do kill -KILL "$p" 2>/dev/null || true; done
}

# pipeline ROUTE_ARGS -- CB_ARGS: vk-callback --ack $T/ack CB_ARGS | vk-route --ack $T/ack ROUTE_ARGS
pipeline() {
	local r=()
	while [ "$1" != -- ]; do r+=("$1"); shift; done
	shift
	vk-route --ack "$T/ack" "${r[@]}" <"$T/pipe" 2>"$T/route.err" &
	ROUTE_PID=$!
	CB_SINK="$T/pipe" cb_start --ack "$T/ack" "$@"
}

# post_bg NAME BODY: POST in the background; status to $T/NAME.code, headers to $T/NAME.h.
post_bg() {
	curl -s -m 60 -o /dev/null -D "$T/$1.h" -w '%{http_code}' --data-binary "$2" \
		"http://127.0.0.1:$CB_PORT/" >"$T/$1.code.tmp" && mv "$T/$1.code.tmp" "$T/$1.code" &
	CURLS="${CURLS:-} $!"
}

answered() { [ -s "$T/$1.code" ]; }

@test "ok is held until vk-route acknowledged the event, and comes then" {
	pipeline -e '.event_id == "e2" -> file:'"$T/stuck" -e '* -> file:'"$T/live.ndjson" -- -v
	post "$(event e1)"
	assert_equal "$code" 200
	assert_equal "$(cat "$T/live.ndjson" | jq -r .event_id)" e1
	post_bg two "$(event e2)"
	wait_until 10 lines_at_least 2 "$T/live.ndjson"
	post_bg three "$(event e3)"
	# e3 is delivered, but the ack of e2 (and so of e3) waits for the stuck FIFO.
	wait_until 10 lines_at_least 3 "$T/live.ndjson"
	sleep 0.5	# room for a wrong ok to show up
	run ! answered two
	run ! answered three
	cat "$T/stuck" >"$T/stuck.out" &
	READER_PID=$!
	wait_until 10 answered two
	wait_until 10 answered three
	assert_equal "$(cat "$T/two.code") $(cat "$T/three.code")" "200 200"
	assert_equal "$(jq -r .event_id "$T/stuck.out")" e2
	# A resend of an acknowledged event: ok at once, not written again.
	post "$(event e2)"
	assert_equal "$code" 200
	cb_stop
	wait "$ROUTE_PID" || true
	ROUTE_PID=
	assert_equal "$(ids "$T/live.ndjson")" "e1 e2 e3"
	assert_equal "$(ids "$T/stuck.out")" e2
}

@test "an event not acknowledged in time: 503 with Retry-After; VK's resend gets ok once it is" {
	pipeline --dedup 1000 -e '.event_id == "e1" -> file:'"$T/stuck" -e 'else -> file:'"$T/live.ndjson" -- --ack-timeout 4
	post "$(event e1)"
	assert_equal "$code" 503
	grep -qi '^retry-after: [0-9]' "$HDRS"
	# Other events are not held back by it... but their ack comes after e1's.
	post_bg two "$(event e2)"
	wait_until 10 lines_at_least 1 "$T/live.ndjson"
	cat "$T/stuck" >"$T/stuck.out" &
	READER_PID=$!
	wait_until 10 answered two
	assert_equal "$(cat "$T/two.code")" 200
	# The resend: ok. It was written again, since a line never acknowledged
	# may have been lost downstream; vk-route --dedup drops the copy.
	post "$(event e1)"
	assert_equal "$code" 200
	cb_stop
	wait "$ROUTE_PID" || true
	ROUTE_PID=
	assert_equal "$(ids "$T/stuck.out")" e1
	assert_equal "$(ids "$T/live.ndjson")" e2
}

@test "a stop with answers held: each gets 503 (VK resends), exit 0" {
	pipeline -e '* -> file:'"$T/stuck" -e '* -> file:'"$T/live.ndjson" --
	post_bg one "$(event e1)"
	wait_until 10 lines_at_least 1 "$T/live.ndjson"
	cb_stop
	assert_equal "$status" 0
	wait_until 10 answered one
	assert_equal "$(cat "$T/one.code")" 503
}

# ack_line ID: vk-route's ack of ID, appended to the ack file (a regular file: read as it grows).
ack_line() { printf '%s\n' "$1" >>"$T/acks"; }

@test "a late ack of an event's first copy covers that copy, not the lines written after it" {
	: >"$T/acks"
	cb_start --ack "$T/acks" --ack-timeout 3
	post "$(event a)"
	assert_equal "$code" 503	# written, not acknowledged in time
	post_bg b "$(event b)"
	wait_until 10 lines_at_least 2 "$CB_OUT"
	post_bg c "$(event c)"
	wait_until 10 lines_at_least 3 "$CB_OUT"
	post_bg a2 "$(event a)"	# VK's resend: written again (the first copy may be lost)
	wait_until 10 lines_at_least 4 "$CB_OUT"
	assert_equal "$(ids "$CB_OUT")" "a b c a"
	# b and c still wait: an ok for them now would be the bug itself.
	run ! answered b
	run ! answered c
	ack_line a	# vk-route acknowledges the first copy of a, and nothing after it
	wait_until 15 answered b
	wait_until 15 answered c
	wait_until 15 answered a2
	assert_equal "$(cat "$T/b.code") $(cat "$T/c.code") $(cat "$T/a2.code")" "503 503 503"
	# Then b, c and the second a come through: VK's resends get ok at once.
	ack_line b
	ack_line c
	ack_line a
	post "$(event c)"
	assert_equal "$code" 200
	post "$(event a)"
	assert_equal "$code" 200
	assert_equal "$(ids "$CB_OUT")" "a b c a"
}

@test "an ack FIFO that could not be opened again is retried: acks come through once it is back" {
	mkfifo "$T/acks"
	cb_start --ack "$T/acks" --ack-timeout 60
	post_bg one "$(event e1)"
	wait_until 10 lines_at_least 1 "$CB_OUT"
	# The writer goes, and the FIFO with it: reopening it fails.
	exec 7>"$T/acks"
	rm "$T/acks"
	printf 'e1\n' >&7
	exec 7>&-
	wait_until 10 answered one
	assert_equal "$(cat "$T/one.code")" 200
	wait_until 10 grep -q 'acknowledgements wait until it is back' "$CB_ERR"
	post_bg two "$(event e2)"
	wait_until 10 lines_at_least 2 "$CB_OUT"
	# vkpipe makes it again and vk-route comes back: its open finds a reader
	# only if vk-callback tried again.
	mkfifo "$T/acks"
	timeout 20 sh -c 'printf "e2\n" >"$1"' _ "$T/acks"
	wait_until 10 answered two
	assert_equal "$(cat "$T/two.code")" 200
	assert_equal "$(grep -c 'acknowledgements wait until it is back' "$CB_ERR")" 1
	assert_equal "$(ids "$CB_OUT")" "e1 e2"
}
