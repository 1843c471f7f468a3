#!/usr/bin/env bats
# vk-route at its limits (issue 20): many distinct template values, signals
# under an input that never rests, long template values, long event_ids.
load helper
load lib-route

setup() {
	route_setup
}

teardown() {
	route_teardown
}

# distinct N: N Events, each with a peer name of its own.
distinct() {
	python3 -c '
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"event_id": "e%d" % i, "event_type": "message_new",
                      "peer": {"id": i, "name": "n%d" % i}}))
' "$1"
}

# --- too many distinct template values ---

@test "20000 distinct template values: all delivered, exit 0, template instances bounded" {
	distinct 20000 >"$T/in"
	mkdir "$T/out"
	run --separate-stderr timeout 120 vk-route --max-open 16 --stats \
		-e "* -> file:$T/out/{.peer.name}.ndjson" -e "* -> file:$T/all.ndjson" <"$T/in"
	assert_success
	assert_equal "$(find "$T/out" -type f | wc -l)" 20000
	assert_equal "$(find "$T/out" -type f -exec cat {} + | wc -l)" 20000
	assert_equal "$(wc -l <"$T/all.ndjson")" 20000
	# the instances alive at the end: at most 4 x --max-open, plus all.ndjson
	local live
	live=$(grep -c '^vk-route: stats: dest file:' <<<"$stderr")
	[ "$live" -le 65 ]
	[[ "$stderr" == *"closed template destinations, --max-open 16) delivered="* ]]
}

@test "distinct values while open instances are busy: input waits, live instances stay bounded" {
	# handlers that never finish before the input ends hold every slot:
	# lines for new values wait, and the number of instances does not grow
	cat >"$T/h.sh" <<-H
	#!/bin/sh
	exec cat >>"$T/all.ndjson"
	H
	chmod +x "$T/h.sh"
	mkfifo "$T/in"
	vk-route --max-open 4 --drain-timeout 60 -e "* -> exec:$T/h.sh {.peer.name}" <"$T/in" 2>"$T/err" &
	local pid=$!
	PIDS="$pid"
	exec 7>"$T/in"
	distinct 3000 >&7 &
	local gen=$! most=0 now
	while kill -0 "$gen" 2>/dev/null; do
		now=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
		[ "$now" -le "$most" ] || most=$now
		sleep 0.02
	done
	# the input is read up to what the FIFO holds: the instances alive now
	kill -USR1 "$pid"
	wait_until 30 grep_file 'stats: input' "$T/err"
	exec 7>&-
	wait "$pid"
	# 4 handlers (2 descriptors each), stdio, the input: never thousands
	[ "$most" -le 20 ]
	# at most 4 x --max-open instances, each holding its lines
	[ "$(grep -c 'stats: dest exec:' "$T/err")" -le 16 ]
	assert_equal "$(wc -l <"$T/all.ndjson")" 3000
}

@test "SIGTERM is acted on under an input that is always readable" {
	mkdir "$T/out"
	# an endless stream of Events, 20000 distinct values over and over
	python3 -c '
import sys
i = 0
try:
    while True:
        sys.stdout.write("{\"event_id\":\"e%d\",\"peer\":{\"name\":\"n%d\"}}\n" % (i, i % 20000))
        i += 1
except BrokenPipeError:
    pass
' 2>/dev/null | vk-route -e "* -> file:$T/out/{.peer.name}.ndjson" 2>"$T/err" &
	local pid=$!
	PIDS="$pid"
	wait_until 30 test -s "$T/out/n1000.ndjson"
	kill -TERM "$pid"
	wait_until 30 gone "$pid"
	local st=0
	wait "$pid" || st=$?
	assert_equal "$st" 0
}

# --- a long template value ---

@test "a 5000-byte template value refused: the message keeps its line number and reason" {
	mkdir "$T/out"
	python3 -c '
import json
print(json.dumps({"event_id": "e1", "peer": {"name": "ok"}}))
print(json.dumps({"event_id": "e2", "peer": {"name": "x" * 5000}}))
print(json.dumps({"event_id": "e3", "peer": {"name": "fine"}}))
' >"$T/in"
	run --separate-stderr timeout 60 vk-route -e "* -> file:$T/out/{.peer.name}" <"$T/in"
	assert_failure 1
	assert_equal "$(ids <"$T/out/ok")" "e1"
	assert_equal "$(ids <"$T/out/fine")" "e3"
	local x100
	x100=$(printf 'x%.0s' $(seq 100))
	[[ "$stderr" == *"vk-route: line 2: file:$T/out/x"*"…: the destination refused a line: cannot open $T/out/x"*"…: File name too long"* ]]
	[[ "$stderr" == *"$x100"* ]]
	# no message line comes near the log's line limit
	[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' <<<"$stderr")" -lt 600 ]
}

# --- event_ids too long to remember ---

@test "--dedup --dedup-state: an event_id longer than 1024 bytes is routed but not remembered" {
	python3 -c '
import json
for i in range(300):
    print(json.dumps({"event_id": ("%03d-" % i) + "i" * 100000, "peer": {"name": "a"}}))
print(json.dumps({"event_id": "L" * 1024, "peer": {"name": "a"}}))
print(json.dumps({"event_id": "L" * 1024, "peer": {"name": "a"}}))
print(json.dumps({"event_id": "M" * 1025, "peer": {"name": "a"}}))
print(json.dumps({"event_id": "M" * 1025, "peer": {"name": "a"}}))
' >"$T/in"
	run --separate-stderr timeout 60 vk-route --dedup 1000 --dedup-state "$T/state" \
		-e "* -> file:$T/out.ndjson" <"$T/in"
	assert_success
	# every Event delivered; the copy of the 1024-byte id dropped, the
	# 1025-byte one (never remembered) delivered twice
	assert_equal "$(wc -l <"$T/out.ndjson")" 303
	assert_equal "$(jq -r '.event_id | length' "$T/out.ndjson" | sort -n | uniq -c | awk '{print $1 "x" $2}' | tail -2 | tr '\n' ' ')" "2x1025 300x100004 "
	# the window on disk holds the one id it may: bounded, whatever came
	[ "$(wc -c <"$T/state")" -lt 4096 ]
	grep -q '"LLLL' "$T/state"
	[[ "$stderr" == *"line 1: an event_id of 100004 bytes, longer than 1024: not remembered"* ]]
	[[ "$stderr" == *"1 duplicate dropped (--dedup)"* ]]
}
