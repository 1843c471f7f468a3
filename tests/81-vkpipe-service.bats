#!/usr/bin/env bats
# vkpipe as a service: output inherited (appending, sockets), SIGHUP and
# SIGUSR1, no stage orphaned, the token kept from vk-route and its
# handlers, --version, --check that writes nothing, *_ARGS not globbed.

load helper
load lib-vkpipe

setup() {
	vkpipe_setup
}

teardown() {
	vkpipe_teardown
}

@test "vkpipe >> log: the events are appended to what the log held" {
	fake 60
	head -c 3893 /dev/urandom | base64 > "$W/events.log"
	cp "$W/events.log" "$W/before"
	VKPIPE_POLL_ARGS="--max-events 60 --wait 1" "$VKPIPE" >> "$W/events.log" 2> "$W/err"
	n=$(wc -c < "$W/before")
	cmp -n "$n" "$W/before" "$W/events.log"
	assert_equal "$(tail -c +$((n + 1)) "$W/events.log" | jq -r .event_id)" "$(cat "$W/want")"
}

@test "vkpipe: standard output a Unix socket (as the journal gives): events flow, exit 0" {
	fake 40
	VKPIPE_POLL_ARGS="--max-events 40 --wait 1" \
		run --separate-stderr python3 "$REPO_DIR/tests/socketpair.py" "$W/got" "$VKPIPE"
	assert_success
	[[ "$stderr" != *"/dev/stdout"* ]]
	assert_equal "$(jq -r .event_id "$W/got")" "$(cat "$W/want")"
}

@test "vkpipe: SIGHUP makes vk-route take the rules changed on disk; vkpipe says so and runs on" {
	gen 40 "$W/all.ndjson"
	fake 20
	echo "* -> file:$W/a.ndjson" > "$W/rules.conf"
	VKPIPE_RULES="$W/rules.conf" VKPIPE_POLL_ARGS="--wait 1" start
	wait_until 30 lines_at_least "$(wc -l < "$W/want")" "$W/a.ndjson"
	echo "* -> file:$W/b.ndjson" > "$W/rules.conf"
	kill -HUP "$PIPE_PID"
	wait_until 10 grep_file "vk-route: rules reloaded: 1 rule" "$W/err"
	grep -q "^vkpipe: SIGHUP: vk-route reloads its rules and reopens its files$" "$W/err"
	# twenty more updates: the new rules take them
	scenario "$W/all.ndjson"
	vk-normalize --offline "$W/all.ndjson" 2>/dev/null | jq -r .event_id > "$W/want"
	wait_until 30 lines_at_least "$(($(wc -l < "$W/want") - $(wc -l < "$W/a.ndjson")))" "$W/b.ndjson"
	kill -0 "$PIPE_PID"
	stop
	assert_equal "$status" 0
	assert_equal "$(cat "$W/a.ndjson" "$W/b.ndjson" | jq -r .event_id)" "$(cat "$W/want")"
}

@test "vkpipe: SIGUSR1 makes every stage write its statistics; vkpipe runs on" {
	fake 30
	VKPIPE_POLL_ARGS="--wait 1" start
	wait_until 30 lines_at_least "$(wc -l < "$W/want")" "$W/out"
	kill -USR1 "$PIPE_PID"
	wait_until 10 grep_file "^vk-poll: stats: poll polls=" "$W/err"
	wait_until 10 grep_file "^vk-normalize: stats:" "$W/err"
	wait_until 10 grep_file "^vk-route: stats:" "$W/err"
	grep -q "^vkpipe: SIGUSR1: every stage writes its statistics$" "$W/err"
	grep -q "^vk-poll: stats: poll polls=[0-9]* updates=30 " "$W/err"
	kill -0 "$PIPE_PID"
	stop
	assert_equal "$status" 0
	assert_equal "$(jq -r .event_id "$W/out")" "$(cat "$W/want")"
}

@test "vkpipe killed with -9: no stage is left running" {
	fake 20
	echo "* -> exec:cat" > "$W/rules.conf"
	VKPIPE_RULES="$W/rules.conf" VKPIPE_POLL_ARGS="--wait 1" start
	wait_until 30 lines_at_least "$(wc -l < "$W/want")" "$W/out"
	pids=$(stage_pid vk-poll; stage_pid vk-normalize; stage_pid vk-route)
	kill -9 "$PIPE_PID"
	wait "$PIPE_PID" || true
	PIPE_PID=
	wait_until 20 all_gone $pids
}

