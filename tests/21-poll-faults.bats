#!/usr/bin/env bats
# vk-poll under faults: every update exactly once, in order (except the
# documented loss on failed:3), fatal API errors, and a token that never shows.

load helper
load lib-poll

teardown_file() {
	fake_stop_all
}

# fault_case FAULT_JSON [vk-poll args]: 9 updates in batches of 3; the second
# poll gets FAULT; the output must still be ev0000..ev0008, once each, in order.
fault_case() {
	scenario 9 3 "{\"faults\": [$1]}"
	shift
	fake_start
	poll --max-events 9 "$@"
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 0 8)"
}

# The ts of each a_check request, in order.
polled_ts() {
	jq -r 'select(.endpoint == "a_check") | .query.ts' "$FAKE_LOG"
}

@test "faults: HTTP 500 is retried with the same ts" {
	fault_case '{"on": "a_check", "nth": 2, "do": "http500"}'
	run polled_ts
	assert_output "$(printf '100\n103\n103\n106')"
	run cat "$ERR"
	assert_output --regexp '^vk-poll: poll failed: HTTP status 500; retrying in 0\.[0-9] s with the same ts$'
}

@test "faults: a dropped connection is retried with the same ts" {
	fault_case '{"on": "a_check", "nth": 2, "do": "drop"}'
	run polled_ts
	assert_output "$(printf '100\n103\n103\n106')"
}

@test "faults: a reply cut short is retried with the same ts" {
	fault_case '{"on": "a_check", "nth": 2, "do": "truncate"}'
	run polled_ts
	assert_output "$(printf '100\n103\n103\n106')"
}

@test "faults: a body that is not JSON is retried with the same ts" {
	fault_case '{"on": "a_check", "nth": 2, "do": "garbage"}'
	grep -q 'poll failed: reply is not JSON' "$ERR"
	run polled_ts
	assert_output "$(printf '100\n103\n103\n106')"
}

@test "faults: a slow reply within the timeout is waited for" {
	fault_case '{"on": "a_check", "nth": 2, "do": "slow", "delay": 1.2}'
	run cat "$ERR"
	assert_output ''
}

@test "faults: a reply slower than --timeout is retried with the same ts" {
	fault_case '{"on": "a_check", "nth": 2, "do": "slow", "delay": 4}' --timeout 2
	grep -q 'poll failed: .*timed out.*retrying' "$ERR"
	run polled_ts
	assert_output "$(printf '100\n103\n103\n106')"
}

@test "faults: HTTP 404 from the poll server gets a new key, same ts" {
	fault_case '{"on": "a_check", "nth": 2, "do": "http404"}'
	assert_equal "$(requests groups.getLongPollServer)" 2
	run polled_ts
	assert_output "$(printf '100\n103\n103\n106')"
}

@test "faults: a reply with neither ts nor failed gets a new key, same ts" {
	fault_case '{"on": "a_check", "nth": 2, "do": "empty"}'
	assert_equal "$(requests groups.getLongPollServer)" 2
	grep -q 'neither ts and updates nor failed' "$ERR"
}

@test "faults: an unknown failed code gets a new key, same ts" {
	fault_case '{"on": "a_check", "nth": 2, "do": "failed9"}'
	assert_equal "$(requests groups.getLongPollServer)" 2
	grep -q 'replied failed:9' "$ERR"
}

@test "faults: failed:2 gets a new key and server and keeps the ts" {
	fault_case '{"on": "a_check", "nth": 2, "do": "failed2"}'
	assert_equal "$(requests groups.getLongPollServer)" 2
	run jq -r 'select(.endpoint == "a_check") | "\(.query.key) \(.query.ts)"' "$FAKE_LOG"
	assert_output "$(printf 'key1/+&=1 100\nkey1/+&=1 103\nkey2/+&=2 103\nkey2/+&=2 106')"
	# Nothing was lost: no warning.
	run cat "$ERR"
	assert_output ''
}

