#!/usr/bin/env bats
# vkpipe with VKPIPE_SOURCE=callback: vk-callback | vk-normalize | vk-route,
# the same acks, dedup and state directory as with vk-poll.

load helper
load lib-callback

VKPIPE="$VKPIPE_BIN/vkpipe"

setup() {
	W="$BATS_TEST_TMPDIR"
	export VKPIPE_STATE_DIR="$W/state" VK_GROUP_ID=42 VK_TOKEN=entry-token-77
	export VKPIPE_SOURCE=callback VKPIPE_LISTEN=127.0.0.1:0 VK_CALLBACK_CONFIRM=c0de42
	unset VK_TOKEN_FILE VKPIPE_RULES VKPIPE_REDIS_URL VKPIPE_POLL_ARGS VKPIPE_NORMALIZE_ARGS \
		VKPIPE_ROUTE_ARGS VK_CALLBACK_SECRET
	printf '%s\n' "$CB_SECRET" >"$W/secret"
	chmod 600 "$W/secret"
	export VK_CALLBACK_SECRET_FILE="$W/secret"
	printf '{"token":"entry-token-77","group_id":42}\n' >"$W/sc.json"
	fake_vk_start "$W/sc.json" "$W/api.log"
}

teardown() {
	[ -z "${PIPE_PID:-}" ] || kill -TERM "$PIPE_PID" 2>/dev/null || true
	[ -z "${PIPE_PID:-}" ] || wait_until 10 gone "$PIPE_PID" || kill -KILL "$PIPE_PID" 2>/dev/null || true
	cb_teardown
	fake_vk_stop
}

# start_vkpipe: vkpipe in the background (pid $PIPE_PID), stdout to $W/out,
# stderr to $W/err; the port vk-callback got goes to $CB_PORTFILE.
start_vkpipe() {
	CB_PORTFILE="$W/port"
	: >"$W/err"
	"$VKPIPE" >>"$W/out" 2>>"$W/err" </dev/null 3>&- &
	PIPE_PID=$!
	wait_until 20 grep_file 'vk-callback: listening on' "$W/err"
	CB_PORT=$(sed -n 's/^vk-callback: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$W/err" | tail -n 1)
	echo "$CB_PORT" >"$CB_PORTFILE"
}

stop_vkpipe() {
	kill -TERM "$PIPE_PID"
	status=0
	wait "$PIPE_PID" || status=$?
	PIPE_PID=
}

@test "vkpipe callback: events flow end to end; ok only once delivered; confirmation answered" {
	start_vkpipe
	post '{"type":"confirmation","group_id":42,"secret":"'"$CB_SECRET"'"}'
	assert_equal "$(cat "$RESP")" c0de42
	bodies 40
	run -0 send --senders 4
	stop_vkpipe
	assert_equal "$status" 0
	assert_equal "$(ids "$W/out" | tr ' ' '\n' | sort | paste -sd' ')" \
		"$(ids "$EXPECTED" | tr ' ' '\n' | sort | paste -sd' ')"
	assert_equal "$(jq -r .event_type "$W/out" | sort -u)" message
	# The token and the secret were never shown.
	run ! grep -F -e entry-token-77 -e "$CB_SECRET" "$W/out" "$W/err"
}

@test "vkpipe callback: a restart drops VK's resends of what was delivered (vk-route's dedup state)" {
	start_vkpipe
	bodies 20
	send --senders 2
	stop_vkpipe
	assert_equal "$status" 0
	[ -s "$W/state/vk-route.dedup" ]
	start_vkpipe
	# VK resends all of them (their oks were lost, say): answered ok, not delivered again.
	run -0 send --senders 2
	bodies 5 --from 100
	send
	stop_vkpipe
	assert_equal "$(wc -l <"$W/out")" 25
}

@test "vkpipe callback: the secret reaches no handler's environment" {
	cat >"$W/h.sh" <<'EOF2'
#!/bin/sh
env >"$1"
cat >/dev/null
EOF2
	chmod +x "$W/h.sh"
	printf '* -> exec:%s %s\n' "$W/h.sh" "$W/env" >"$W/rules.conf"
	export VKPIPE_RULES="$W/rules.conf"
	unset VK_CALLBACK_SECRET_FILE
	export VK_CALLBACK_SECRET="$CB_SECRET"
	start_vkpipe
	bodies 3
	run -0 send
	wait_until 10 grep_file PATH "$W/env"
	stop_vkpipe
	run ! grep -F "$CB_SECRET" "$W/env"
}

@test "vkpipe callback: a bad source, an unreadable secret file, a bad listen address: exit 3" {
	VKPIPE_SOURCE=carrier-pigeon run -3 "$VKPIPE"
	assert_output --partial 'VKPIPE_SOURCE'
	VK_CALLBACK_SECRET_FILE="$W/nonexistent" run -3 "$VKPIPE"
	assert_output --partial 'VK_CALLBACK_SECRET_FILE'
	VKPIPE_LISTEN=nonsense run -3 "$VKPIPE" --check
	assert_output --partial 'vk-callback: --listen nonsense'
	run -0 "$VKPIPE" --check
	# An address another program listens on fails the check, not the run.
	cb_start
	VKPIPE_LISTEN="127.0.0.1:$CB_PORT" run -3 "$VKPIPE" --check
	assert_output --partial "vk-callback: --listen 127.0.0.1:$CB_PORT: cannot listen there"
}
