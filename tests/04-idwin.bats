#!/usr/bin/env bats
# common/idwin.h: the bounded window of event_ids vk-callback dedups with.

load helper

iw() { "$VKPIPE_UNIT/idwin-test" "$@"; }

@test "idwin: an id is found with its value until cap newer ones came" {
	{ for i in $(seq 1 10); do echo "add e$i $i 0"; done
	  echo "get e1 0"; echo "get e6 0"; echo "get e7 0"; echo "get e10 0"; echo size; } >"$BATS_TEST_TMPDIR/in"
	run -0 iw 5 0 <"$BATS_TEST_TMPDIR/in"
	assert_output "$(printf 'e1 -\ne6 6\ne7 7\ne10 10\nsize 5')"
}

@test "idwin: ids older than the age are forgotten as time passes, the rest kept" {
	printf 'add a 1 0\nadd b 2 5\nadd c 3 9\nget a 10\nget b 10\nget b 15.5\nget c 15.5\nsize\n' >"$BATS_TEST_TMPDIR/in"
	run -0 iw 100 10 <"$BATS_TEST_TMPDIR/in"
	assert_output "$(printf 'a 1\nb 2\nb -\nc 3\nsize 1')"
}

@test "idwin: 300000 ids through a window of 100000: memory stays bounded, the newest found" {
	awk 'BEGIN { for (i = 0; i < 300000; i++) printf "add id%040d %d 0\n", i, i;
	    print "get id" sprintf("%040d", 199999) " 0"; print "get id" sprintf("%040d", 200000) " 0";
	    print "get id" sprintf("%040d", 299999) " 0"; print "size" }' >"$BATS_TEST_TMPDIR/in"
	run -0 iw 100000 10800 <"$BATS_TEST_TMPDIR/in"
	assert_output "$(printf 'id%040d -\nid%040d 200000\nid%040d 299999\nsize 100000' 199999 200000 299999)"
}

@test "idwin: the window is read oldest first, with each id's value (what --dedup-state saves)" {
	{ for i in $(seq 1 7); do echo "add e$i $((i * 10)) 0"; done; echo "add e6 99 0"; echo list; } >"$BATS_TEST_TMPDIR/in"
	run -0 iw 4 0 <"$BATS_TEST_TMPDIR/in"
	assert_output "$(printf 'e4 40\ne5 50\ne6 60\ne7 70')"
}

@test "idwin: seen finds an id or remembers it, in one step" {
	printf 'seen a 1 0\nseen b 2 0\nseen a 3 0\nseen c 4 0\nseen a 5 0\nget b 0\nget c 0\nsize\n' >"$BATS_TEST_TMPDIR/in"
	run -0 iw 2 0 <"$BATS_TEST_TMPDIR/in"
	assert_output "$(printf 'a new\nb new\na seen\nc new\na new\nb -\nc 4\nsize 2')"
}
