#!/usr/bin/env bats
# vk-normalize online: the three name lookups of a batch in one execute,
# failures per call, several batches in flight, Events in input order.

load helper
load lib-normalize

TOKEN="exec-test-token-7b21"

teardown() {
	[ -z "${NORM_PID:-}" ] || stop_pid "$NORM_PID"
	fake_vk_stop
}

log_has() { lines_at_least "$1" "$LOG"; }
out_has() { [ "$(grep -c . "$BATS_TEST_TMPDIR/out")" -ge "$1" ]; }

msg() { # event_id from_id peer_id
	printf '{"type":"message_new","event_id":"%s","object":{"message":{"from_id":%s,"peer_id":%s,"conversation_message_id":1,"text":"hi"}}}\n' "$1" "$2" "$3"
}

@test "execute: a call that fails inside it (false, execute_errors) leaves only its names null" {
	fake "{\"token\":\"$TOKEN\",\"faults\":[{\"on\":\"groups.getById\",\"nth\":1,\"do\":\"api_error\",\"code\":15,\"msg\":\"Access denied\"}]}"
	{ msg a 5 2000000002; msg b -7 -7; } > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-normalize --stats "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line --index 0 --partial '"user":{"uuid":5,"name":"Имя5 Фамилия5","firstname":"Имя5","lastname":"Фамилия5","nick":"id5"},"peer":{"bpid":2000000002,"cid":2,"name":"Чат 2"}'
	assert_line --index 1 --partial '"user":{"uuid":-7,"name":null,"firstname":null,"lastname":null,"nick":null},"peer":{"bpid":-7,"cid":null,"name":null}'
	assert_equal "$(wc -l < "$LOG")" 1
	[[ "$stderr" == *"groups.getById failed: Access denied; these names stay null"* ]]
	[[ "$stderr" == *" unavailable=1 "* ]]
}

@test "execute: a call refused for a moment (error 10 inside execute) is tried again alone" {
	fake "{\"token\":\"$TOKEN\",\"faults\":[{\"on\":\"users.get\",\"nth\":1,\"do\":\"api_error\",\"code\":10,\"msg\":\"Internal server error\"}]}"
	{ msg a 5 2000000002; msg b -7 5; } > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-normalize --stats "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line --index 0 --partial '"name":"Имя5 Фамилия5"'
	assert_line --index 0 --partial '"name":"Чат 2"'
	assert_line --index 1 --partial '"name":"Сообщество 7"'
	assert_line --index 1 --partial '"peer":{"bpid":5,"cid":null,"name":"Имя5 Фамилия5"}'
	assert_equal "$(jq -c .calls "$LOG" | paste -sd' ')" '["users.get","groups.getById","messages.getConversationsById"] ["users.get"]'
	[[ "$stderr" == *"api requests=2 "*" retries=1 unavailable=0 "* ]]
}

@test "execute: the next batch goes while one is in flight; Events keep their order; an id asked for is not asked again" {
	fake "{\"token\":\"$TOKEN\",\"faults\":[{\"on\":\"execute\",\"nth\":1,\"do\":\"slow\",\"delay\":3}]}"
	mkfifo "$BATS_TEST_TMPDIR/in"
	vk-normalize < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" &
	NORM_PID=$!
	exec 7> "$BATS_TEST_TMPDIR/in"
	msg a 1 1 >&7
	wait_until 10 log_has 1
	msg b 2 2 >&7
	wait_until 10 log_has 2	# the second request, while the first is held 3 s
	msg c 1 1 >&7		# user 1 is being asked for: no third request
	msg d 3 3 >&7
	wait_until 10 log_has 3
	exec 7>&-
	wait "$NORM_PID"
	assert_equal "$(jq -r .event_id "$BATS_TEST_TMPDIR/out" | paste -sd,)" "a,b,c,d"
	assert_equal "$(jq -r .user.name "$BATS_TEST_TMPDIR/out" | paste -sd,)" "Имя1 Фамилия1,Имя2 Фамилия2,Имя1 Фамилия1,Имя3 Фамилия3"
	assert_equal "$(param users.get user_ids | paste -sd' ')" "1 2 3"
	# the second and third went before the first was answered
	run jq -s '.[1].t - .[0].t < 3 and .[2].t - .[0].t < 3' "$LOG"
	assert_output true
}

@test "execute: an Event whose names are cached waits for the Events before it, not for the API" {
	fake "{\"token\":\"$TOKEN\",\"faults\":[{\"on\":\"execute\",\"nth\":2,\"do\":\"slow\",\"delay\":2}]}"
	mkfifo "$BATS_TEST_TMPDIR/in"
	vk-normalize < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" &
	NORM_PID=$!
	exec 7> "$BATS_TEST_TMPDIR/in"
	msg a 1 1 >&7
	wait_until 10 out_has 1
	msg b 2 2 >&7		# held 2 s by the API
	wait_until 10 log_has 2
	msg c 1 1 >&7		# cached, but after b
	sleep 0.5		# (not a synchronisation: c must stay behind b meanwhile)
	assert_equal "$(grep -c . "$BATS_TEST_TMPDIR/out")" 1
	wait_until 10 out_has 3
	exec 7>&-
	wait "$NORM_PID"
	assert_equal "$(jq -r .event_id "$BATS_TEST_TMPDIR/out" | paste -sd,)" "a,b,c"
	assert_equal "$(wc -l < "$LOG")" 2
}
