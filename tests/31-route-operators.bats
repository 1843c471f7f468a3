#!/usr/bin/env bats
# vk-route: every operator of the rules language, against fixture Events,
# including type mismatches and missing paths (which read as null).
load helper
load lib-route

ALL="e1 e2 e3 e4 e5 e6 e7 e8 e9"

@test "* takes every event" {
	run route_ids '*'
	assert_output "$ALL"
}

@test "== compares strings and numbers" {
	run route_ids '.event_type == "message"'
	assert_output "e2 e3 e8"
	run route_ids '.peer.cid == 2'
	assert_output "e1 e6"
	run route_ids '.user.uuid == -49872008'
	assert_output "e3"
}

@test "== compares numbers by value: 2 == 2.0 == 20e-1" {
	run route_ids '.button.payload.n == 2.0'
	assert_output "e4"
	run route_ids '.button.payload.n == 20e-1'
	assert_output "e4"
	run route_ids '.raw.ratio == 0.5'
	assert_output "e9"
}

@test "== compares int64 exactly (2^53 + 1 is not 2^53)" {
	run route_ids '.raw.big == 9007199254740993'
	assert_output "e9"
	run route_ids '.raw.big == 9007199254740992'
	assert_output ""
}

@test "== with true, false, null; a missing path is null" {
	run route_ids '.peer.cid == null'
	assert_output "e2 e4 e5 e7 e9"
	run route_ids '.no.such.path == null'
	assert_output "$ALL"
	run route_ids '.button.payload == null'
	assert_output "e1 e2 e3 e5 e6 e7 e8 e9"
	run route_ids '.peer.cid == false'
	assert_output ""
}

@test "== on arrays compares element by element" {
	run route_ids '.message.attachments == ["photo", "reply"]'
	assert_output "e1"
	run route_ids '.message.attachments == []'
	assert_output "e2 e8"
	run route_ids '.message.forward == [1]'
	assert_output ""
}

@test "a type mismatch never matches: a number is not a string" {
	run route_ids '.peer.cid == "2"'
	assert_output ""
	run route_ids '.event_type == 1'
	assert_output ""
	run route_ids '.peer.cid != "2"'
	assert_output "$ALL"
}

@test "!= is the negation of ==" {
	run route_ids '.event_type != "message"'
	assert_output "e1 e4 e5 e6 e7 e9"
	run route_ids '.peer.cid != null'
	assert_output "e1 e3 e6 e8"
}

@test "< <= > >= order numbers" {
	run route_ids '.user.uuid < 0'
	assert_output "e3"
	run route_ids '.peer.cid <= 3'
	assert_output "e1 e6 e8"
	run route_ids '.peer.cid > 2'
	assert_output "e3 e8"
	run route_ids '.peer.cid >= 2'
	assert_output "e1 e3 e6 e8"
	run route_ids '.user.uuid > 900000000'
	assert_output "e4 e5"
}

@test "< <= > >= order strings by bytes" {
	run route_ids '.event_type < "c"'
	assert_output "e4 e5"
	run route_ids '.event_type >= "reaction"'
	assert_output "e6 e7"
}

@test "orderings are false across types and for missing paths" {
	run route_ids '.peer.cid < "9"'
	assert_output ""
	run route_ids '.event_type > 0'
	assert_output ""
	run route_ids '.no.such > -1000'
	assert_output ""
	run route_ids '.no.such <= 0'
	assert_output ""
}

@test "=~ matches a POSIX extended regular expression" {
	run route_ids '.message.text =~ "^/(ban|kick)"'
	assert_output "e1"
	run route_ids '.message.text =~ "https?://[a-z.]+/"'
	assert_output "e3"
	run route_ids '.event_type =~ "^(button|reaction)$"'
	assert_output "e4 e5 e6 e7"
	run route_ids '.message.text =~ "^/{1,}[a-z]{3} "'
	assert_output "e1"
	run route_ids '.message.text =~ "^/{,1}ban"'
	assert_output "e1"
}

@test "=~ works on UTF-8 text and unescaped strings" {
	run route_ids '.message.text =~ "мир$"'
	assert_output "e2"
	run route_ids '.message.text =~ "^[[:alpha:]]+, [[:alpha:]]{3}$"'
	assert_output "e2"
	run route_ids '.message.text =~ "^.{11}$"'
	assert_output "e2"
	# the event holds a\"b\\c\/d \u00e9: the regex sees a"b\c/d é
	run route_ids '.message.text =~ "^a\"b\\\\c/d é$"'
	assert_output "e8"
	# in a bracket expression a backslash is an ordinary character (POSIX)
	run route_ids '.message.text =~ "b[\\\\]c"'
	assert_output "e8"
}

@test "=~ is false and !~ true for what is not a string" {
	run route_ids '.peer.cid =~ "2"'
	assert_output ""
	run route_ids '.message.attachments =~ "photo"'
	assert_output ""
	run route_ids '.message.text !~ "^/"'
	assert_output "e2 e3 e4 e5 e6 e7 e8 e9"
	run route_ids '.peer.cid !~ "."'
	assert_output "$ALL"
}

