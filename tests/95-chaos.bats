#!/usr/bin/env bats
# The whole service under kill -9 (tests/chaos.sh, small): vk-poll,
# vk-normalize, vk-route and Redis killed at random moments and restarted on
# the same state files, against a fake VK server injecting faults.

load helper

@test "chaos: every event reaches the Redis stream, in order, through kills of every stage" {
	command -v redis-server >/dev/null || skip "redis-server is not installed"
	run timeout 300 sh "$REPO_DIR/tests/chaos.sh" "$VKPIPE_BIN" 4000 6 300
	echo "$output" | tail -n 8 >&3
	assert_success
	assert_line --regexp '^chaos: [0-9]+ events expected, [0-9]+ in the stream: 0 lost, [0-9]+ duplicated, in order, over 6 kills$'
}
