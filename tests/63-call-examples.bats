#!/usr/bin/env bats
# examples/: whole bots in a few lines of shell (vk-poll | vk-normalize |
# vk-route -> a jq handler -> vk-call), against the fake VK.

load helper
load lib-call

teardown() {
	# the bot runs in its own process group: stop all of it
	[ -z "${BOT:-}" ] || kill -TERM -- "-$BOT" 2>/dev/null || true
	call_teardown
}

# bot NAME: start examples/NAME in a process group of its own.
bot() {
	VK_GROUP_ID=42 setsid "$REPO_DIR/examples/$1" > "$BATS_TEST_TMPDIR/bot.out" \
		2> "$BATS_TEST_TMPDIR/bot.err" &
	BOT=$!
}

# The processes of the bot's group whose command line has --handle.
handler_envs() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(cut -d' ' -f5 "$p/stat" 2>/dev/null)" = "$BOT" ] || continue
		tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -q -- --handle || continue
		tr '\0' '\n' < "$p/environ"
	done
}

sent_at_least() { [ "$(grep -c . "$SENT")" -ge "$1" ]; }
has_handler() { [ -n "$(handler_envs)" ]; }

msg_new() { # event_id peer text
	printf '{"type":"message_new","event_id":"%s","group_id":42,"object":{"message":{"from_id":5,"peer_id":%s,"conversation_message_id":1,"text":"%s"}}}' "$1" "$2" "$3"
}

@test "examples/echo-bot says each message back to its chat, once; the handler never sees the token" {
	call_fake "{\"updates\":[$(msg_new e1 2000000002 'hello'),$(msg_new e2 5 'привет \"там\"'),$(msg_new e3 2000000002 '/cmd')],\"idle\":0.2}"
	bot echo-bot
	wait_until 30 sent_at_least 2
	assert_equal "$(jq -c '[.peer_id, .message]' "$SENT")" "$(printf '%s\n' '[2000000002,"hello"]' '[5,"привет \"там\""]')"
	wait_until 10 has_handler
	run handler_envs
	assert_line --partial VKPIPE_CALL_SOCKET=
	refute_output --partial VK_TOKEN
	refute_output --partial "$CALL_TOKEN"
}

@test "examples/button-bot: /menu gets a button; a press gets its snackbar" {
	press='{"type":"message_event","event_id":"p1","group_id":42,"object":{"user_id":5,"peer_id":2000000002,"event_id":"beid-77","payload":{"button":"one"},"conversation_message_id":9}}'
	call_fake "{\"updates\":[$(msg_new e1 2000000002 '/menu'),$press],\"idle\":0.2}"
	bot button-bot
	wait_until 30 sent_at_least 2
	assert_equal "$(jq -r 'select(.method == "messages.send") | .message' "$SENT")" "Press a button"
	assert_equal "$(jq -r 'select(.method == "messages.sendMessageEventAnswer") | .event_id' "$SENT")" beid-77
	assert_equal "$(jq -r 'select(.method == "messages.sendMessageEventAnswer") | .event_data | fromjson | .text' "$SENT")" \
		"Имя5 pressed one"
	assert_equal "$(jq -r 'select(.method == "messages.send") | .keyboard | fromjson | .buttons[0][0].action.type' "$SENT")" callback
}

@test "examples/picture-bot: /cat gets a picture from PICTURE_DIR, uploaded byte for byte and sent as an attachment" {
	mkdir -p "$BATS_TEST_TMPDIR/cats" "$BATS_TEST_TMPDIR/store"
	head -c 20000 /dev/urandom > "$BATS_TEST_TMPDIR/cats/tom.jpg"
	call_fake "{\"updates\":[$(msg_new e1 2000000002 '/cat'),$(msg_new e2 2000000002 'no cat')],\"idle\":0.2,\"upload_store\":\"$BATS_TEST_TMPDIR/store\"}"
	PICTURE_DIR="$BATS_TEST_TMPDIR/cats" bot picture-bot
	wait_until 30 sent_at_least 1
	assert_equal "$(jq -c '[.peer_id, (.attachment | test("^photo-42_[0-9]+_ak[0-9]+$"))]' "$SENT")" '[2000000002,true]'
	cmp "$BATS_TEST_TMPDIR/store/u1" "$BATS_TEST_TMPDIR/cats/tom.jpg"
	assert_equal "$(jq -r 'select(.endpoint == "upload") | .filename' "$LOG")" tom.jpg
}

# group_empty: no process of the bot's group is left.
group_empty() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(cut -d' ' -f5 "$p/stat" 2>/dev/null)" = "$BOT" ] && ! gone "${p#/proc/}" && return 1
	done
	return 0
}

@test "examples: kill PID (SIGTERM to the bot's shell alone) stops each bot, and all it started" {
	mkdir "$BATS_TEST_TMPDIR/cats"
	for b in echo-bot button-bot picture-bot; do
		call_fake "{\"updates\":[$(msg_new e1 2000000002 'hello')],\"idle\":0.2}"
		PICTURE_DIR="$BATS_TEST_TMPDIR/cats" bot "$b"
		wait_until 30 grep_file '"a_check"' "$LOG"	# polling: the whole bot runs
		kill -TERM "$BOT"
		wait_until 20 gone "$BOT"
		wait "$BOT" && st=0 || st=$?
		assert_equal "$st" 0
		wait_until 20 group_empty
		BOT=
		call_teardown
	done
}
