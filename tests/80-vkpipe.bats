#!/usr/bin/env bats
# vkpipe, the entrypoint: vk-poll | vk-normalize | vk-route from the
# environment, against the fake VK server.

load helper

load lib-vkpipe

setup() {
	vkpipe_setup
}

teardown() {
	vkpipe_teardown
	[ -z "${REDIS_PID:-}" ] || kill "$REDIS_PID" 2>/dev/null || true
	[ -z "${SUB_PID:-}" ] || kill "$SUB_PID" 2>/dev/null || true
}

@test "vkpipe: a missing token, a bad group id, unreadable or bad rules: a clear message, exit 3, nothing started" {
	fake 10
	run --separate-stderr env -u VK_TOKEN "$VKPIPE"
	assert_failure 3
	assert_equal "$stderr" "vkpipe: no VK token: set VK_TOKEN (or VK_TOKEN_FILE) to the community's access token (community settings, API usage)"
	run --separate-stderr env VK_TOKEN_FILE=/nonexistent "$VKPIPE"
	assert_failure 3
	assert_equal "$stderr" "vkpipe: VK_TOKEN_FILE /nonexistent cannot be read: mount the token file there, or set VK_TOKEN"
	run --separate-stderr env VK_GROUP_ID=club42 "$VKPIPE"
	assert_failure 3
	assert_equal "$stderr" "vkpipe: VK_GROUP_ID must be the community's numeric id (1 to 999999999999), not 'club42'"
	run --separate-stderr env VKPIPE_RULES="$W/none.conf" "$VKPIPE"
	assert_failure 3
	assert_equal "$stderr" "vkpipe: rules file $W/none.conf cannot be read"
	printf '.event_type == -> stdout\n' > "$W/bad.conf"
	run --separate-stderr env VKPIPE_RULES="$W/bad.conf" "$VKPIPE"
	assert_failure 3
	[[ "$stderr" == *"vk-route: $W/bad.conf:1:16: "* ]]
	[[ "$stderr" == *"vkpipe: vk-route does not accept its settings (see above); nothing was started"* ]]
	# not one request reached VK, and no stage is left
	assert_equal "$(wc -l < "$W/api.log")" 0
	run "$VKPIPE" --check
	assert_success
}

@test "vkpipe: events flow to stdout with the default rules; the ts is kept in the state directory" {
	fake 120
	VKPIPE_POLL_ARGS="--max-events 120 --wait 1" run --separate-stderr "$VKPIPE"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_id)" "$(cat "$W/want")"
	assert_equal "$(jq -r .ts "$W/state/vk-poll.ts")" 220
	# the token was never shown
	refute_output --partial entry-token-77
	[[ "$stderr" != *entry-token-77* ]]
}

@test "vkpipe: SIGTERM stops vk-poll first; what is in the pipe still reaches a slow handler" {
	fake 300 100
	cat > "$W/slow.sh" <<'EOF2'
#!/bin/sh
while IFS= read -r line; do printf '%s\n' "$line" >> "$1"; sleep 0.005; done
EOF2
	chmod +x "$W/slow.sh"
	printf '* -> exec:%s %s\n' "$W/slow.sh" "$W/handled" > "$W/rules.conf"
	VKPIPE_RULES="$W/rules.conf" VKPIPE_POLL_ARGS="--wait 1" "$VKPIPE" > /dev/null 2> "$W/err" &
	PIPE_PID=$!
	# vk-poll has fetched everything (it polls at ts 400), the handler is
	# behind (its ts is saved only once the handler has read each Event)
	wait_until 30 sh -c "grep -q '\"ts\": \"400\"' '$W/api.log'"
	pids=$(stage_pid vk-poll; stage_pid vk-normalize; stage_pid vk-route)
	[ "$(wc -l < "$W/handled" 2>/dev/null || echo 0)" -lt "$(wc -l < "$W/want")" ]
	kill -TERM "$PIPE_PID"
	wait "$PIPE_PID" && status=0 || status=$?
	PIPE_PID=
	assert_equal "$status" 0
	assert_equal "$(jq -r .event_id "$W/handled")" "$(cat "$W/want")"
	# every stage ended (the handler with vk-route), and the run directory went
	all_gone $pids
	assert_equal "$(echo "$W"/vkpipe.*)" "$W/vkpipe.*"
}

@test "vkpipe: a stage that dies takes the pipeline down, non-zero, naming the stage" {
	fake 40 5
	VKPIPE_POLL_ARGS="--wait 5" VKPIPE_NORMALIZE_ARGS="--prefix /!#" "$VKPIPE" > "$W/out" 2> "$W/err" &
	PIPE_PID=$!
	wait_until 30 lines_at_least 30 "$W/out"
	pids=$(stage_pid vk-poll; stage_pid vk-route)
	kill -KILL "$(stage_pid vk-normalize)"
	wait "$PIPE_PID" && status=0 || status=$?
	PIPE_PID=
	assert_equal "$status" 1
	run cat "$W/err"
	assert_line "vkpipe: vk-normalize was killed by signal 9; stopping the pipeline"
	all_gone $pids
}

@test "vkpipe: with VKPIPE_REDIS_URL each event is published on the channel named after its type" {
	command -v redis-server >/dev/null || skip "redis-server is not installed"
	fake 200
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no > /dev/null 2>&1 &
	REDIS_PID=$!
	wait_until 10 redis-cli -p "$port" ping
	redis-cli -p "$port" --raw psubscribe '*' > "$W/sub" &
	SUB_PID=$!
	wait_until 10 grep -q psubscribe "$W/sub"
	VKPIPE_REDIS_URL="redis://127.0.0.1:$port" VKPIPE_POLL_ARGS="--max-events 200 --wait 1" \
		run --separate-stderr "$VKPIPE"
	assert_success
	assert_equal "$output" ""
	want=$(vk-normalize --offline "$W/updates.ndjson" 2>/dev/null | jq -r .event_type | sort | uniq -c)
	wait_until 10 sh -c "[ \$(grep -c '^pmessage\$' '$W/sub') -ge $(grep -c . "$W/want") ]"
	kill "$SUB_PID" "$REDIS_PID"
	# pmessage, pattern, channel, payload: the channel is the payload's type
	got=$(awk '$0 == "pmessage" { getline; getline ch; getline ev; print ch "\t" ev }' "$W/sub" |
		while IFS="$(printf '\t')" read -r ch ev; do
			[ "$(printf '%s' "$ev" | jq -r .event_type)" = "$ch" ] && echo "$ch"
		done | sort | uniq -c)
	assert_equal "$got" "$want"
}
