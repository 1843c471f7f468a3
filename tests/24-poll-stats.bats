#!/usr/bin/env bats
# vk-poll --stats and SIGUSR1: polls, updates, gaps, retries and reconnects
# by cause, as key=value pairs; --check reads and writes nothing.

load helper
load lib-poll

teardown_file() {
	fake_stop_all
}

# stat FILE SCOPE KEY: the value of KEY on the last "stats: SCOPE" line
stat() {
	sed -n "s/^vk-poll: stats: $2 .*\<$3=\([0-9]*\).*/\1/p" "$1" | tail -n 1
}

@test "poll --stats: polls, updates, gaps, retries, reconnects by cause at exit" {
	scenario 12 3 '{"faults": [
		{"on": "a_check", "nth": 2, "do": "http500"},
		{"on": "a_check", "nth": 3, "do": "failed2"},
		{"on": "a_check", "nth": 5, "do": "http404"},
		{"on": "a_check", "nth": 6, "do": "failed3", "skip": 0},
		{"on": "a_check", "nth": 7, "do": "failed1", "skip": 3},
		{"on": "a_check", "nth": 8, "do": "failed9"},
		{"on": "a_check", "nth": 9, "do": "garbage"}]}'
	fake_start
	poll --max-events 9 --stats
	assert_equal "$status" 0
	assert_equal "$(stat "$ERR" poll updates)" 9
	assert_equal "$(stat "$ERR" poll gaps)" 2
	assert_equal "$(stat "$ERR" poll key_expired)" 1
	assert_equal "$(stat "$ERR" poll history_lost)" 1
	assert_equal "$(stat "$ERR" poll http_status)" 1
	assert_equal "$(stat "$ERR" poll bad_reply)" 1
	assert_equal "$(stat "$ERR" poll reconnects)" 4
	# http500, http404, failed9 and garbage waited and tried again
	assert_equal "$(stat "$ERR" poll retries)" 4
	assert_equal "$(stat "$ERR" poll polls)" "$(($(requests a_check) - 3))"
	no_token "$ERR"
}

@test "poll: SIGUSR1 writes the stats line during a long poll, and polling goes on" {
	scenario 3 3 '{"idle": 30}'
	fake_start
	vk-poll --api-url "$API_URL" --wait 30 > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" < /dev/null &
	pid=$!
	wait_until 20 lines_at_least 3 "$BATS_TEST_TMPDIR/out"
	kill -USR1 "$pid"
	wait_until 10 grep -q '^vk-poll: stats: poll polls=1 updates=3 gaps=0 ' "$BATS_TEST_TMPDIR/err"
	kill -0 "$pid"
	kill -TERM "$pid"
	wait "$pid"
}

@test "poll --check: options, environment and token are checked; nothing is asked or written" {
	scenario 3 3
	fake_start
	run vk-poll --check --api-url "$API_URL" --state "$BATS_TEST_TMPDIR/ts" --ack "$BATS_TEST_TMPDIR/ack"
	assert_success
	[ ! -e "$BATS_TEST_TMPDIR/ts" ] && [ ! -e "$BATS_TEST_TMPDIR/ack" ]
	assert_equal "$(requests a_check)$(requests groups.getLongPollServer)" 00
	VK_API_URL=ftp://x run vk-poll --check
	assert_failure 3
	VK_TOKEN= run vk-poll --check
	assert_failure 3
	echo '{"group_id":"7","ts":"1"}' > "$BATS_TEST_TMPDIR/other.ts"
	run vk-poll --check --state "$BATS_TEST_TMPDIR/other.ts"
	assert_failure 3
	run vk-poll --check --wait 0
	assert_failure 2
}
