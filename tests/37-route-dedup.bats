#!/usr/bin/env bats
# vk-route --dedup N [--dedup-state FILE]: an Event whose event_id was among
# the last N is dropped (and still acknowledged); the window survives a restart.
load helper
load lib-route

setup() { route_setup; }
teardown() { route_teardown; }

# evs ID...: one small Event per id.
evs() {
	local id
	for id in "$@"; do
		printf '{"event_type":"message","event_id":"%s"}\n' "$id"
	done
}

@test "a duplicate inside the window is dropped and acknowledged; outside the window it passes" {
	evs a b a c d e a >"$T/in.ndjson"
	echo '{"event_type":"message"}' >>"$T/in.ndjson"
	run --separate-stderr vk-route --stats --dedup 3 --ack "$T/ack" -e '* -> stdout' <"$T/in.ndjson"
	assert_success
	# the second a is among the last 3 ids (a b); the third is not (c d e)
	assert_equal "$(printf '%s\n' "$output" | ids)" "a b c d e a null"
	assert_equal "$(tr '\n' ' ' <"$T/ack")" "a b a c d e a "
	[[ "$stderr" == *"vk-route: 1 duplicate dropped (--dedup)"* ]]
	[[ "$stderr" == *"vk-route: stats: dedup window=3 max=3 duplicates=1"* ]]
}

@test "--dedup-state keeps the window across a restart" {
	evs a b c | vk-route --dedup 100 --dedup-state "$T/state" -e "* -> file:$T/out1.ndjson"
	assert_equal "$(ids <"$T/out1.ndjson")" "a b c"
	run vk-route --dedup 100 --dedup-state "$T/state" -e "* -> file:$T/out2.ndjson" < <(evs b d c e)
	assert_success
	assert_line "vk-route: 2 duplicates dropped (--dedup)"
	assert_equal "$(ids <"$T/out2.ndjson")" "d e"
	# a smaller window keeps the newest ids
	run vk-route --dedup 2 --dedup-state "$T/state" -e "* -> file:$T/out3.ndjson" < <(evs d e a)
	assert_success
	assert_equal "$(ids <"$T/out3.ndjson")" "a"
	assert_equal "$(cat "$T/state")" "$(printf '%s\n' 'vk-route-dedup 1' '"e"' '"a"' 'end 2')"
}

@test "--dedup-state saves only what was delivered: an Event dropped at the end passes after a restart" {
	mkfifo "$T/stuck"
	run vk-route --drain-timeout 0.3 --dedup 100 --dedup-state "$T/state" \
		-e ".event_id == \"b\" -> file:$T/stuck" -e "* -> file:$T/out1.ndjson" < <(evs a b c)
	assert_failure 1
	assert_equal "$(cat "$T/state")" "$(printf '%s\n' 'vk-route-dedup 1' '"a"' 'end 1')"
	# the poller sends b and c again: both are delivered this time
	run vk-route --dedup 100 --dedup-state "$T/state" -e "* -> file:$T/out2.ndjson" < <(evs a b c)
	assert_success
	assert_equal "$(ids <"$T/out2.ndjson")" "b c"
}

@test "--dedup-state is saved while running, atomically, not only at exit" {
	mkfifo "$T/in"
	vk-route --dedup 100 --dedup-state "$T/state" -e "* -> file:$T/out.ndjson" <"$T/in" 2>"$T/err" 3>&- &
	local pid=$!
	# the input stays open: only the periodic save can write the file
	(evs a b c; exec sleep 30) >"$T/in" 3>&- &
	PIDS="$pid $!"
	wait_until 10 grep_file '^end 3$' "$T/state"
	kill -9 "$pid"
	wait "$pid" || true
	[ ! -e "$T/state.tmp" ]
	run vk-route --dedup 100 --dedup-state "$T/state" -e "* -> stdout" < <(evs c d)
	assert_success
	assert_output "$(evs d)
vk-route: 1 duplicate dropped (--dedup)"
}

# damaged CONTENT MESSAGE: a state file holding CONTENT stops vk-route, exit 3.
damaged() {
	printf '%b' "$1" >"$T/state"
	run vk-route --dedup 10 --dedup-state "$T/state" -e '* -> stdout' </dev/null
	assert_failure 3
	assert_output "vk-route: --dedup-state $T/state: $2: the file is damaged; remove it to start with an empty window"
}

@test "a damaged --dedup-state file is a configuration error that says what to do" {
	damaged 'hello\n' "line 1: not a vk-route-dedup file"
	damaged 'vk-route-dedup 1\n"a"\n"b"\n' "line 3: no end line (the file was cut short)"
	damaged 'vk-route-dedup 1\n"a"\nb\nend 2\n' "line 3: not a JSON string"
	damaged 'vk-route-dedup 1\n"a"\nend 2\n' "line 3: the end line counts 2 ids, the file holds 1"
	damaged 'vk-route-dedup 1\n"a"\nend 1' "line 3: incomplete last line"
	damaged '' "line 1: empty file"
}

@test "--dedup takes a window size; --dedup-state needs --dedup" {
	run vk-route --dedup 0 -e '* -> stdout' </dev/null
	assert_failure 2
	assert_output "vk-route: --dedup takes a whole number from 1 to 100000000, not '0'"
	run vk-route --dedup-state "$T/state" -e '* -> stdout' </dev/null
	assert_failure 2
	assert_output "vk-route: --dedup-state needs --dedup N (the size of the window it keeps)"
}

@test "--dedup-state from an older vk-route with a very long id: loaded, that id not remembered, the others are" {
	{ echo 'vk-route-dedup 1'; echo '"a"'; printf '"%s"\n' "$(head -c 20000 /dev/zero | tr '\0' x)"; echo '"b"'; echo 'end 3'; } >"$T/state"
	run vk-route --dedup 10 --dedup-state "$T/state" -e '* -> stdout' < <(evs a b c)
	assert_success
	assert_output "$(evs c)
vk-route: 2 duplicates dropped (--dedup)"
}
