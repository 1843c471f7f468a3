#!/usr/bin/env bats
# vk-route: "delivered" means the destination took the line, and chat data
# can neither stall, exhaust nor escape the destinations (issue 11: one
# test, at least, for each of the eight things found broken).
load helper
load lib-route

HTTPRECV="$FIXTURES/route/http-recv.py"

setup() {
	route_setup
	MNT=
}

teardown() {
	[ -z "$MNT" ] || umount "$MNT" 2>/dev/null || true
	route_teardown
}

# acks FILE: the acknowledged ids, space-separated.
acks() {
	[ -f "$1" ] && tr '\n' ' ' <"$1" | sed 's/ $//'
}

# events ID:TEXT...: one message Event per argument.
events() {
	python3 -c '
import json, sys
for a in sys.argv[1:]:
    i, _, t = a.partition(":")
    print(json.dumps({"event_type": "message", "event_id": i,
        "user": {"name": "u" + i}, "message": {"text": t}}, ensure_ascii=False))
' "$@"
}

# --- 1. a handler that cannot start, or reads nothing, delivers nothing ---

@test "exec: a handler that is not executable, or missing, delivers nothing: no ack, exit 1, spilled" {
	printf '#!/bin/sh\ncat >/dev/null\n' >"$T/handler"	# not executable
	mkdir "$T/spill"
	for h in "$T/handler" "$T/no-such-handler"; do
		rm -f "$T/ack" "$T/spill"/*
		run --separate-stderr vk-route --stats --ack "$T/ack" --spill "$T/spill" \
			--drain-timeout 0.5 -e "* -> exec:$h" <"$EVENTS"
		assert_failure 1
		[[ "$stderr" == *"dest exec:$h delivered=0 queued=0 failed=0 spilled=9"* ]]
		# the dead-letter file has them all, so they are acknowledged
		assert_equal "$(ids <"$(spill_file "$T/spill" "exec_${h//[\/.]/_}" .ndjson)")" \
			"e1 e2 e3 e4 e5 e6 e7 e8 e9"
	done
	# without --spill: not delivered, not acknowledged, exit 1
	rm -f "$T/ack"
	run --separate-stderr vk-route --stats --ack "$T/ack" --drain-timeout 0.5 \
		-e "* -> exec:$T/handler" <"$EVENTS"
	assert_failure 1
	[[ "$stderr" == *"Permission denied"* ]]
	[[ "$stderr" == *"dest exec:$T/handler delivered=0 queued=0 failed=9 spilled=0"* ]]
	[[ "$stderr" == *"rule -e:1 -> exec:$T/handler matched=9 delivered=0 failed=9"* ]]
	assert_equal "$(acks "$T/ack")" ""
}

@test "exec: a handler that exits at once, or never reads, delivers nothing" {
	for h in true "sleep 30"; do
		rm -f "$T/ack"
		run --separate-stderr vk-route --stats --ack "$T/ack" --drain-timeout 0.5 \
			-e "* -> exec:$h" <"$EVENTS"
		assert_failure 1
		[[ "$stderr" == *"dest exec:$h delivered=0 queued=0 failed=9 spilled=0"* ]]
		[[ "$stderr" == *"9 lines not delivered"* ]]
		assert_equal "$(acks "$T/ack")" ""
	done
}

@test "exec:…#confirm: a line is delivered only once the handler confirmed its event_id" {
	# confirms every other Event it reads: e1, e3, e5, e7, e9
	cat >"$T/h.sh" <<-'H'
	#!/bin/sh
	n=0
	while IFS= read -r line; do
		n=$((n + 1))
		[ $((n % 2)) -eq 1 ] && printf '%s\n' "$line" | jq -r .event_id
	done
	H
	chmod +x "$T/h.sh"
	run --separate-stderr vk-route --stats --ack "$T/ack" -e "* -> exec:$T/h.sh#confirm" <"$EVENTS"
	assert_failure 1
	[[ "$stderr" == *"dest exec:$T/h.sh#confirm delivered=5 queued=0 failed=4 spilled=0"* ]]
	[[ "$stderr" == *"4 lines not delivered: the handler did not confirm them"* ]]
	# e2 was never confirmed: neither it nor any later Event is acknowledged
	assert_equal "$(acks "$T/ack")" "e1"
	# a handler that confirms everything delivers everything
	printf '#!/bin/sh\nexec jq --unbuffered -r .event_id\n' >"$T/all.sh"
	chmod +x "$T/all.sh"
	rm -f "$T/ack"
	run --separate-stderr vk-route --stats --ack "$T/ack" -e "* -> exec:$T/all.sh#confirm" <"$EVENTS"
	assert_success
	assert_equal "$(acks "$T/ack")" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
	# an unknown option is refused when the rules are loaded
	run vk-route --check -e "* -> exec:$T/all.sh#confirm,sometimes"
	assert_failure 3
	assert_output --partial "unknown option #sometimes"
}

@test "exec:…#confirm: replies are read as ack lines: CRLF, blank lines, an overlong line skipped whole, never a false id" {
	# before each confirmation: a blank line and 5000 bytes of junk (longer
	# than any id), then the id ended by CRLF
	cat >"$T/h.sh" <<-'H'
	#!/bin/sh
	junk=$(head -c 5000 /dev/zero | tr '\0' x)
	while IFS= read -r line; do
		printf '\n%s\n%s\r\n' "$junk" "$(printf '%s\n' "$line" | jq -r .event_id)"
	done
	H
	chmod +x "$T/h.sh"
	run --separate-stderr vk-route --stats --ack "$T/ack" -e "* -> exec:$T/h.sh#confirm" <"$EVENTS"
	assert_success
	assert_equal "$(acks "$T/ack")" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
	[[ "$stderr" == *"dest exec:$T/h.sh#confirm delivered=9 queued=0 failed=0 spilled=0"* ]]
	[[ "$stderr" != *"confirmed"* ]]
}

# --- 2. a value that can never be opened fails its line only ---

@test "file: a 300-character name and '.' are refused for good; later lines flow and are acknowledged" {
	local long
	long=$(printf 'x%.0s' $(seq 300))
	mkdir "$T/out" "$T/spill"
	events "e1:ok" "e2:$long" "e3:." "e4:fine" >"$T/in"
	cd "$T/out"
	run --separate-stderr timeout 20 vk-route --stats --ack "$T/ack" --spill "$T/spill" \
		-e "* -> file:{.message.text}" <"$T/in"
	assert_failure 1
	assert_equal "$(ids <"$T/out/ok")" "e1"
	assert_equal "$(ids <"$T/out/fine")" "e4"
	# kept with the reason, in files whose names stay short
	assert_equal "$(cat "$T"/spill/*.rejected.ndjson | jq -r .event.event_id | sort | tr '\n' ' ')" "e2 e3 "
	cat "$T"/spill/*.rejected.ndjson | jq -r .error | grep -q "File name too long"
	cat "$T"/spill/*.rejected.ndjson | jq -r .error | grep -q "Is a directory"
	for f in "$T"/spill/*; do [ "${#f}" -lt $((${#T} + 90)) ]; done
	assert_equal "$(acks "$T/ack")" "e1 e2 e3 e4"
	# without --spill: failed, no ack of their own, the others acknowledged
	rm -f "$T/ack"
	run --separate-stderr timeout 20 vk-route --drain-timeout 1 --ack "$T/ack" \
		-e "* -> file:{.message.text}" <"$T/in"
	assert_failure 1
	[[ "$stderr" == *"refused a line: cannot open ${long:0:120}…: File name too long"* ]]
	assert_equal "$(acks "$T/ack")" "e1 e4"
}

# --- 3. distinct values cannot exhaust descriptors or processes ---

@test "1500 chats under ulimit -n 256: every file gets its lines, nothing waits" {
	python3 -c '
import json
for i in range(3000):
    print(json.dumps({"event_id": "e%d" % i, "peer": {"cid": i % 1500}}))
' >"$T/in"
	mkdir "$T/chats"
	run --separate-stderr bash -c "ulimit -n 256 && cd '$T/chats' &&
		timeout 60 vk-route --stats --ack '$T/ack' -e '* -> file:chat-{.peer.cid}.ndjson' <'$T/in'"
	assert_success
	assert_equal "$(find "$T/chats" -type f | wc -l)" 1500
	assert_equal "$(cat "$T"/chats/* | wc -l)" 3000
	assert_equal "$(jq -r .event_id "$T/chats/chat-7.ndjson" | tr '\n' ' ')" "e7 e1507 "
	assert_equal "$(wc -l <"$T/ack")" 3000
	[[ "$stderr" == *"closed template destinations"* ]]
}

@test "3000 distinct exec values: live handlers never exceed --max-open" {
	cat >"$T/h.sh" <<-H
	#!/bin/sh
	exec cat >>"$T/all.ndjson"
	H
	chmod +x "$T/h.sh"
	python3 -c '
import json
for i in range(3000):
    print(json.dumps({"event_id": "e%d" % i, "message": {"text": "t%d" % i}}))
' >"$T/in"
	vk-route --max-open 20 --drain-timeout 60 -e "* -> exec:$T/h.sh {.message.text}" <"$T/in" 2>"$T/err" &
	local pid=$! most=0 now
	PIDS="$pid"
	while kill -0 "$pid" 2>/dev/null; do
		now=$(ps -o pid= --ppid "$pid" | wc -l)
		[ "$now" -le "$most" ] || most=$now
		sleep 0.02
	done
	wait "$pid"
	[ "$most" -ge 2 ]	# it did run handlers side by side
	[ "$most" -le 20 ]
	assert_equal "$(wc -l <"$T/all.ndjson")" 3000
}

# --- 4. URL templates: values are data ---

@test "http://: template values are percent-encoded, dots included; '.' and '..' are refused" {
	python3 "$HTTPRECV" "$T/port" "$T/got" &
	PIDS="$!"
	wait_until 10 test -s "$T/port"
	events "e1:.." "e2:." "e3:%2e%2e" "e4:a/b" "e5:x.y" >"$T/in"
	run --separate-stderr vk-route -e "* -> http://127.0.0.1:$(cat "$T/port")/hooks/{.message.text}/in" <"$T/in"
	assert_failure 1
	# (each URL is a destination of its own: no order between them)
	assert_equal "$(sort "$T/got.paths")" "$(printf '%s\n' /hooks/%252e%252e/in /hooks/a%2Fb/in /hooks/x%2Ey/in | sort)"
	[[ "$stderr" == *'{.message.text} = ".." is a dot segment, which a URL may not'* ]]
	[[ "$stderr" == *'{.message.text} = "." is a dot segment, which a URL may not'* ]]
}

# --- 5. values side by side are checked together ---

@test "file: adjacent templates that make '..' are refused; nothing is written outside" {
	mkdir -p "$T/work/in"
	python3 -c '
import json
print(json.dumps({"event_id": "e1", "user": {"name": "."}, "message": {"text": "."}}))
' >"$T/in"
	cd "$T/work"
	run vk-route -e "* -> file:{.user.name}{.message.text}/x.ndjson" <"$T/in"
	assert_failure 1
	assert_line --partial "the file name \"../x.ndjson\" has a '..' component"
	[ ! -e "$T/x.ndjson" ]
	# with --spill it is dead-lettered with the reason, and acknowledged
	mkdir "$T/spill"
	run vk-route --spill "$T/spill" --ack "$T/ack" \
		-e "* -> file:{.user.name}{.message.text}/x.ndjson" <"$T/in"
	assert_failure 1
	assert_equal "$(jq -r .event.event_id "$T"/spill/*.rejected.ndjson)" "e1"
	assert_equal "$(acks "$T/ack")" "e1"
	[ ! -e "$T/x.ndjson" ]
}

# --- 6. a regex that cannot be matched is an error, not "no match" ---

@test "regex: a 4096-character text is matched despite the JIT stack; one that cannot be is an error" {
	python3 -c '
import json
print(json.dumps({"event_id": "long", "message": {"text": "a" * 4096}}))
print(json.dumps({"event_id": "bomb", "message": {"text": "a" * 40 + "b"}}))
print(json.dumps({"event_id": "short", "message": {"text": "ab"}}))
' >"$T/in"
	run --separate-stderr vk-route --stats -e ".message.text =~ \"^(ab|a)+\$\" -> file:$T/yes" \
		-e ".message.text !~ \"^(ab|a)+\$\" -> file:$T/no" <"$T/in"
	assert_success
	assert_equal "$(ids <"$T/yes")" "long bomb short"
	[ ! -e "$T/no" ]
	# exponential backtracking: PCRE2's match limit; neither branch, reported
	run --separate-stderr vk-route --stats --ack "$T/ack" \
		-e ".message.text !~ \"^(a|a)*\$\" -> file:$T/not" -e "else -> file:$T/else" <"$T/in"
	assert_failure 1
	[[ "$stderr" == *"line 2: rule -e:1: the regular expression could not be matched (match limit exceeded)"* ]]
	[[ "$stderr" == *"rule -e:1 -> file:$T/not matched=1 delivered=1 failed=0 errors=1"* ]]
	assert_equal "$(ids <"$T/else")" "long"
	assert_equal "$(ids <"$T/not")" "short"
	assert_equal "$(acks "$T/ack")" "long short"
}

# --- 7. a full disk leaves no broken line ---

@test "a full disk (tmpfs) mid-line: the fragment is cut off, the line retried whole once there is room" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount a tmpfs"
	MNT="$T/mnt"
	mkdir "$MNT"
	mount -t tmpfs -o size=128k tmpfs "$MNT" 2>/dev/null || { MNT=; skip "cannot mount a tmpfs here"; }
	# leave about 20 KB free: events of ~3 KB each will not all fit
	dd if=/dev/zero of="$MNT/filler" bs=1k count=108 2>/dev/null || true
	python3 -c '
import json
for i in range(40):
    print(json.dumps({"event_id": "e%d" % i, "pad": "x" * 3000}))
' >"$T/in"
	mkfifo "$T/feed"
	vk-route --stats -e "* -> file:$MNT/out.ndjson" <"$T/feed" 2>"$T/err" &
	local pid=$!
	PIDS="$pid"
	exec 5>"$T/feed"
	cat "$T/in" >&5
	wait_until 20 grep_file "No space left on device; will retry" "$T/err"
	rm -f "$MNT/filler"
	exec 5>&-
	wait "$pid"
	# every line whole, each once, in order
	assert_equal "$(jq -r .event_id "$MNT/out.ndjson" | tr '\n' ' ')" "$(seq -f 'e%g' 0 39 | tr '\n' ' ')"
	grep -q "delivered=40 queued=0 failed=0" "$T/err"
}

# --- 8. the smaller ones ---

@test "a standard output closed by its reader makes the exit status 1" {
	python3 -c '
for i in range(20000):
    print("{\"event_id\":\"e%d\",\"pad\":\"%s\"}" % (i, "x" * 100))
' >"$T/in"
	run bash -c "vk-route -e '* -> stdout' -e '* -> file:$T/all.ndjson' <'$T/in' 2>'$T/err' | head -n 1 >/dev/null; echo \${PIPESTATUS[0]}"
	assert_output 1
	assert_equal "$(wc -l <"$T/all.ndjson")" 20000
	grep -q "stdout: the reader went away" "$T/err"
}

@test "per-rule and per-destination counts agree" {
	mkfifo "$T/stuck"
	run --separate-stderr vk-route --stats --drain-timeout 0.3 -e ".event_id != \"e1\" -> file:$T/stuck" \
		-e "* -> file:$T/out.ndjson" <"$EVENTS"
	assert_failure 1
	[[ "$stderr" == *"rule -e:1 -> file:$T/stuck matched=8 delivered=0 failed=8"* ]]
	[[ "$stderr" == *"dest file:$T/stuck delivered=0 queued=0 failed=8 spilled=0"* ]]
	[[ "$stderr" == *"rule -e:2 -> file:$T/out.ndjson matched=9 delivered=9 failed=0"* ]]
}

@test "control characters in template values and in rule files are escaped in messages" {
	events $'e1:a\nvk-route: FORGED' >"$T/in"
	run --separate-stderr vk-route --drain-timeout 0.3 -e "* -> exec:false {.message.text}" <"$T/in"
	assert_failure 1
	[[ "$stderr" == *'a\x0avk-route: FORGED'* ]]
	[ "$(grep -c '^vk-route: FORGED' <<<"$stderr")" -eq 0 ]
	printf '* -> bogus\rvk-route: FORGED2\n' >"$T/rules"
	run --separate-stderr vk-route --check "$T/rules"
	assert_failure 3
	[[ "$stderr" == *'bogus\x0dvk-route: FORGED2'* ]]
	[[ "$stderr" != *$'\r'* ]]
}

@test "loading rules makes no destination: --check, and a SIGHUP reload that then fails" {
	run vk-route --check -e "* -> exec:$T/never-started" -e "* -> file:$T/never.ndjson"
	assert_success
	[ ! -e "$T/never.ndjson" ]
	printf '* -> file:%s/one.ndjson\n' "$T" >"$T/rules"
	mkfifo "$T/feed"
	vk-route "$T/rules" <"$T/feed" 2>"$T/err" &
	local pid=$!
	PIDS="$pid"
	exec 5>"$T/feed"
	echo '{"event_id":"a"}' >&5	# up and running: signals are handled
	wait_until 10 lines_at_least 1 "$T/one.ndjson"
	printf '* -> file:%s/new.ndjson\n.x == -> stdout\n' "$T" >"$T/rules"
	kill -HUP "$pid"
	wait_until 10 grep_file "keeping the rules in use" "$T/err"
	kill -USR1 "$pid"
	wait_until 10 grep_file "stats: dest" "$T/err"
	exec 5>&-
	wait "$pid"
	[ "$(grep "stats: dest" "$T/err" | grep -c new.ndjson)" -eq 0 ]
	grep -q "stats: dest file:$T/one.ndjson" "$T/err"
}
