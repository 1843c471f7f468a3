#!/usr/bin/env bats
# vk-poll: the protocol against the fake VK server, options, configuration.

load helper
load lib-poll

teardown_file() {
	fake_stop_all
}

@test "poll: every update once, in order, across batches" {
	scenario 10 3
	fake_start
	poll --max-events 10
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 0 9)"
	# 4 batches: 3+3+3+1
	assert_equal "$(requests a_check)" 4
}

@test "poll: updates are VK's bytes with only the white space outside strings removed" {
	fake_start "$FIXTURES/poll/exact.scenario.json"
	poll --max-events 4
	assert_equal "$status" 0
	cmp "$FIXTURES/poll/exact.out.ndjson" "$OUT"
}

@test "poll: real VK samples come out byte-exact, compacted" {
	"$PYTHON" - "$SAMPLES" "$POLL_TOKEN" >"$BATS_TEST_TMPDIR/sc.json" <<'PY'
import json, sys, glob
names = sorted(glob.glob(sys.argv[1] + "/message_*.json"))
raw = [open(n, encoding="utf-8").read() for n in names]
print(json.dumps({"token": sys.argv[2], "group_id": 42, "batch": 4, "pretty": True,
                  "updates_raw": raw}))
PY
	"$PYTHON" - "$SAMPLES" >"$BATS_TEST_TMPDIR/want" <<'PY'
import re, sys, glob
# An independent compaction: drop white space outside strings.
tok = re.compile(r'("(?:[^"\\]|\\.)*")|[ \t\r\n]+', re.S)
for n in sorted(glob.glob(sys.argv[1] + "/message_*.json")):
    print(tok.sub(lambda m: m.group(1) or "", open(n, encoding="utf-8").read()))
PY
	n=$(wc -l <"$BATS_TEST_TMPDIR/want")
	[ "$n" -gt 10 ]
	fake_start "$BATS_TEST_TMPDIR/sc.json"
	poll --max-events "$n"
	assert_equal "$status" 0
	cmp "$BATS_TEST_TMPDIR/want" "$OUT"
}

@test "poll: an update nested 500 deep passes whole, compacted, between its neighbours" {
	# 600 KB of objects and arrays 500 levels down inside object.message,
	# white space and brackets in strings at the bottom: VK's nesting limit
	# is not ours, and such a line is read in time linear in its length
	# (common/vkapi.c parses long-poll replies with json_parse_lazy)
	"$PYTHON" - "$POLL_TOKEN" "$BATS_TEST_TMPDIR" <<'PY'
import json, re, sys
tok, d = sys.argv[1], sys.argv[2]
piece = '[ {"a" :\n' * 250 + '"x ]}\\" \\" [{"' + '\n} ]' * 250
deep = ('{ "type" : "message_new", "event_id" : "ev-deep", "v" : "5.199", "group_id" : 42,\n'
        ' "object" : { "message" : { "id" : 1, "peer_id" : 2000000001, "text" : "[[ \\"",\n'
        ' "action" : [ ' + " ,\n".join([piece] * 300) + ' ] } } }')
side = ['{"type":"message_new","event_id":"ev-%d","object":{"message":{"text":"[ {"}}}' % i
        for i in (1, 2)]
raw = [side[0], deep, side[1]]
json.dump({"token": tok, "group_id": 42, "batch": 3, "updates_raw": raw},
          open(d + "/sc.json", "w"))
# an independent compaction: white space outside strings dropped
ws = re.compile(r'("(?:[^"\\]|\\.)*")|[ \t\r\n]+', re.S)
with open(d + "/want", "w") as f:
    for u in raw:
        print(ws.sub(lambda m: m.group(1) or "", u), file=f)
PY
	[ "$(wc -c <"$BATS_TEST_TMPDIR/want")" -gt 500000 ]
	fake_start "$BATS_TEST_TMPDIR/sc.json"
	poll --max-events 3
	assert_equal "$status" 0
	cmp "$BATS_TEST_TMPDIR/want" "$OUT"
	# the line is JSON nested 505 deep, under the limit check() keeps
	"$PYTHON" -c 'import json, sys
ls = [json.loads(l) for l in open(sys.argv[1])]
assert [l["event_id"] for l in ls] == ["ev-1", "ev-deep", "ev-2"]' "$OUT"
}