@test "vkpipe: a handler that dumps its environment and descriptors finds no token" {
	fake 10
	cat > "$W/dump.sh" <<EOF
#!/bin/sh
env > "$W/env"
ls -l /proc/self/fd/ > "$W/fds"
cat > /dev/null
EOF
	chmod +x "$W/dump.sh"
	echo "* -> exec:$W/dump.sh" > "$W/rules.conf"
	VKPIPE_RULES="$W/rules.conf" VKPIPE_POLL_ARGS="--wait 1" start
	wait_until 20 test -s "$W/env"
	route=$(stage_pid vk-route)
	tr '\0' '\n' < "/proc/$route/environ" > "$W/route-env"
	ls -l "/proc/$route/fd/" > "$W/route-fds"
	stop
	assert_equal "$status" 0
	grep -q "^VK_GROUP_ID=42$" "$W/env"	# the dump worked
	run ! grep -q entry-token-77 "$W/env" "$W/route-env"
	# no descriptor open on the token's file (it would show as ".../token (deleted)")
	grep -q ' 0 -> ' "$W/fds"
	run ! grep -q token "$W/fds"
	grep -q ' 0 -> ' "$W/route-fds"
	run ! grep -q token "$W/route-fds"
	run ! grep -q '^VK_TOKEN=' "$W/env" "$W/route-env"
	# nor is it in any file of the run directory, nor on stderr
	run ! grep -rq entry-token-77 "$W/err" "$W/out"
}

@test "vkpipe: the token from VK_TOKEN_FILE still reaches vk-poll and vk-normalize" {
	fake 30
	printf 'entry-token-77\n' > "$W/token"
	chmod 600 "$W/token"
	VK_TOKEN= VK_TOKEN_FILE="$W/token" VKPIPE_POLL_ARGS="--max-events 30 --wait 1" \
		run --separate-stderr "$VKPIPE"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_id)" "$(cat "$W/want")"
	# vk-normalize asked VK for names with it
	grep -q '"endpoint": *"users.get"' "$W/api.log" || grep -q 'users.get' "$W/api.log"
}

@test "vkpipe --version: the version of the Makefile" {
	run "$VKPIPE" --version
	assert_success
	assert_output "vkpipe $(sed -n 's/^VERSION[[:space:]]*=[[:space:]]*//p' "$REPO_DIR/Makefile")"
	run "$VKPIPE" --bogus
	assert_failure 2
}

# bad NAME=VALUE...: vkpipe and vkpipe --check both exit 3 with it, and
# nothing was written: no state directory, no run directory, no request.
bad() {
	local mode
	for mode in --check ''; do
		run --separate-stderr env "$@" "$VKPIPE" $mode
		[ "$status" -eq 3 ] || { echo "$* $mode: status $status: $stderr"; return 1; }
		[ -n "$stderr" ]
	done
	[ ! -e "$W/state" ] || { echo "$*: the state directory was made"; return 1; }
	assert_equal "$(ls "$W" | grep -v -e '^updates.ndjson$' -e '^sc.json$' -e '^fake\.' -e '^api.log$' -e '^want$' -e '^separate-stderr-')" ""
	assert_equal "$(wc -l < "$W/api.log")" 0
}

@test "vkpipe: each bad setting gives exit 3 and creates nothing, with or without --check" {
	fake 5
	bad VKPIPE_DEDUP=lots
	bad VKPIPE_DEDUP=-1
	bad VKPIPE_DEDUP=100000001
	bad VK_GROUP_ID=0
	bad VK_GROUP_ID=99999999999999999999999
	bad VK_GROUP_ID=
	bad VK_TOKEN=
	bad VK_TOKEN_FILE="$W/none"
	bad VKPIPE_RULES="$W/none"
	bad VKPIPE_REDIS_URL=redis://
	bad VKPIPE_AMQP_URL=amqp://127.0.0.1:99999
	bad VKPIPE_POLL_ARGS=--bogus
	bad VKPIPE_POLL_ARGS="--wait 0"
	bad VKPIPE_NORMALIZE_ARGS=--bogus
	bad VKPIPE_NORMALIZE_ARGS="--rate 0"
	bad VKPIPE_ROUTE_ARGS=--bogus
	bad VKPIPE_ROUTE_ARGS="--spill $W/none"	# checked by vk-route --check too
	bad VKPIPE_ROUTE_ARGS="--reject $W/want/rejected.ndjson"	# under a file
	bad VK_API_URL=ftp://example.org/method
	bad VKPIPE_BACKOFF_MS=fast
	bad VKPIPE_STATE_DIR="$W/want/state"	# under a file
	# a good configuration checks out, and still writes nothing
	run --separate-stderr "$VKPIPE" --check
	assert_success
	[ ! -e "$W/state" ]
	assert_equal "$(wc -l < "$W/api.log")" 0
}

@test "vkpipe: *_ARGS are split into words, never expanded as file names" {
	fake 5
	mkdir "$W/cwd"
	touch "$W/cwd/a" "$W/cwd/b"
	cd "$W/cwd"
	VKPIPE_ROUTE_ARGS='--queue *' run --separate-stderr "$VKPIPE" --check
	assert_failure 3
	[[ "$stderr" == *"vk-route: --queue takes "*", not '*'"* ]]
	VKPIPE_ROUTE_ARGS='--queue   5 --drain-timeout 2' run --separate-stderr "$VKPIPE" --check
	assert_success
}

@test "vk-normalize --check: options, token and reject file checked; the reject file is not made" {
	run vk-normalize --check --reject "$W/rejects"
	assert_success
	[ ! -e "$W/rejects" ]
	run vk-normalize --check --reject "$W/none/rejects"
	assert_failure 3
	run vk-normalize --check --rate 0
	assert_failure 2
	run vk-normalize --check --token-file "$W/none"
	assert_failure 3
}
