#!/usr/bin/env bats
# vk-route destinations: stdout, stderr, files, FIFOs, exec handlers;
# bounded queues, backpressure, spill, drain.
load helper
load lib-route

setup() { route_setup; }
teardown() { route_teardown; }

@test "stdout and stderr get whole lines" {
	run --separate-stderr vk-route -e '.event_type == "button" -> stdout' \
		-e '.event_type == "reaction" -> stderr' <"$EVENTS"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | ids)" "e4 e5"
	assert_equal "$(printf '%s\n' "$stderr" | ids)" "e6 e7"
}

@test "file: appends, and keeps what was there" {
	echo '{"event_id":"old"}' >"$T/out.ndjson"
	run vk-route -e "* -> file:$T/out.ndjson" <"$EVENTS"
	assert_success
	run vk-route -e ".event_type == \"button\" -> file:$T/out.ndjson" <"$EVENTS"
	assert_equal "$(ids <"$T/out.ndjson")" "old e1 e2 e3 e4 e5 e6 e7 e8 e9 e4 e5"
}

@test "two rules writing one file never interleave, even with big lines" {
	python3 -c '
import json
for i in range(2000):
    print(json.dumps({"event_type": "m", "event_id": str(i), "text": "ж" * (i * 37 % 5000)}, ensure_ascii=False))
' >"$T/in.ndjson"
	run vk-route -e "* -> file:$T/out.ndjson" -e '.event_id =~ "7" -> file:'"$T/out.ndjson" <"$T/in.ndjson"
	assert_success
	# every line is a whole event
	run jq -c -e 'select(.event_type != "m")' "$T/out.ndjson"
	assert_failure 4
	assert_equal "$(wc -l <"$T/out.ndjson")" "$((2000 + $(jq -r '.event_id' "$T/in.ndjson" | grep -c 7)))"
}

@test "file: a missing directory is retried, reported, and what is left is counted at exit" {
	run vk-route --drain-timeout 0.3 -e "* -> file:$T/nodir/out.ndjson" <"$EVENTS"
	assert_failure 1
	assert_line --partial "vk-route: file:$T/nodir/out.ndjson: cannot open $T/nodir/out.ndjson: No such file or directory; will retry"
	assert_line "vk-route: file:$T/nodir/out.ndjson: 9 lines not delivered: cannot open $T/nodir/out.ndjson: No such file or directory"
}

@test "file: a FIFO whose reader appears late gets every line; other destinations go on meanwhile" {
	mkfifo "$T/fifo"
	vk-route -v -e ".event_type == \"message\" -> file:$T/fifo" \
		-e "* -> file:$T/live.ndjson" <"$EVENTS" 2>"$T/err" &
	local pid=$!
	PIDS="$pid"
	# the live file is complete while the FIFO still has no reader
	wait_until 10 lines_at_least 9 "$T/live.ndjson"
	wait_until 10 grep_file "FIFO has no reader yet" "$T/err"
	kill -0 "$pid"
	cat "$T/fifo" >"$T/fifo.out" &
	PIDS="$pid $!"
	wait "$pid"
	assert_equal "$(ids <"$T/fifo.out")" "e2 e3 e8"
}

