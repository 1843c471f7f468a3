#!/usr/bin/env bats
# common/ack.h: the acknowledgement line, one format for its writers
# (vk-route, vk-callback) and its reader (vk-poll), with one limit.

load helper

at() { "$VKPIPE_UNIT/ack-test" "$@"; }

# long N: an id of N bytes.
long() { head -c "$1" /dev/zero | tr '\0' x; }

@test "ack: ids are read whole however the bytes are split, CRLF too; blank lines say nothing" {
	printf 'e1\ne2\r\n\nev-\xd0\xbf3\ne4' >"$BATS_TEST_TMPDIR/in"
	for n in 1 2 3 7 16384 0; do
		run at read "$n" <"$BATS_TEST_TMPDIR/in"
		assert_success
		# e4 has no end of line yet: not an ack until one comes
		assert_output "$(printf 'id e1\nid e2\nid ev-\xd0\xbf3\nbad 0')"
	done
}

@test "ack: a line longer than the limit is skipped whole, never cut into a false id" {
	{ echo a; long 1024; echo; long 1025; echo; long 5000; echo; echo b; } >"$BATS_TEST_TMPDIR/in"
	for n in 1 100 16384 0; do
		run at read "$n" <"$BATS_TEST_TMPDIR/in"
		assert_success
		assert_output "$(printf 'id a\nid %s\nid b\nbad 2' "$(long 1024)")"
	done
}

@test "ack: the writer refuses what the reader would not take, and says why" {
	run at write <<<"$(echo ok; long 1024; echo; long 1025; echo; printf 'a\tb\n')"
	assert_success
	assert_output "$(printf 'ok\n%s\nrefused: an event_id longer than an ack line takes (1024 bytes)\nrefused: an event_id with a control character' "$(long 1024)")"
}

@test "ack: both ends over a FIFO: acks wait for a reader that comes later, then arrive whole and in order" {
	mkfifo "$BATS_TEST_TMPDIR/ack"
	run at fifo "$BATS_TEST_TMPDIR/ack" <<<"$(printf 'e1\ne2\n%s\ne4' "$(long 1024)")"
	assert_success
	assert_output "$(printf 'kept 1\nid e1\nid e2\nid %s\nid e4' "$(long 1024)")"
}

@test "ack: vk-route writes no ack for an event_id the reader would not take, says so, and goes on" {
	{
		echo '{"event_id":"e1"}'
		printf '{"event_id":"%s"}\n' "$(long 2000)"
		echo '{"event_id":"e3"}'
	} >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-route --ack "$BATS_TEST_TMPDIR/ack" -e '* -> stdout' <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$stderr" "vk-route: line 2: an event_id of 2000 bytes, longer than 1024: not remembered (no acknowledgement of its own; not kept by --dedup, so a copy sent again is delivered again)"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/ack")" "$(printf 'e1\ne3')"
	assert_equal "$(ids <<<"$output")" "e1 $(long 2000) e3"
}