@test "faults: failed:1 with the same ts keeps the key; nothing lost, nothing marked" {
	fault_case '{"on": "a_check", "nth": 2, "do": "failed1"}' --mark-gaps
	assert_equal "$(requests groups.getLongPollServer)" 1
	run cat "$ERR"
	assert_output ''
}

@test "faults: failed:1 past lost history: the gap is logged and marked" {
	scenario 9 3 '{"faults": [{"on": "a_check", "nth": 2, "do": "failed1", "skip": 2}]}'
	fake_start
	poll --max-events 7 --mark-gaps
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 0 2) gap:failed:1:103:105 $(expect_ids 5 8)"
	run jq -c 'select(.type == "vkpipe_gap")' "$OUT"
	assert_output '{"type":"vkpipe_gap","reason":"failed:1","from_ts":"103","to_ts":105}'
	grep -q 'events may have been lost (VK replied failed:1): ts jumped from "103" to 105' "$ERR"
	assert_equal "$(requests groups.getLongPollServer)" 1
}

@test "faults: failed:3 takes a new key and ts; the loss is logged" {
	scenario 9 3 '{"faults": [{"on": "a_check", "nth": 2, "do": "failed3", "skip": 2}]}'
	fake_start
	poll --max-events 7
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 0 2) $(expect_ids 5 8)"
	run cat "$ERR"
	assert_output 'vk-poll: events may have been lost (VK replied failed:3): ts jumped from "103" to "105"'
	assert_equal "$(requests groups.getLongPollServer)" 2
}

@test "faults: failed:3 with --mark-gaps writes a gap line where the events went missing" {
	scenario 9 3 '{"faults": [{"on": "a_check", "nth": 2, "do": "failed3", "skip": 2}]}'
	fake_start
	poll --max-events 7 --mark-gaps --state "$BATS_TEST_TMPDIR/state"
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 0 2) gap:failed:3:103:105 $(expect_ids 5 8)"
	run jq -r .ts "$BATS_TEST_TMPDIR/state"
	assert_output 109
}

@test "faults: every kind of fault in one stream, every update once and in order" {
	scenario 30 2 '{"faults": [
	    {"on": "a_check", "nth": 2, "do": "http500"},
	    {"on": "a_check", "nth": 4, "do": "drop"},
	    {"on": "a_check", "nth": 6, "do": "garbage"},
	    {"on": "a_check", "nth": 8, "do": "failed2"},
	    {"on": "a_check", "nth": 10, "do": "slow", "delay": 0.3},
	    {"on": "a_check", "nth": 12, "do": "truncate"},
	    {"on": "a_check", "nth": 14, "do": "failed1"},
	    {"on": "a_check", "nth": 16, "do": "empty"},
	    {"on": "a_check", "nth": 18, "do": "http404"},
	    {"on": "a_check", "nth": 20, "do": "failed9"},
	    {"on": "groups.getLongPollServer", "nth": 3, "do": "http500"}]}'
	fake_start
	poll --max-events 30
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 0 29)"
}

@test "faults: getLongPollServer errors are retried, one line per backoff step, growing" {
	unset VKPIPE_BACKOFF_MS	# the documented steps: 0.5 s, doubling
	scenario 3 3 '{"faults": [
	    {"on": "groups.getLongPollServer", "nth": 1, "do": "http500"},
	    {"on": "groups.getLongPollServer", "nth": 2, "do": "api_error", "code": 6,
	     "msg": "Too many requests per second"},
	    {"on": "groups.getLongPollServer", "nth": 3, "do": "api_error", "code": 10,
	     "msg": "Internal server error"}]}'
	fake_start
	poll --max-events 3
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 0 2)"
	run cat "$ERR"
	assert_line --index 0 --regexp 'groups.getLongPollServer failed: HTTP status 500; retrying in 0\.[0-9] s$'
	assert_line --index 1 --regexp 'groups.getLongPollServer failed: VK error 6: Too many requests per second; retrying in (0\.[5-9]|1\.0) s$'
	assert_line --index 2 --regexp 'groups.getLongPollServer failed: VK error 10: Internal server error; retrying in [12]\.[0-9] s$'
	assert_equal "${#lines[@]}" 3
}

