#!/usr/bin/env bats
# The README's first command: make demo.

load helper

@test "demo: the bundled sample goes through and is shown with counts per type" {
	run sh "$REPO_DIR/tests/demo.sh" "$VKPIPE_BIN"
	assert_success
	assert_line --partial "vkpipe demo: 54 raw VK updates"
	assert_line --regexp '^command +chat 1 +87641997 +/echo 123'
	assert_line --regexp '^reaction +dm 171882202 +171882202 +reaction removed on message 15459$'
	assert_line "  command   7"
	assert_line "  message   31"
	assert_line "  button    6"
	assert_line "  reaction  3"
	assert_line "  vk-normalize: line 54: message_new without an integer object.message.peer_id"
}