@test "poll: a numeric ts from the server is sent back as a number" {
	scenario 6 2 '{"ts_number": true}'
	fake_start
	poll --max-events 6
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 0 5)"
	run jq -r 'select(.endpoint == "a_check") | .query.ts' "$FAKE_LOG"
	assert_output "$(printf '100\n102\n104')"
}

@test "poll: --once stops after one poll" {
	scenario 10 4
	fake_start
	poll --once
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 0 3)"
	assert_equal "$(requests a_check)" 1
}

@test "poll: --max-events stops mid-batch without skipping the rest" {
	scenario 10 4
	fake_start
	poll --max-events 5 --state "$BATS_TEST_TMPDIR/state"
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 0 4)"
	# The second batch was cut: its ts is not saved, so it comes again.
	run jq -r .ts "$BATS_TEST_TMPDIR/state"
	assert_output 104
}

@test "poll: the token travels in the POST body, never in a URL" {
	scenario 2 2
	fake_start
	poll --max-events 2
	assert_equal "$status" 0
	run jq -r 'select(.endpoint == "groups.getLongPollServer") | .form.access_token, .form.v, .form.group_id' "$FAKE_LOG"
	assert_output "$(printf '%s\n5.199\n42' "$POLL_TOKEN")"
	run jq -r .path "$FAKE_LOG"
	refute_output --partial "$POLL_TOKEN"
	refute_output --partial access_token
	# The key has / + & =: it must arrive intact, so it was URL-encoded.
	run jq -r 'select(.endpoint == "a_check") | .query.key' "$FAKE_LOG"
	assert_output 'key1/+&=1'
}

@test "poll: --api-version is what VK is asked for" {
	scenario 1 1
	fake_start
	poll --max-events 1 --api-version 5.131
	run jq -r 'select(.endpoint == "groups.getLongPollServer") | .form.v' "$FAKE_LOG"
	assert_output 5.131
	# ... and the self-check notices that Long Poll runs another version.
	grep -q 'Long Poll API version is 5.199, vk-poll expects 5.131' "$ERR"
}

@test "poll: flags beat the environment" {
	scenario 1 1
	fake_start
	VK_GROUP_ID=999 VK_API_URL=http://127.0.0.1:1/method poll --group-id 42 --max-events 1
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output ev0000
}

@test "poll: VK_API_URL is used when no flag is given" {
	scenario 1 1
	fake_start
	VK_API_URL="$API_URL" run timeout 20 vk-poll --wait 1 --max-events 1
	assert_success
	assert_output --partial '"event_id":"ev0000"'
}

@test "poll: --token-file beats VK_TOKEN; its newline is trimmed" {
	scenario 1 1
	fake_start
	printf '%s\n' "$POLL_TOKEN" >"$BATS_TEST_TMPDIR/tok"
	chmod 600 "$BATS_TEST_TMPDIR/tok"
	VK_TOKEN=wrong poll --token-file "$BATS_TEST_TMPDIR/tok" --max-events 1
	assert_equal "$status" 0
	run cat "$ERR"
	assert_output ''
	run ids "$OUT"
	assert_output ev0000
}

@test "poll: a token file readable by all is used, with a warning" {
	scenario 1 1
	fake_start
	printf '%s' "$POLL_TOKEN" >"$BATS_TEST_TMPDIR/tok"
	chmod 644 "$BATS_TEST_TMPDIR/tok"
	poll --token-file "$BATS_TEST_TMPDIR/tok" --max-events 1
	assert_equal "$status" 0
	grep -q 'readable by every user: chmod 600' "$ERR"
}

@test "poll: configuration errors exit 3 with what to do" {
	unset VK_TOKEN
	run vk-poll --group-id 42
	assert_equal "$status" 3
	assert_output 'vk-poll: no token: set VK_TOKEN or use --token-file FILE'
	export VK_TOKEN=x
	run vk-poll --group-id 42 --token-file /nonexistent/tok
	assert_equal "$status" 3
	assert_output --partial 'cannot read token file /nonexistent/tok'
	unset VK_GROUP_ID
	run vk-poll
	assert_equal "$status" 3
	assert_output 'vk-poll: no community: set VK_GROUP_ID or use --group-id N'
	VK_GROUP_ID=club42 run vk-poll
	assert_equal "$status" 3
	assert_output --partial 'VK_GROUP_ID takes a whole number from 1 to 999999999999'
	run vk-poll --group-id 42 --api-url ftp://example.org/
	assert_equal "$status" 3
	VKPIPE_BACKOFF_MS=100 run vk-poll --group-id 42
	assert_equal "$status" 3
	assert_output --partial 'VKPIPE_BACKOFF_MS wants MIN,MAX'
	printf '\n\n' >"$BATS_TEST_TMPDIR/empty"
	run vk-poll --group-id 42 --token-file "$BATS_TEST_TMPDIR/empty"
	assert_equal "$status" 3
	assert_output --partial 'is empty'
}

