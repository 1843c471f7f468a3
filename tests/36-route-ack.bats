#!/usr/bin/env bats
# vk-route --ack: one line per Event, its event_id, once every destination
# that took it has confirmed it; in input order, never one before another.
load helper
load lib-route

setup() { route_setup; }
teardown() { route_teardown; }

# acks FILE: the acknowledged ids, space-separated.
acks() {
	[ -f "$1" ] && tr '\n' ' ' <"$1" | sed 's/ $//'
}

# release PID ID: a reader for the FIFO $T/stuck; vk-route PID then ends,
# the FIFO got the Event ID, and every Event is acknowledged, in order.
release() {
	cat "$T/stuck" >"$T/stuck.out" &
	PIDS="$1 $!"
	wait "$1"
	assert_equal "$(ids <"$T/stuck.out")" "$2"
	assert_equal "$(acks "$T/ack")" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
}

@test "acks come in input order, one per Event, unrouted ones too; rejected lines and Events without an event_id get none" {
	{
		head -n 3 "$EVENTS"
		echo 'not json'
		echo '{"event_type":"message","event_id":7}'
		echo '{"event_type":"message"}'
		echo '{"event_type":"message","event_id":"a\/\u0062"}'
		tail -n +4 "$EVENTS"
	} >"$T/in.ndjson"
	run vk-route --ack "$T/ack" -e ".event_type == \"message\" -> file:$T/m.ndjson" \
		-e ".event_type == \"button\" -> stdout" <"$T/in.ndjson"
	assert_failure 1	# the line that is not JSON
	assert_line "vk-route: line 4: not JSON: invalid literal at byte 1"
	# plain text, unescaped: what vk-poll compares with its own ids
	assert_equal "$(acks "$T/ack")" "e1 e2 e3 a/b e4 e5 e6 e7 e8 e9"
}

@test "a stuck destination holds back its ack and every later one until its reader appears" {
	mkfifo "$T/stuck"
	vk-route -v --ack "$T/ack" -e ".event_id == \"e3\" -> file:$T/stuck" \
		-e ".event_id != \"e3\" -> file:$T/live.ndjson" <"$EVENTS" 2>"$T/err" &
	local pid=$!
	PIDS="$pid"
	# every other Event is delivered, but only those before e3 are acknowledged
	wait_until 10 lines_at_least 8 "$T/live.ndjson"
	wait_until 10 grep_file "FIFO has no reader yet" "$T/err"
	wait_until 10 lines_at_least 2 "$T/ack"
	sleep 0.3	# room for a wrong ack to show up
	assert_equal "$(acks "$T/ack")" "e1 e2"
	kill -0 "$pid"
	release "$pid" e3
}

@test "fan-out: an Event that went to two destinations is acknowledged only once both confirmed it" {
	mkfifo "$T/stuck"
	vk-route --ack "$T/ack" -e "* -> file:$T/all.ndjson" \
		-e ".event_id == \"e1\" -> file:$T/stuck" <"$EVENTS" 2>"$T/err" &
	local pid=$!
	PIDS="$pid"
	wait_until 10 lines_at_least 9 "$T/all.ndjson"
	sleep 0.3
	# e1 reached all.ndjson, but not the FIFO: nothing is acknowledged
	assert_equal "$(acks "$T/ack")" ""
	release "$pid" e1
}

@test "exec: a handler that keeps dying is restarted; an Event is acknowledged only once written to its pipe" {
	# a handler that dies without reading until $T/go exists
	cat >"$T/h.sh" <<-'H'
	#!/bin/sh
	[ -e "$1/go" ] || exit 1
	exec cat >>"$1/out.ndjson"
	H
	chmod +x "$T/h.sh"
	# five Events of 100 KB each: more than a pipe holds
	python3 -c '
for i in range(5):
    print("{\"event_id\":\"x%d\",\"pad\":\"%s\"}" % (i, "y" * 100000))
' >"$T/in.ndjson"
	vk-route --ack "$T/ack" -e "* -> exec:$T/h.sh $T" <"$T/in.ndjson" 2>"$T/err" &
	local pid=$!
	PIDS="$pid"
	restarted() {
		[ "$(grep -c 'handler exited with status 1' "$T/err")" -ge 2 ]
	}
	wait_until 10 restarted
	# the first Event is still part-way into the pipe: no ack yet
	assert_equal "$(acks "$T/ack")" ""
	touch "$T/go"
	wait "$pid"
	assert_equal "$(ids <"$T/out.ndjson")" "x0 x1 x2 x3 x4"
	assert_equal "$(acks "$T/ack")" "x0 x1 x2 x3 x4"
}

@test "a FIFO ack channel whose reader comes late: delivery goes on meanwhile, the acks wait for it" {
	mkfifo "$T/ack"
	vk-route --ack "$T/ack" -e "* -> file:$T/out.ndjson" <"$EVENTS" 2>"$T/err" &
	local pid=$!
	PIDS="$pid"
	wait_until 10 lines_at_least 9 "$T/out.ndjson"
	sleep 0.2
	kill -0 "$pid"	# still waiting to write its acks
	cat "$T/ack" >"$T/acks" &
	PIDS="$pid $!"
	wait "$pid"
	wait_until 5 lines_at_least 9 "$T/acks"
	assert_equal "$(acks "$T/acks")" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
}

@test "a FIFO ack channel without a reader at the end: what is left is reported, exit 1" {
	mkfifo "$T/ack"
	run vk-route --drain-timeout 0.3 --ack "$T/ack" -e "* -> file:$T/out.ndjson" <"$EVENTS"
	assert_failure 1
	assert_line "vk-route: --ack $T/ack: 9 acknowledgements not written (no reader)"
	assert_equal "$(wc -l <"$T/out.ndjson")" 9
}

@test "spilled (dead-lettered) Events are acknowledged; Events dropped at the end are not, nor any later one" {
	mkfifo "$T/stuck"
	mkdir "$T/spill"
	run vk-route --drain-timeout 0.3 --spill "$T/spill" --ack "$T/ack" \
		-e ".event_id == \"e2\" -> file:$T/stuck" -e "* -> file:$T/out.ndjson" <"$EVENTS"
	assert_failure 1
	assert_equal "$(cat "$T"/spill/*.ndjson | ids)" "e2"
	assert_equal "$(acks "$T/ack")" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
	rm -f "$T/ack"
	run vk-route --drain-timeout 0.3 --ack "$T/ack" \
		-e ".event_id == \"e2\" -> file:$T/stuck" -e "* -> file:$T/out2.ndjson" <"$EVENTS"
	assert_failure 1
	assert_line "vk-route: file:$T/stuck: 1 line not delivered: FIFO has no reader yet"
	assert_equal "$(acks "$T/ack")" "e1"
}

@test "--ack: a path that cannot be opened is a configuration error" {
	run vk-route --ack "$T/no/such/dir/ack" -e '* -> stdout' </dev/null
	assert_failure 3
	assert_output "vk-route: --ack $T/no/such/dir/ack: No such file or directory; create the FIFO with mkfifo, or give a writable path"
}
