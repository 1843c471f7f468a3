#!/usr/bin/env bats
# vk-call --listen / --connect: many handlers, one limiter, each its own results.

load helper
load lib-call

teardown() { call_teardown; }

# serve [OPTIONS]: vk-call --listen on $SOCK, waits for the socket.
serve() {
	SOCK="$BATS_TEST_TMPDIR/call.sock"
	vk-call --listen "unix:$SOCK" "$@" 2> "$BATS_TEST_TMPDIR/srv.err" &
	SRV_PID=$!
	# (a stale socket may be there already: wait until it answers)
	wait_until 10 vk-call --connect "unix:$SOCK" < /dev/null 2> /dev/null
}

more_requests_than() { [ "$(http_requests)" -gt "$1" ]; }

@test "socket: 4 clients at once get exactly their own results, all under one limiter" {
	call_fake '{"api_rate":20}'
	serve --max-batch 1
	for c in 1 2 3 4; do
		sends 15 "c$c-" "$c" > "$BATS_TEST_TMPDIR/in$c"
	done
	for c in 1 2 3 4; do
		vk-call --connect "unix:$SOCK" < "$BATS_TEST_TMPDIR/in$c" > "$BATS_TEST_TMPDIR/out$c" &
		pids="${pids:-} $!"
	done
	for p in $pids; do wait "$p"; done
	for c in 1 2 3 4; do
		assert_equal "$(jq -r .id "$BATS_TEST_TMPDIR/out$c" | sort -V | paste -sd' ')" \
			"$(jq -r .id "$BATS_TEST_TMPDIR/in$c" | paste -sd' ')"
		refute grep -q error "$BATS_TEST_TMPDIR/out$c"
	done
	assert_equal "$(http_requests)" 60
	[ "$(max_per_second)" -le 20 ]
	refute grep -q rate_limited "$LOG"
	# SIGUSR1: the counters, in vkpipe's one format
	kill -USR1 "$SRV_PID"
	wait_until 10 grep_file "stats: api" "$BATS_TEST_TMPDIR/srv.err"
	assert grep -q 'vk-call: stats: api calls=60 http=60 execute=0 retries=0 errors=0 queued=0' "$BATS_TEST_TMPDIR/srv.err"
	assert grep -q 'vk-call: stats: input lines=60 bad_lines=0 results=60 errors=0 clients=' "$BATS_TEST_TMPDIR/srv.err"
}

@test "socket: a shell handler sends one request and reads its result; the socket is mode 0660" {
	call_fake '{}'
	serve
	assert_equal "$(stat -c %a "$SOCK")" 660
	run sh -c 'printf "%s\n" "$1" | vk-call --connect "unix:$2"' sh \
		'{"id":"r1","method":"messages.send","params":{"peer_id":2000000002,"message":"pong"}}' "$SOCK"
	assert_success
	assert_output --regexp '^\{"id":"r1","response":[0-9]+\}$'
	# an error result: exit 1; a bad line is answered too
	run sh -c 'printf "%s\n" "{\"id\":2,\"method\":\"messages.send\",\"params\":{\"peer_id\":\"x\"}}" "oops" | vk-call --connect "unix:$1"' sh "$SOCK"
	assert_failure 1
	assert_line --partial '{"id":2,"error":{"error_code":100'
	assert_line '{"id":null,"error":{"error_code":-1,"error_msg":"line 2: not JSON: invalid literal at byte 1"}}'
}

@test "socket: a client that goes away early disturbs no one; SIGTERM answers what is queued, removes the socket" {
	call_fake '{"api_latency":0.2}'
	serve
	sends 50 gone > "$BATS_TEST_TMPDIR/in1"
	# reads nothing and closes at once
	vk-call --connect "unix:$SOCK" < "$BATS_TEST_TMPDIR/in1" | head -c 0
	sends 5 stay 9 | vk-call --connect "unix:$SOCK" > "$BATS_TEST_TMPDIR/out2"
	assert_equal "$(grep -c '"response"' "$BATS_TEST_TMPDIR/out2")" 5
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	vk-call --connect "unix:$SOCK" < "$BATS_TEST_TMPDIR/fifo" > "$BATS_TEST_TMPDIR/out3" &
	cli=$!
	exec 5> "$BATS_TEST_TMPDIR/fifo"
	before=$(http_requests)
	sends 3 late 11 >&5
	wait_until 10 more_requests_than "$before"
	kill -TERM "$SRV_PID"
	exec 5>&-
	wait "$cli"
	assert_equal "$(grep -c '"response"' "$BATS_TEST_TMPDIR/out3")" 3
	wait "$SRV_PID"
	SRV_PID=
	[ ! -e "$SOCK" ]
}

@test "socket: one server per path; a stale socket is taken over; no server: exit 3" {
	call_fake '{}'
	serve
	run vk-call --listen "unix:$SOCK"
	assert_failure 3
	assert_output --partial "another process listens there"
	kill -KILL "$SRV_PID"
	wait "$SRV_PID" || true
	[ -S "$SOCK" ]
	run sh -c 'echo "{\"id\":1,\"method\":\"users.get\"}" | vk-call --connect "unix:$1"' sh "$SOCK"
	assert_failure 3
	assert_output --partial "cannot connect"
	serve
	run sh -c 'echo "{\"id\":1,\"method\":\"users.get\",\"params\":{\"user_ids\":1}}" | vk-call --connect "unix:$1"' sh "$SOCK"
	assert_success
	assert_output --partial '"first_name":"Имя1"'
	: > "$BATS_TEST_TMPDIR/file"
	run vk-call --listen "unix:$BATS_TEST_TMPDIR/file"
	assert_failure 3
	assert_output --partial "not a socket"
	# --check says the same, and makes nothing
	run vk-call --check --listen "unix:$SOCK"
	assert_failure 3
	assert_output --partial "another process listens there"
	run vk-call --check --listen "unix:$BATS_TEST_TMPDIR/none/x.sock"
	assert_failure 3
	assert_output --partial "cannot create it"
	run vk-call --check --listen "unix:$BATS_TEST_TMPDIR/new.sock"
	assert_success
	[ ! -e "$BATS_TEST_TMPDIR/new.sock" ]
	VK_TOKEN= run vk-call --check --listen "unix:$BATS_TEST_TMPDIR/new.sock"
	assert_failure 3
}

@test "socket: error 5 answers every client's requests, and both sides exit 4" {
	call_fake '{}'
	export VK_TOKEN=not-the-token-xyz
	serve
	run sh -c 'sends() { i=0; while [ $i -lt 3 ]; do printf "{\"id\":%d,\"method\":\"messages.send\",\"params\":{\"peer_id\":5,\"message\":\"x\"}}\n" $i; i=$((i+1)); done; }; sends | vk-call --connect "unix:$1"' sh "$SOCK"
	assert_failure 4
	assert_equal "${#lines[@]}" 3
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -r .error.error_code | sort -u)" 5
	st=0
	wait "$SRV_PID" || st=$?
	assert_equal "$st" 4
	SRV_PID=
	[ ! -e "$SOCK" ]
	refute grep -q not-the-token-xyz "$BATS_TEST_TMPDIR/srv.err"
}