@test "exec: the command line is split like sh, without a shell; templates are one word" {
	local fix="$FIXTURES/route"
	cat >"$T/rules.conf" <<-R
	.event_id == "e1" -> exec:$fix/argv.sh $T/args 'a b' "c \\"d\\"" e\\ f \$HOME;true \`x\`
	.event_id == "e8" -> exec:$fix/argv.sh $T/tmpl x{.message.text}y
	R
	run vk-route "$T/rules.conf" <"$EVENTS"
	assert_success
	# the command itself cannot come from an event
	run vk-route --check -e '* -> exec:./handlers/{.event_type} x'
	assert_failure 3
	assert_output "vk-route: -e:1:11: the command cannot be a template (an event would choose the program)"
	assert_equal "$(cat "$T/args")" "$(printf '%s\n' '[a b]' '[c "d"]' '[e f]' '[$HOME;true]' '[`x`]')"
	assert_equal "$(ids <"$T/args.in")" "e1"
	assert_equal "$(cat "$T/tmpl")" '[xa"b\c/d éy]'
}

@test "exec: a handler that dies is restarted, and no line is lost" {
	gen 20 >"$T/in.ndjson"
	run vk-route -e "* -> exec:$FIXTURES/route/stop-after.sh 3 $T/out.ndjson" <"$T/in.ndjson"
	assert_success
	assert_equal "$(jq -r .event_id "$T/out.ndjson" | tr '\n' ' ')" "$(seq 0 19 | tr '\n' ' ')"
	# seven handlers: six took 3 lines and died, the last took 2 and saw the end
	assert_equal "$(grep -c 'stop-after: took 3 lines' <<<"$output")" 6
	assert_line --partial "handler exited with status 1; will retry"
}

@test "exec: a command that cannot run is retried and reported, the rest goes on" {
	run vk-route --drain-timeout 0.5 -e "* -> exec:$T/no-such-handler" \
		-e "* -> file:$T/out.ndjson" <"$EVENTS"
	assert_line --partial "cannot run $T/no-such-handler: No such file or directory"
	assert_line --partial "handler exited with status 127; will retry"
	assert_equal "$(wc -l <"$T/out.ndjson")" 9
}

@test "backpressure: a stuck FIFO fills its queue, input stops, nothing is dropped; a reader releases it" {
	mkfifo "$T/stuck"
	gen 4000 >"$T/in.ndjson"
	vk-route --queue 100 -e ".event_type == \"a\" -> file:$T/stuck" \
		-e ".event_type == \"b\" -> file:$T/live.ndjson" <"$T/in.ndjson" 2>"$T/err" &
	local pid=$!
	PIDS="$pid"
	# the other destination keeps receiving until the stuck queue is full
	wait_until 10 lines_at_least 99 "$T/live.ndjson"
	stuck_full() {
		kill -USR1 "$pid" && grep -q "dest file:$T/stuck delivered=0 queued=100 " "$T/err"
	}
	wait_until 10 stuck_full
	# then vk-route stops reading (the 100th "a" was line 199): the live
	# file stays at the 99 "b" lines before it, far from its 2000
	grep -q "lines=199 " "$T/err"
	run grep -c . "$T/live.ndjson"
	assert_output 99
	# a reader appears: everything flows, in order, and vk-route ends cleanly
	cat "$T/stuck" >"$T/stuck.out" &
	PIDS="$pid $!"
	wait "$pid"
	assert_equal "$(wc -l <"$T/stuck.out")" 2000
	assert_equal "$(wc -l <"$T/live.ndjson")" 2000
	assert_equal "$(jq -r .event_id "$T/stuck.out" | tr '\n' ' ')" "$(seq 0 2 3998 | tr '\n' ' ')"
}

@test "--spill: overflow and what is left at exit go to a dead-letter file, reported" {
	mkfifo "$T/stuck"
	mkdir "$T/spill"
	gen 1000 >"$T/in.ndjson"
	run vk-route --queue 50 --spill "$T/spill" --drain-timeout 0.2 --stats \
		-e ".event_type == \"a\" -> file:$T/stuck" \
		-e ".event_type == \"b\" -> file:$T/live.ndjson" <"$T/in.ndjson"
	assert_failure 1
	# short and unique: a readable prefix of the destination and a hash
	local f
	f=$(echo "$T"/spill/file__tmp_*_stuck-????????????????.ndjson)
	[ -f "$f" ]
	[ "$(find "$T/spill" -type f | wc -l)" -eq 1 ]
	assert_line "vk-route: file:$T/stuck: 500 lines spilled to $f"
	assert_line "vk-route: stats: dest file:$T/stuck delivered=0 queued=0 failed=0 spilled=500"
	# nothing blocked the other destination, nothing was lost, order kept
	assert_equal "$(wc -l <"$T/live.ndjson")" 500
	assert_equal "$(jq -r .event_id "$f" | tr '\n' ' ')" "$(seq 0 2 998 | tr '\n' ' ')"
}

@test "--spill needs a writable directory" {
	run vk-route --spill "$T/nope" -e '* -> stdout' </dev/null
	assert_failure 3
	assert_output "vk-route: --spill $T/nope: not a writable directory"
}

@test "--drain-timeout bounds the wait at the end; undelivered lines are counted" {
	mkfifo "$T/stuck"
	local t0=$SECONDS
	run vk-route --drain-timeout 0.5 --stats -e "* -> file:$T/stuck" <"$EVENTS"
	assert_failure 1
	[ $((SECONDS - t0)) -lt 5 ]
	assert_line "vk-route: file:$T/stuck: 9 lines not delivered: FIFO has no reader yet"
	assert_line "vk-route: stats: dest file:$T/stuck delivered=0 queued=0 failed=9 spilled=0"
}

@test "stdout closed early (| head): other destinations are still served" {
	gen 3000 >"$T/in.ndjson"
	run bash -c "vk-route -e '* -> stdout' -e '* -> file:$T/all.ndjson' <'$T/in.ndjson' | head -n 1"
	assert_success
	assert_equal "$(wc -l <"$T/all.ndjson")" 3000
}
