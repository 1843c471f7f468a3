#!/usr/bin/env bats
# vk-route signals: SIGHUP reloads the rules (keeping them on error) and
# reopens files; SIGUSR1 prints the counts; SIGTERM drains and stops.
load helper
load lib-route

setup() {
	T=$(mktemp -d)
	mkfifo "$T/in"
	PID=
}

teardown() {
	exec 7>&- 2>/dev/null || true
	[ -n "$PID" ] && kill "$PID" 2>/dev/null || true
	rm -rf "$T"
}

# start ARGS...: vk-route in the background reading the FIFO $T/in, which
# this shell keeps open on fd 7 (bats owns fd 3; so input goes on until we close it).
start() {
	vk-route "$@" <"$T/in" 2>"$T/err" &
	PID=$!
	exec 7>"$T/in"
}

# send N: the Nth fixture event into the running vk-route.
send() {
	sed -n "${1}p" "$EVENTS" >&7
}

# hup MESSAGE: SIGHUP, then wait until stderr says MESSAGE.
hup() {
	kill -HUP "$PID"
	wait_until 10 grep_file "$1" "$T/err"
}

# finish: end the input and wait for vk-route; its exit status is returned.
finish() {
	exec 7>&-
	wait "$PID"
}

@test "SIGHUP: new rules take over; the old file receives nothing more" {
	echo "* -> file:$T/a.ndjson" >"$T/rules.conf"
	start "$T/rules.conf"
	send 1
	wait_until 10 lines_at_least 1 "$T/a.ndjson"
	echo "* -> file:$T/b.ndjson" >"$T/rules.conf"
	hup "vk-route: rules reloaded: 1 rule"
	send 2
	wait_until 10 lines_at_least 1 "$T/b.ndjson"
	finish
	assert_equal "$(ids <"$T/a.ndjson")" "e1"
	assert_equal "$(ids <"$T/b.ndjson")" "e2"
}

@test "SIGHUP: bad rules are reported and the old rules stay" {
	echo "* -> file:$T/a.ndjson" >"$T/rules.conf"
	start "$T/rules.conf"
	send 1
	wait_until 10 lines_at_least 1 "$T/a.ndjson"
	printf '%s\n' "* -> file:$T/b.ndjson" '.x = 1 -> stdout' >"$T/rules.conf"
	hup "keeping the rules in use"
	send 2
	wait_until 10 lines_at_least 2 "$T/a.ndjson"
	local rc=0
	finish || rc=$?
	assert_equal "$rc" 0
	assert_equal "$(ids <"$T/a.ndjson")" "e1 e2"
	[ ! -e "$T/b.ndjson" ]
	run cat "$T/err"
	assert_output "vk-route: $T/rules.conf:2:4: unknown operator '=': compare with ==, match with =~; keeping the rules in use"
}

@test "SIGHUP: -e rules are kept along with the reloaded file" {
	echo ".event_type == \"command\" -> file:$T/cmd.ndjson" >"$T/rules.conf"
	start -e "* -> file:$T/all.ndjson" "$T/rules.conf"
	send 1
	wait_until 10 lines_at_least 1 "$T/all.ndjson"
	echo ".event_type == \"message\" -> file:$T/msg.ndjson" >"$T/rules.conf"
	hup "rules reloaded: 2 rules"
	send 2
	send 1
	wait_until 10 lines_at_least 3 "$T/all.ndjson"
	finish
	assert_equal "$(ids <"$T/cmd.ndjson")" "e1"
	assert_equal "$(ids <"$T/msg.ndjson")" "e2"
}

@test "SIGHUP: files are reopened, for log rotation" {
	start -e "* -> file:$T/log.ndjson"
	send 1
	wait_until 10 lines_at_least 1 "$T/log.ndjson"
	mv "$T/log.ndjson" "$T/log.ndjson.1"
	hup "rules reloaded"
	send 2
	wait_until 10 lines_at_least 1 "$T/log.ndjson"
	send 3
	finish
	assert_equal "$(ids <"$T/log.ndjson.1")" "e1"
	assert_equal "$(ids <"$T/log.ndjson")" "e2 e3"
}

@test "SIGUSR1: per-rule and per-destination counts, while running" {
	start -e ".event_type == \"command\" -> file:$T/cmd.ndjson" -e "else -> file:/dev/null"
	send 1
	send 2
	send 4
	wait_until 10 lines_at_least 1 "$T/cmd.ndjson"
	stats_seen() {
		kill -USR1 "$PID" && grep -q "lines=3 " "$T/err"
	}
	wait_until 10 stats_seen
	finish
	run cat "$T/err"
	assert_line "vk-route: stats: input lines=3 events=3 rejected=0 unrouted=0"
	assert_line "vk-route: stats: rule -e:1 -> file:$T/cmd.ndjson matched=1 delivered=1 failed=0"
	assert_line "vk-route: stats: rule -e:2 -> file:/dev/null matched=2 delivered=2 failed=0"
	assert_line "vk-route: stats: dest file:$T/cmd.ndjson delivered=1 queued=0 failed=0 spilled=0"
}

@test "SIGTERM: stops reading, delivers what was read, exits 0" {
	start -e "* -> file:$T/out.ndjson"
	send 1
	send 2
	wait_until 10 lines_at_least 2 "$T/out.ndjson"
	kill -TERM "$PID"
	local rc=0
	wait "$PID" || rc=$?
	assert_equal "$rc" 0
	assert_equal "$(ids <"$T/out.ndjson")" "e1 e2"
}

@test "a live pipeline is never held back: each event is written before the next arrives" {
	start -e "* -> file:$T/out.ndjson" -e "* -> stdout"
	local k
	for k in 1 2 3 4 5; do
		send "$k"
		wait_until 10 lines_at_least "$k" "$T/out.ndjson"
	done
	finish
}