@test "in is membership in a list of literals" {
	run route_ids '.event_type in ["button", "reaction"]'
	assert_output "e4 e5 e6 e7"
	run route_ids '.reaction.rid in [4, 7]'
	assert_output "e6"
	run route_ids '.peer.cid in [2, "3", null]'
	assert_output "e1 e2 e4 e5 e6 e7 e9"
	run route_ids '.event_type in []'
	assert_output ""
}

@test "contains: array member, substring, object member name" {
	run route_ids '.message.attachments contains "photo"'
	assert_output "e1 e3"
	run route_ids '.message.text contains "мир"'
	assert_output "e2"
	run route_ids '.button.payload contains "cmd"'
	assert_output "e4"
	run route_ids '.message.forward contains 1'
	assert_output ""
	run route_ids '.user.uuid contains 5'
	assert_output ""
	run route_ids '.no.such contains "x"'
	assert_output ""
}

@test "array indexes, from the start and from the end; quoted names" {
	run route_ids '.message.attachments[0] == "photo"'
	assert_output "e1 e3"
	run route_ids '.message.attachments[-1] == "forward"'
	assert_output "e3"
	run route_ids '.message.forward[0].uuid == 1'
	assert_output "e3"
	run route_ids '.message.attachments[9] == null'
	assert_output "$ALL"
	run route_ids '."event_type" == "button"'
	assert_output "e4 e5"
	run route_ids '.["event_type"] == "button"'
	assert_output "e4 e5"
}

@test "member names written with escapes are found by their value" {
	run route_ids '.key == "v"'
	assert_output "e9"
	run route_ids '.raw."a/b".cd == 1'
	assert_output "e9"
	run route_ids '.raw["a/b"] contains "cd"'
	assert_output "e9"
}

@test "a member name holding \\u0000 is all of its bytes, as a string literal is" {
	printf '%s\n' '{"id":"x1","a\u0000b":1,"s":"p\u0000q"}' \
	    '{"id":"x2","a\u0000c":1,"s":"p\u0000r"}' '{"id":"x3","a":1,"s":"p"}' \
	    >"$BATS_TEST_TMPDIR/nul.ndjson"
	run vk-route -e '.["a\u0000b"] == 1 -> stdout' <"$BATS_TEST_TMPDIR/nul.ndjson"
	assert_success
	assert_output '{"id":"x1","a\u0000b":1,"s":"p\u0000q"}'
	run vk-route -e '.s == "p\u0000q" -> stdout' <"$BATS_TEST_TMPDIR/nul.ndjson"
	assert_output '{"id":"x1","a\u0000b":1,"s":"p\u0000q"}'
}

@test "a bare path holds when present and not null or false" {
	run route_ids '.button.payload'
	assert_output "e4"
	run route_ids '.message.reply'
	assert_output "e1"
	run route_ids 'not .peer.cid'
	assert_output "e2 e4 e5 e7 e9"
}

@test "and, or, not, parentheses, with not > and > or" {
	run route_ids '.event_type == "message" and .peer.cid == 3'
	assert_output "e8"
	run route_ids '.event_type == "command" or .event_type == "reaction" and .reaction.rid == 4'
	assert_output "e1 e6"
	run route_ids '(.event_type == "command" or .event_type == "reaction") and .peer.cid == 2'
	assert_output "e1 e6"
	run route_ids 'not .event_type == "message" and not .event_type == "button"'
	assert_output "e1 e6 e7 e9"
	run route_ids 'not (.event_type == "message" or .user.uuid > 0)'
	assert_output "e9"
}

@test "patterns PCRE2 cannot take run on regexec, with the same meaning" {
	# [[=b=]] (an equivalence class) has no PCRE2 spelling: regexec runs it.
	run route_ids '.event_type =~ "^[[=b=]]utton$"'
	assert_output "e4 e5"
	run route_ids '.event_type !~ "^[[=b=]]utton$"'
	assert_output "e1 e2 e3 e6 e7 e8 e9"
}

@test "plain literal patterns, anchored or not, match like any regex" {
	run route_ids '.message.text =~ "мир"'
	assert_output "e2"
	run route_ids '.message.text =~ "^/ban"'
	assert_output "e1"
	run route_ids '.message.text =~ "vasya$"'
	assert_output "e1"
	run route_ids '.message.text =~ "^/ban vasya$"'
	assert_output "e1"
	run route_ids '.message.text =~ "^/ban$"'
	assert_output ""
	run route_ids '.event_type =~ ""'
	assert_output "e1 e2 e3 e4 e5 e6 e7 e8 e9"
	run route_ids '.message.text !~ "^$"'
	assert_output "e1 e2 e3 e4 e5 e6 e7 e8 e9"
}
