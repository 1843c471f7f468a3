#!/usr/bin/env bats
# vkpipe with VKPIPE_CALL_SOCKET: a vk-call --listen beside the pipeline,
# holding the token; handlers find the socket in the same variable.

load helper
load lib-call

VKPIPE="$VKPIPE_BIN/vkpipe"

setup() {
	W="$BATS_TEST_TMPDIR"
	export VKPIPE_STATE_DIR="$W/state" VK_GROUP_ID=42
	unset VK_TOKEN_FILE VKPIPE_RULES VKPIPE_REDIS_URL VKPIPE_POLL_ARGS VKPIPE_NORMALIZE_ARGS VKPIPE_ROUTE_ARGS
}

teardown() {
	[ -z "${PIPE_PID:-}" ] || stop_pid "$PIPE_PID"
	call_teardown
}

sent_at_least() { [ "$(grep -c . "$SENT")" -ge "$1" ]; }

# The environment of each process started for this test whose command line
# has --handle (the example's handler), found by a variable only they have.
handler_envs() {
	local p
	for p in /proc/[0-9]*; do
		{ tr '\0' '\n' < "$p/environ"; } 2>/dev/null | grep -qxF "CALL_TEST_MARK=$W" || continue
		{ tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -q -- --handle || continue
		{
			echo "== $(tr '\0' ' ' < "$p/cmdline")"
			tr '\0' '\n' < "$p/environ"
			ls -l "$p/fd" | sed 's/^/fd: /'
		} 2>/dev/null
	done
}
has_handler() { [ -n "$(handler_envs)" ]; }

msg_new() { # event_id peer text
	printf '{"type":"message_new","event_id":"%s","group_id":42,"object":{"message":{"from_id":5,"peer_id":%s,"conversation_message_id":1,"text":"%s"}}}' "$1" "$2" "$3"
}

@test "vkpipe: VKPIPE_CALL_SOCKET: the echo bot's handler answers through vk-call, and never sees the token" {
	call_fake "{\"group_id\":42,\"updates\":[$(msg_new e1 2000000002 hello),$(msg_new e2 2000000003 again)],\"idle\":0.2}"
	printf '%s\n' ".event_type == \"message\" -> exec:'$REPO_DIR/examples/echo-bot' --handle" > "$W/rules.conf"
	CALL_TEST_MARK=$W VKPIPE_RULES="$W/rules.conf" VKPIPE_CALL_SOCKET="$W/call.sock" \
		"$VKPIPE" > "$W/out" 2> "$W/err" &
	PIPE_PID=$!
	wait_until 30 sent_at_least 2
	assert_equal "$(jq -c '[.peer_id, .message]' "$SENT" | sort)" "$(printf '%s\n' '[2000000002,"hello"]' '[2000000003,"again"]')"
	assert_equal "$(stat -c %a "$W/call.sock")" 660
	wait_until 10 has_handler
	run handler_envs
	assert_line "VKPIPE_CALL_SOCKET=$W/call.sock"
	refute_output --partial VK_TOKEN
	refute_output --partial "$CALL_TOKEN"
	refute_output --regexp 'fd: .*token'
	# the token reached the VK API all the same
	assert_equal "$(jq -r '.form.access_token // empty' "$LOG" | sort -u)" "$CALL_TOKEN"
	# SIGTERM: everything drains and stops, vk-call last; the socket goes
	kill -TERM "$PIPE_PID"
	st=0
	wait "$PIPE_PID" || st=$?
	PIPE_PID=
	assert_equal "$st" 0
	[ ! -e "$W/call.sock" ]
	refute grep -F "$CALL_TOKEN" "$W/err"
}

@test "vkpipe --check: a VKPIPE_CALL_SOCKET that cannot be made is refused, nothing started" {
	call_fake '{"group_id":42}'
	run --separate-stderr env VKPIPE_CALL_SOCKET="$W/no/such/dir/call.sock" "$VKPIPE" --check
	assert_failure 3
	[[ "$stderr" == *"cannot create it"* ]]
	run --separate-stderr env VKPIPE_CALL_SOCKET="$W/call.sock" "$VKPIPE" --check
	assert_success
	[ ! -e "$W/call.sock" ]
}
