#!/usr/bin/env bats
# vk-route to the network: tcp:// and unix: line streams (receivers that
# come late or go away), http:// and https:// (POST, batches, retries,
# refusals).
load helper
load lib-route

RECV="$FIXTURES/route/recv.py"

setup() { route_setup; }
teardown() { route_teardown; }

# late KIND WHERE: vk-route sends 2000 events to a receiver that starts
# only once vk-route has found it missing; it gets them all, in order.
late() {
	gen 2000 >"$T/in"
	vk-route --stats -e "* -> $1$2" <"$T/in" 2>"$T/err" &
	local vr=$!
	PIDS="$PIDS $vr"
	wait_until 10 grep_file "will retry" "$T/err"
	python3 "$RECV" "${1%%:*}" "${2#127.0.0.1:}" "$T/got" &
	PIDS="$PIDS $!"
	wait "$vr"
	wait_until 10 lines_at_least 2000 "$T/got"
	cmp "$T/in" "$T/got"
	grep -q "delivering again" "$T/err"
	grep -q "delivered=2000 queued=0 failed=0" "$T/err"
}

@test "tcp://: a receiver that appears late gets every event, in order" {
	local port
	port=$(free_port)
	late tcp:// "127.0.0.1:$port"
	grep -q "tcp://127.0.0.1:$port: cannot connect: Connection refused; will retry" "$T/err"
}

@test "unix:: a receiver that appears late gets every event, in order" {
	late unix: "$T/sock"
	grep -q "unix:$T/sock: cannot connect: No such file or directory; will retry" "$T/err"
}

@test "tcp://: a receiver that closes the connection: what comes next goes to the next one" {
	local port
	port=$(free_port)
	python3 "$RECV" tcp "$port" "$T/got" --drop-after 2 &
	PIDS="$PIDS $!"
	wait_until 10 python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$port"
	mkfifo "$T/fifo"
	vk-route -e "* -> tcp://127.0.0.1:$port" <"$T/fifo" 2>"$T/err" &
	local vr=$!
	PIDS="$PIDS $vr"
	exec 7>"$T/fifo"
	head -n 4 "$EVENTS" >&7
	# the receiver keeps 2 and drops the connection with 2 unread: written
	# to the socket, they count as delivered (see vk-route(1))
	wait_until 10 grep_file "the receiver closed the connection; will retry" "$T/err"
	tail -n +5 "$EVENTS" >&7
	exec 7>&-
	wait "$vr"
	wait_until 10 lines_at_least 7 "$T/got"
	assert_equal "$(ids <"$T/got")" "e1 e2 e5 e6 e7 e8 e9"
}

HTTPRECV="$FIXTURES/route/http-recv.py"

# http_recv ARGS...: start the test HTTP receiver; its port in $HPORT.
http_recv() {
	python3 "$HTTPRECV" "$T/port" "$T/got" "$@" &
	PIDS="$PIDS $!"
	wait_until 10 test -s "$T/port"
	HPORT=$(cat "$T/port")
}

@test "http://: one POST per event, application/json, in order" {
	http_recv
	run vk-route --stats -e "* -> http://127.0.0.1:$HPORT/hook" <"$EVENTS"
	assert_success
	assert_line "vk-route: stats: dest http://127.0.0.1:$HPORT/hook delivered=9 queued=0 failed=0 spilled=0"
	cmp "$EVENTS" "$T/got"
	assert_equal "$(sort -u "$T/got.log")" "200 application/json"
	assert_equal "$(wc -l <"$T/got.log")" 9
}

@test "http://: #batch=N sends NDJSON batches; several requests in flight" {
	http_recv
	gen 1000 >"$T/in"
	run vk-route -e "* -> http://127.0.0.1:$HPORT/hook#batch=100,inflight=4" <"$T/in"
	assert_success
	assert_equal "$(sort "$T/got" | md5sum)" "$(sort "$T/in" | md5sum)"
	assert_equal "$(sort -u "$T/got.log")" "200 application/x-ndjson"
	assert_equal "$(wc -l <"$T/got.log")" 10
}

@test "http://: 500s for a while, then every event, in order, none twice" {
	http_recv --fail 3 500
	run vk-route --stats -e "* -> http://127.0.0.1:$HPORT/hook#batch=2" <"$EVENTS"
	assert_success
	cmp "$EVENTS" "$T/got"
	assert_line "vk-route: http://127.0.0.1:$HPORT/hook#batch=2: HTTP status 500; will retry"
	assert_line "vk-route: http://127.0.0.1:$HPORT/hook#batch=2: delivering again"
}

@test "http://: 429 with Retry-After is honoured" {
	http_recv --fail 1 429 --retry-after 1
	local t0=$SECONDS
	run vk-route -e "* -> http://127.0.0.1:$HPORT/hook#batch=9" <"$EVENTS"
	assert_success
	cmp "$EVENTS" "$T/got"
	[ $((SECONDS - t0)) -ge 1 ]
}

@test "http://: a 4xx refuses the events for good: kept with the status" {
	http_recv --fail 2 404
	mkdir "$T/spill"
	run vk-route --spill "$T/spill" -e "* -> http://127.0.0.1:$HPORT/hook" <"$EVENTS"
	assert_failure 1
	local f="$(spill_file "$T/spill" "http___127_0_0_1_${HPORT}_hook" .rejected.ndjson)"
	assert_equal "$(jq -r '"\(.status) \(.event.event_id)"' "$f" | tr '\n' ' ')" "404 e1 404 e2 "
	assert_equal "$(ids <"$T/got")" "e3 e4 e5 e6 e7 e8 e9"
	assert_line "vk-route: line 1: http://127.0.0.1:$HPORT/hook: the destination refused a line: HTTP status 404; kept in $f"
}

@test "http://: a receiver that is not there yet; credentials masked" {
	local port
	port=$(free_port)
	run vk-route --drain-timeout 0.3 -e "* -> http://bob:pw-S3CRET@127.0.0.1:$port/h" <"$EVENTS"
	assert_failure 1
	assert_line --partial "http://bob:***@127.0.0.1:$port/h: "
	refute_output --partial S3CRET
}
