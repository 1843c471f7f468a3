#!/usr/bin/env bats
# vk-route: the rules file, its errors (FILE:LINE:COL), --check, fan-out,
# else, templates and their path check, rejected input lines, options.
load helper
load lib-route

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
}

# rules_error 'RULES TEXT' 'EXPECTED MESSAGE': --check refuses it, exit 3.
rules_error() {
	printf '%s\n' "$1" >"$T/rules.conf"
	run vk-route --check "$T/rules.conf"
	assert_failure 3
	assert_output "vk-route: $T/rules.conf:$2"
}

@test "--check accepts a good rules file silently, with comments and blank lines" {
	cat >"$T/rules.conf" <<-'R'
	# CONDITION -> DESTINATION

	.event_type == "command"                      -> exec:./handlers/commands --fast
	.event_type == "message" and .peer.cid == 2   -> file:/var/log/vk/chat-2.ndjson
	.message.text =~ "^/(ban|kick)"               -> file:moderation.ndjson   # moderators
	.message.attachments contains "photo"         -> file:photos-{.peer.cid}.ndjson
	.event_type in ["button", "reaction"]         -> stdout
	  else                                        -> file:unrouted.ndjson
	R
	run vk-route --check "$T/rules.conf"
	assert_success
	assert_output ""
	run vk-route -v --check -c "$T/rules.conf"
	assert_output "vk-route: 6 rules OK"
}

@test "--check does not create files or start handlers" {
	run vk-route --check -e "* -> file:$T/never.ndjson" -e "* -> exec:touch $T/never.ran"
	assert_success
	[ ! -e "$T/never.ndjson" ]
	[ ! -e "$T/never.ran" ]
}

@test "--check checks the paths the run would write, and creates none of them" {
	: > "$T/file"
	run vk-route --check -e '* -> stdout' --spill "$T/none"
	assert_failure 3
	assert_output "vk-route: --spill $T/none: not a writable directory"
	run vk-route --check -e '* -> stdout' --reject "$T/file/rejected.ndjson"
	assert_failure 3
	assert_output "vk-route: --reject $T/file/rejected.ndjson: Not a directory"
	run vk-route --check -e '* -> stdout' --dedup 10 --dedup-state "$T/file/x"
	assert_failure 3
	run vk-route --check -e '* -> stdout' --ack "$T/file/ack"
	assert_failure 3
	run vk-route --check -e '* -> stdout' --spill "$T" --reject "$T/r" --ack "$T/a" \
		--dedup 10 --dedup-state "$T/d/state"
	assert_success
	assert_equal "$(ls "$T")" file
}

@test "rules errors: unknown and misspelt operators" {
	rules_error '.a = 1 -> stdout' "1:4: unknown operator '=': compare with ==, match with =~"
	rules_error '.a ! 1 -> stdout' "1:4: unknown operator '!': negate with not"
	rules_error '.a equals 1 -> stdout' "1:4: unknown word 'equals': an operator, and, or, or '->' before the destination expected"
	rules_error '.a "x" -> stdout' "1:4: an operator (==, !=, <, <=, >, >=, =~, !~, in, contains), and, or, or -> expected"
}

@test "rules errors: operands" {
	rules_error '.a == -> stdout' "1:7: a condition is expected before -> (use * to take every event)"
	rules_error 'event_type == 1 -> stdout' "1:1: unknown word 'event_type' (paths start with a dot: .event_type)"
	rules_error '"x" -> stdout' "1:1: a literal alone is not a condition: compare it with a path"
	rules_error '.a == 01 -> stdout' "1:7: invalid number: no leading zeros"
	rules_error '.a == 1.e5 -> stdout' "1:7: invalid number: digits expected after '.'"
	rules_error '.a == "open -> stdout' '1:7: unterminated string'
	rules_error '.a == "\d" -> stdout' '1:8: invalid escape \d in a string (a regex backslash is written \\)'
	rules_error '.a == "\u12" -> stdout' '1:8: invalid \u escape: four hex digits expected'
	rules_error '.a == $ -> stdout' "1:7: unexpected character '\$'"
}

@test "rules errors: paths" {
	rules_error '.a. == 1 -> stdout' "1:4: a member name is expected after '.'"
	rules_error '.a.1b == 1 -> stdout' "1:4: a member name is expected after '.' (quote other names: .\"1b\")"
	rules_error '.a[x] == 1 -> stdout' '1:3: an index like [0] or [-1], or a quoted name like ["a"], is expected'
}

