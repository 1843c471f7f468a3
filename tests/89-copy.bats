#!/usr/bin/env bats
# The suite needs nothing outside the repository: a few files of it run
# from a copy of the tree in a temporary directory, with no shared folder
# other checkout next to it, pass as they do here.

load helper

@test "copy: a copy of the repository at another path passes its poll, vkpipe and demo tests" {
	local dst="$BATS_TEST_TMPDIR/elsewhere/vkpipe copy"
	mkdir -p "$dst"
	tar -C "$REPO_DIR" --exclude=./.git --exclude=./bin --exclude=./bin-asan \
		--exclude='./build*' -cf - . | tar -C "$dst" -xf -
	[ ! -e "$(dirname "$dst")/shared" ]
	run env -u SAMPLES VKPIPE_BIN="$VKPIPE_BIN" VKPIPE_UNIT="$VKPIPE_UNIT" \
		bats "$dst/tests/20-poll.bats" "$dst/tests/81-vkpipe-service.bats" "$dst/tests/90-demo.bats"
	echo "$output" | grep -v '^ok' >&3 || true
	assert_success
	refute_output --partial "not ok"
}
