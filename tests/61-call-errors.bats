#!/usr/bin/env bats
# vk-call: VK's errors per request; what is retried, what is returned,
# what pauses a method, what stops everything.

load helper
load lib-call

teardown() { call_teardown; }

@test "call errors: error 6 on a batch is retried, and every request gets its answer" {
	call_fake '{"faults":[{"on":"execute","nth":1,"do":"api_error","code":6,"msg":"Too many requests per second"}]}'
	sends 30 > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call < "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "${#lines[@]}" 30
	refute_output --partial '"error"'
	assert_equal "$(wc -l < "$SENT")" 30
	assert_equal "$(jq -r .fault "$LOG" | grep -c api_error)" 1
}

@test "call errors: the fake's 20/s limit is never hit, whatever the load" {
	call_fake '{"api_rate":20}'
	sends 60 a 1 > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call --max-batch 1 < "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "${#lines[@]}" 60
	assert_equal "$(http_requests)" 60
	[ "$(max_per_second)" -le 20 ]
	refute grep -q rate_limited "$LOG"
}

@test "call errors: HTTP 5xx and dropped connections are retried" {
	call_fake '{"faults":[{"on":"messages.send","nth":1,"do":"http502"},{"on":"messages.send","nth":2,"do":"drop"}]}'
	printf '%s\n' '{"id":1,"method":"messages.send","params":{"peer_id":5,"message":"x"}}' > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call < "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output --regexp '^\{"id":1,"response":[0-9]+\}$'
	assert_equal "$(http_requests)" 3
	assert_equal "$(wc -l < "$SENT")" 1
}

@test "call errors: error 10 is retried for an idempotent call only" {
	call_fake '{"faults":[{"on":"messages.send","nth":1,"do":"api_error","code":10,"msg":"Internal server error"},{"on":"messages.pin","nth":1,"do":"api_error","code":10,"msg":"Internal server error"}]}'
	printf '%s\n' '{"id":"send","method":"messages.send","params":{"peer_id":5,"message":"x"}}' > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call < "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(jq -r 'select(.endpoint == "messages.send")' "$LOG" | jq -s length)" 2
	printf '%s\n' '{"id":"pin","method":"messages.pin","params":{"peer_id":5,"cmid":1}}' > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call < "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_output '{"id":"pin","error":{"error_code":10,"error_msg":"Internal server error"}}'
	assert_equal "$(jq -r 'select(.endpoint == "messages.pin")' "$LOG" | jq -s length)" 1
}

@test "call errors: error 14 comes back with captcha_sid and captcha_img, alone or in a batch" {
	call_fake '{"faults":[{"on":"messages.send","nth":1,"do":"api_error","code":14,"msg":"Captcha needed","captcha":true},{"on":"messages.send","nth":3,"do":"api_error","code":14,"msg":"Captcha needed","captcha":true,"captcha_sid":"777"}]}'
	printf '%s\n' '{"id":1,"method":"messages.send","params":{"peer_id":5,"message":"x"}}' > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call < "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_output '{"id":1,"error":{"error_code":14,"error_msg":"Captcha needed","captcha_sid":"548230372614","captcha_img":"https://api.vk.com/captcha.php?sid=548230372614&s=1"}}'
	sends 3 > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call --batch-window 300 < "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_equal "$(jq -r 'select(.endpoint == "execute") | .calls | length' "$LOG")" 3
	assert_line '{"id":"m1","error":{"error_code":14,"error_msg":"Captcha needed","captcha_sid":"777","captcha_img":"https://api.vk.com/captcha.php?sid=777&s=1"}}'
	assert_line --regexp '^\{"id":"m0","response":[0-9]+\}$'
	assert_line --regexp '^\{"id":"m2","response":[0-9]+\}$'
}

@test "call errors: error 9 is returned and pauses that method, not the others" {
	call_fake '{"faults":[{"on":"messages.send","nth":1,"do":"api_error","code":9,"msg":"Flood control"}]}'
	printf '%s\n' '{"id":"s1","method":"messages.send","params":{"peer_id":5,"message":"x"}}' > "$BATS_TEST_TMPDIR/in1"
	printf '%s\n' '{"id":"s2","method":"messages.send","params":{"peer_id":5,"message":"y"}}' \
		'{"id":"b1","method":"messages.sendMessageEventAnswer","params":{"event_id":"e","user_id":5,"peer_id":5}}' > "$BATS_TEST_TMPDIR/in2"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	vk-call < "$BATS_TEST_TMPDIR/fifo" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	SRV_PID=$!
	exec 5> "$BATS_TEST_TMPDIR/fifo"
	cat "$BATS_TEST_TMPDIR/in1" >&5
	wait_until 10 grep -q '"s1"' "$BATS_TEST_TMPDIR/out"
	cat "$BATS_TEST_TMPDIR/in2" >&5
	exec 5>&-
	wait_until 10 grep -q '"b1"' "$BATS_TEST_TMPDIR/out"
	# the button was answered while messages.send rests
	refute grep -q '"s2"' "$BATS_TEST_TMPDIR/out"
	wait "$SRV_PID" || true
	run cat "$BATS_TEST_TMPDIR/out"
	assert_line --index 0 '{"id":"s1","error":{"error_code":9,"error_msg":"Flood control"}}'
	assert_line --index 1 '{"id":"b1","response":1}'
	assert_line --index 2 --regexp '^\{"id":"s2","response":[0-9]+\}$'
	assert grep -q "messages.send paused" "$BATS_TEST_TMPDIR/err"
}

@test "call errors: error 5 (bad token) answers every request and exits 4" {
	call_fake '{}'
	export VK_TOKEN=wrong-token-abc
	sends 40 > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call < "$BATS_TEST_TMPDIR/in"
	assert_failure 4
	assert_equal "${#lines[@]}" 40
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -r .error.error_code | sort -u)" 5
	[[ "$stderr" == *"check VK_TOKEN"* ]]
	[ "$(http_requests)" -le 2 ]
}

@test "call errors: SIGTERM answers what was read, then exits" {
	call_fake '{"api_latency":0.5}'
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	vk-call < "$BATS_TEST_TMPDIR/fifo" > "$BATS_TEST_TMPDIR/out" &
	SRV_PID=$!
	exec 5> "$BATS_TEST_TMPDIR/fifo"
	sends 5 >&5
	wait_until 10 grep_file execute "$LOG"
	kill -TERM "$SRV_PID"
	st=0
	wait "$SRV_PID" || st=$?
	exec 5>&-
	SRV_PID=
	assert_equal "$st" 0
	assert_equal "$(grep -c '"response"' "$BATS_TEST_TMPDIR/out")" 5
}