@test "rules errors: regular expressions, in, orderings" {
	rules_error '.t =~ "(" -> stdout' "1:7: invalid regular expression: Unmatched ( or \\("
	rules_error '.t =~ "a{2,1}" -> stdout' "1:7: invalid regular expression: Invalid content of \\{\\}"
	rules_error '.t =~ .u -> stdout' '1:7: =~ and !~ take a regular expression in a string: "^/(ban|kick)"'
	rules_error '.t in "x" -> stdout' '1:7: in takes a list: in ["button", "reaction"]'
	rules_error '.t in [1, ] -> stdout' "1:11: a literal is expected after ','"
	rules_error '.t in [1 2] -> stdout' "1:10: ',' or ']' expected"
	rules_error '.t < true -> stdout' '1:6: <, <=, >, >= compare numbers or strings'
}

@test "rules errors: structure" {
	rules_error '(.a == 1 -> stdout' "1:10: ')' expected, to close the '(' at column 1"
	rules_error '.a == 1 stdout' "1:9: unknown word 'stdout': an operator, and, or, or '->' before the destination expected"
	rules_error '.a == 1' "1:8: '-> DESTINATION' expected at the end of the condition"
	rules_error '-> stdout' "1:1: a condition is expected before -> (use * to take every event)"
	rules_error '.a == 1 and -> stdout' "1:13: a condition is expected before -> (use * to take every event)"
	rules_error 'else .a == 1 -> stdout' "1:6: else takes no condition: '-> DESTINATION' expected"
}

@test "rules errors: destinations" {
	rules_error '* ->' '1:5: a destination is expected after ->: stdout, stderr, file:…, exec:…, tcp://…, unix:…, redis://…, amqp://…, amqps://…, http://…, https://…'
	rules_error '* ->   # nothing' '1:8: a destination is expected after ->: stdout, stderr, file:…, exec:…, tcp://…, unix:…, redis://…, amqp://…, amqps://…, http://…, https://…'
	rules_error '* -> smtp://x' "1:6: unknown destination 'smtp://x': use stdout, stderr, file:…, exec:…, tcp://…, unix:…, redis://…, amqp://…, amqps://…, http://…, https://…"
	rules_error '* -> stdout please' '1:13: this destination takes no argument'
	rules_error '* -> file:' '1:11: file: needs a path'
	rules_error '* -> exec:   ' '1:11: exec: needs a command'
	rules_error "* -> exec:sh -c 'echo" '1:17: unterminated quote in the command'
	rules_error '* -> file:out-{.peer.cid.ndjson' "1:15: unterminated template: '}' expected"
	rules_error '* -> file:out-{peer}.ndjson' '1:16: a template holds a path: {.peer.cid}'
	rules_error '* -> file:out-{.a b}.ndjson' "1:18: a template holds only a path: '}' expected"
}

@test "rules errors name the line: the third line of a file, the second -e" {
	printf '%s\n' '* -> stdout' '# fine' '.a == -> stdout' >"$T/rules.conf"
	run vk-route --check "$T/rules.conf"
	assert_failure 3
	assert_output --partial "rules.conf:3:7:"
	run vk-route --check -e '* -> stdout' -e '.a =! 1 -> stdout'
	assert_failure 3
	assert_output "vk-route: -e:2:4: unknown operator '=': compare with ==, match with =~"
}

@test "an unreadable rules file is a configuration error" {
	run vk-route --check "$T/missing.conf"
	assert_failure 3
	assert_output "vk-route: $T/missing.conf: cannot read the rules: No such file or directory"
}

@test "usage errors exit 2" {
	run vk-route
	assert_failure 2
	assert_output --partial "no rules"
	run vk-route -c a.conf b.conf
	assert_failure 2
	run vk-route --queue 0 -e '* -> stdout'
	assert_failure 2
	assert_output --partial "--queue takes a whole number from 1 to 1000000000"
	run vk-route --drain-timeout soon -e '* -> stdout'
	assert_failure 2
	run vk-route --bogus
	assert_failure 2
	assert_output --partial "usage: vk-route"
	run vk-route --help
	assert_success
	assert_output --partial "usage: vk-route"
}

@test "fan-out: every rule that holds delivers, in rule order" {
	run vk-route -e '.event_type == "command" -> stdout' \
		-e '.peer.cid == 2 -> stdout' -e '* -> file:'"$T/all.ndjson" <"$EVENTS"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | ids)" "e1 e1 e6"
	assert_equal "$(ids <"$T/all.ndjson")" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
	# lines are delivered byte for byte as they came
	run cmp "$EVENTS" "$T/all.ndjson"
	assert_success
}

