#!/usr/bin/env bats
# The README's first command: make demo (tests/demo.sh), the whole pipeline
# against the fake VK server.

load helper

@test "demo: the sample goes vk-poll | vk-normalize | vk-route and is shown, file by file" {
	run sh "$REPO_DIR/tests/demo.sh" "$VKPIPE_BIN"
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
	assert_line --partial '"peer":{"bpid":2000000001,"cid":1,"name":"Чат 1"}'
	# no stage left behind
	run pgrep -f "fake-vk.py .*vkpipe-demo"
	assert_failure
}
