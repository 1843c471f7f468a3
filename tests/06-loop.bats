#!/usr/bin/env bats
# common/loop.h: the wait every event loop shares (vk-callback, vk-call).

load helper

lt() { "$VKPIPE_UNIT/loop-test" "$@"; }

@test "loop: a SIGTERM that lands before the wait ends the wait at once (no lost wake-up)" {
	run lt race
	assert_success
	assert_output woke
}

@test "loop: only a ready entry's callback runs, with its owner" {
	run lt dispatch
	assert_success
	assert_output "ready p"
}

@test "loop: the earliest deadline ends the wait" {
	run lt deadline
	assert_success
	assert_output timeout
}