@test "fatal: a bad token exits 4 and says to check VK_TOKEN" {
	scenario 3 3
	fake_start
	VK_TOKEN=vk1.a.wrong-token poll
	assert_equal "$status" 4
	run cat "$ERR"
	assert_output 'vk-poll: VK refused the token (error 5: User authorization failed: invalid access_token (4).): check VK_TOKEN or --token-file; it must be a valid community token'
	assert_equal "$(requests a_check)" 0
	[ ! -s "$OUT" ]
}

@test "fatal: a bad group exits 4 and says to check the group id" {
	scenario 3 3
	fake_start
	poll --group-id 43
	assert_equal "$status" 4
	run cat "$ERR"
	assert_output --partial 'VK rejected a parameter (error 100: '
	assert_output --partial 'check the group id 43 (VK_GROUP_ID or --group-id)'
}

# fatal_case CODE MSG: getLongPollServer answers VK error CODE; vk-poll must exit 4.
fatal_case() {
	scenario 3 3 "$(jq -n --argjson c "$1" --arg m "$2" \
	    '{faults: [{on: "groups.getLongPollServer", nth: 1, do: "api_error", code: $c, msg: $m}]}')"
	fake_start
	poll
	assert_equal "$status" 4
	assert_equal "$(requests a_check)" 0
}

@test "fatal: errors 15 and 27 exit 4 with what to fix" {
	fatal_case 15 'Access denied: no access to call this method'
	grep -q "access denied (error 15: .*): the token needs the community's manage right" "$ERR"
	fatal_case 27 'Group authorization failed: method is unavailable with group auth.'
	grep -q 'this is not a community token (error 27: .*): create one' "$ERR"
}

@test "secrets: the token never shows, even echoed back by VK, in -v and on errors" {
	scenario 4 2 '{"faults": [
	    {"on": "groups.getLongPollServer", "nth": 1, "do": "api_error", "code": 10,
	     "msg": "Internal error", "echo_token": true},
	    {"on": "groups.getLongPollSettings", "nth": 1, "do": "api_error", "code": 100,
	     "msg": "bad", "echo_token": true},
	    {"on": "a_check", "nth": 2, "do": "http500"}]}'
	fake_start
	poll -v --max-events 4
	assert_equal "$status" 0
	no_token "$OUT" "$ERR"
	# The messages were there, masked.
	grep -q 'VK error 10: Internal error (token \*\*\*)' "$ERR"
	grep -q 'VK error 100: bad (token \*\*\*)' "$ERR"
	scenario 1 1 '{"faults": [{"on": "groups.getLongPollServer", "nth": 1,
	    "do": "api_error", "code": 5, "msg": "invalid", "echo_token": true}]}'
	fake_start
	poll -v
	assert_equal "$status" 4
	no_token "$OUT" "$ERR"
	grep -q 'error 5: invalid (token \*\*\*)' "$ERR"
}

@test "secrets: no token on transport errors; SIGTERM while retrying exits 0" {
	# A port where nothing listens: connection refused, retried with backoff.
	API_URL=http://127.0.0.1:1/method
	ERR="$BATS_TEST_TMPDIR/err.txt"
	vk-poll -v --api-url "$API_URL" --wait 1 >"$BATS_TEST_TMPDIR/out" 2>"$ERR" </dev/null &
	pid=$!
	wait_until 10 grep_file 'retrying' "$ERR"
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 0
	grep -q 'groups.getLongPollServer failed: .*retrying' "$ERR"
	no_token "$ERR" "$BATS_TEST_TMPDIR/out"
}