@test "poll: usage errors exit 2" {
	for args in "--wait 0" "--wait 91" "--wait x" "--group-id -5" "--max-events 0" \
	    "--timeout 1" "--bogus" "extra-arg" "--timeout 0"; do
		# shellcheck disable=SC2086
		run vk-poll --group-id 42 $args
		assert_equal "$status" 2
	done
	run vk-poll --token abc
	assert_equal "$status" 2
	assert_output --partial 'never a command-line argument'
}

@test "poll: --help and --version" {
	run vk-poll --help
	assert_success
	assert_output --partial 'usage: vk-poll'
	assert_output --partial '--state FILE'
	run vk-poll --version
	assert_success
	assert_output --regexp '^vk-poll [0-9]'
}

@test "poll: -v logs each poll on stderr, never the token or the key" {
	scenario 5 2
	fake_start
	poll -v --max-events 5
	assert_equal "$status" 0
	[ "$(grep -c 'poll ts' "$ERR")" -eq 3 ]
	grep -q 'poll ts "100": 2 updates, next ts "102"' "$ERR"
	no_token "$ERR" "$OUT"
	run grep -F key1 "$ERR"
	assert_failure
}

@test "poll: self-check warns when Long Poll is off, the version differs, events are off" {
	scenario 1 1 '{"settings": {"is_enabled": false, "api_version": "5.131",
	    "events": {"message_new": 1, "message_event": 0}}}'
	fake_start
	poll --max-events 1
	assert_equal "$status" 0
	run cat "$ERR"
	assert_line --partial 'Long Poll API is disabled for group 42'
	assert_line --partial 'Long Poll API version is 5.131, vk-poll expects 5.199'
	assert_line --partial 'Long Poll events not enabled: message_event, message_reaction_event'
	run ids "$OUT"
	assert_output ev0000
}

@test "poll: with -v the self-check lists the event types that are on (each becomes an Event)" {
	scenario 1 1 '{"settings": {"is_enabled": true, "api_version": "5.199",
	    "events": {"message_new": 1, "message_event": 1, "message_reaction_event": 1,
	    "group_join": 1, "wall_reply_new": 1, "like_add": 0, "message_reply": 0}}}'
	fake_start
	poll -v --max-events 1
	assert_equal "$status" 0
	run cat "$ERR"
	assert_line 'vk-poll: Long Poll events on (5, each one becomes an Event): message_new, message_event, message_reaction_event, group_join, wall_reply_new'
}

@test "poll: self-check is quiet when the settings are right" {
	scenario 1 1
	fake_start
	poll --max-events 1
	run cat "$ERR"
	assert_output ''
	assert_equal "$(requests groups.getLongPollSettings)" 1
}

@test "poll: a failing self-check warns and goes on" {
	scenario 2 2 '{"faults": [{"on": "groups.getLongPollSettings", "nth": 1,
	    "do": "api_error", "code": 15, "msg": "Access denied"}]}'
	fake_start
	poll --max-events 2
	assert_equal "$status" 0
	run cat "$ERR"
	assert_output --partial 'cannot read the Long Poll settings (VK error 15: Access denied); going on'
	run ids "$OUT"
	assert_output "$(expect_ids 0 1)"
}

@test "poll: a closed stdout ends it quietly, ts not advanced" {
	scenario 6 3
	fake_start
	# stdout is a pipe whose reader is already gone.
	run "$PYTHON" -c 'import os, subprocess, sys
r, w = os.pipe(); os.close(r)
sys.exit(subprocess.call(sys.argv[1:], stdout=w))' \
		vk-poll --api-url "$API_URL" --wait 1 --state "$BATS_TEST_TMPDIR/state"
	assert_equal "$status" 0
	assert_output ''
	run jq -r .ts "$BATS_TEST_TMPDIR/state"
	assert_output 100
}