@test "else takes only the events no other rule took; several else all deliver" {
	cat >"$T/rules.conf" <<-R
	else -> file:$T/else1.ndjson
	.event_type in ["button", "reaction"] -> file:$T/ui.ndjson
	.event_type == "message" -> file:$T/msg.ndjson
	else -> file:$T/else2.ndjson
	R
	run vk-route --stats "$T/rules.conf" <"$EVENTS"
	assert_success
	assert_equal "$(ids <"$T/ui.ndjson")" "e4 e5 e6 e7"
	assert_equal "$(ids <"$T/msg.ndjson")" "e2 e3 e8"
	assert_equal "$(ids <"$T/else1.ndjson")" "e1 e9"
	assert_equal "$(ids <"$T/else2.ndjson")" "e1 e9"
	assert_line "vk-route: stats: rule $T/rules.conf:1 -> file:$T/else1.ndjson matched=2 delivered=2 failed=0"
}

@test "events no rule takes are counted as unrouted" {
	run vk-route --stats -e '.event_type == "button" -> file:/dev/null' <"$EVENTS"
	assert_success
	assert_line "vk-route: stats: input lines=9 events=9 rejected=0 unrouted=7"
}

@test "templates: one file per value, numbers and strings" {
	cd "$T"
	run vk-route -e '.peer.cid != null -> file:chat-{.peer.cid}.ndjson' \
		-e '.event_type == "button" -> file:{.event_type}-{.user.uuid}.ndjson' <"$EVENTS"
	assert_success
	assert_equal "$(ids <chat-2.ndjson)" "e1 e6"
	assert_equal "$(ids <chat-5.ndjson)" "e3"
	assert_equal "$(ids <chat-3.ndjson)" "e8"
	assert_equal "$(ids <button-918650328.ndjson)" "e4 e5"
}

@test "templates: a value that is null or unsafe in a file name is reported, not written" {
	cd "$T"
	run vk-route --stats -e '.event_type == "message" -> file:nick-{.user.nick}.ndjson' \
		-e '.event_type == "message" -> file:cid-{.peer.cid}.ndjson' <"$EVENTS"
	assert_failure 1
	assert_line "vk-route: line 2: rule -e:1: {.user.nick} is null; event not delivered"
	assert_line 'vk-route: line 8: rule -e:1: {.user.nick} = "../evil" holds '"'/'"', which a file name may not; event not delivered'
	assert_line "vk-route: line 2: rule -e:2: {.peer.cid} is null; event not delivered"
	assert_line "vk-route: stats: rule -e:1 -> file:nick-{.user.nick}.ndjson matched=3 delivered=1 failed=2"
	assert_equal "$(ids <nick-club49872008.ndjson)" "e3"
	# nothing was written anywhere else
	run ls
	assert_output "$(printf '%s\n' cid-3.ndjson cid-5.ndjson nick-club49872008.ndjson)"
}

@test "templates: '..', control characters, objects are refused too" {
	cd "$T"
	run vk-route -e '.event_id == "e8" -> file:x-{.peer.name}' \
		-e '.event_id == "e1" -> file:x-{.message.reply}' \
		-e '.event_id == "e1" -> file:x-{.peer.name}' <"$EVENTS"
	assert_failure 1
	assert_line --partial '{.peer.name} = "tab\there" holds a control character'
	assert_line --partial '{.message.reply} is an object'
	# a space or a '|' is fine in a file name
	assert_equal "$(ids <"x-FUNCKA | DEV")" "e1"
}

@test "a line that is not a JSON object is rejected, kept verbatim, and the stream goes on" {
	{
		head -n 2 "$EVENTS"
		echo 'not json'
		echo '[1,2]'
		echo '{"a":1} {"b":2}'
		echo ''
		echo '{"event_type":"message","event_id":"x1","truncated":'
		tail -n 1 "$EVENTS"
	} >"$T/in.ndjson"
	run vk-route --reject "$T/rej.ndjson" -e "* -> file:$T/out.ndjson" <"$T/in.ndjson"
	assert_failure 1
	assert_line "vk-route: line 3: not JSON: invalid literal at byte 1"
	assert_line "vk-route: line 4: not a JSON object"
	assert_line "vk-route: line 5: not JSON: trailing characters after the JSON value at byte 9"
	assert_line "vk-route: line 7: not JSON: truncated: the line ends inside a value"
	assert_line "vk-route: 4 lines rejected"
	assert_equal "$(ids <"$T/out.ndjson")" "e1 e2 e9"
	assert_equal "$(cat "$T/rej.ndjson")" "$(sed -n '3,5p;7p' "$T/in.ndjson")"
}

@test "an unwritable reject file is a configuration error" {
	run vk-route --reject "$T/no/such/dir/rej" -e '* -> stdout' </dev/null
	assert_failure 3
	assert_output --partial "--reject $T/no/such/dir/rej: No such file or directory"
}
