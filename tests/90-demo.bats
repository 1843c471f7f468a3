#!/usr/bin/env bats
# The README's first command: make demo (tests/demo.sh), the whole pipeline
# against the fake VK server.

load helper

setup() {
	T="$BATS_TEST_TMPDIR/t"
	mkdir "$T"
}

# all_gone_in FILE: every pid listed in FILE has ended
all_gone_in() {
	local p
	for p in $(cat "$1"); do gone "$p" || return 1; done
}

@test "demo: the sample goes vk-poll | vk-normalize | vk-route and is shown, file by file" {
	TMPDIR="$T" DEMO_PIDS="$T/pids" run sh "$REPO_DIR/tests/demo.sh" "$VKPIPE_BIN"
	assert_success
	assert_line --partial "vkpipe demo: 54 VK updates from a fake VK server on 127.0.0.1:"
	assert_line --regexp '^  commands\.ndjson +7 events$'
	assert_line --regexp '^  moderation\.ndjson +2 events$'
	assert_line --regexp '^  interactions\.ndjson +9 events$'
	assert_line --regexp '^      command  Имя87641997 Фамилия87641997: /echo 123$'
	assert_line "  command   7"
	assert_line "  message   31"
	assert_line "  button    6"
	assert_line "  reaction  3"
	assert_line "  vk-normalize: line 54: message_new without an integer object.message.peer_id"
	assert_output --partial "two bad lines on purpose"
	assert_line --partial '"peer":{"bpid":2000000001,"cid":1,"name":"Чат 1"}'
	# nothing left behind
	all_gone_in "$T/pids"
	assert_equal "$(ls "$T")" pids
}

@test "demo: cut short by its reader (make demo | head -1), it stops and removes all it started" {
	TMPDIR="$T" DEMO_PIDS="$T/pids" sh "$REPO_DIR/tests/demo.sh" "$VKPIPE_BIN" | head -n 1 > "$T/first"
	grep -q "^vkpipe demo: " "$T/first"
	wait_until 20 all_gone_in "$T/pids"
	assert_equal "$(ls "$T")" "first
pids"
}

@test "demo: SIGTERM while the pipeline runs: it stops and removes all it started" {
	TMPDIR="$T" DEMO_PIDS="$T/pids" sh "$REPO_DIR/tests/demo.sh" "$VKPIPE_BIN" > "$T/out" 2>&1 &
	demo=$!
	wait_until 20 lines_at_least 2 "$T/pids"	# the fake and vkpipe run
	kill -TERM "$demo"
	wait "$demo" || true
	wait_until 20 all_gone_in "$T/pids"
	assert_equal "$(ls "$T")" "out
pids"
}
