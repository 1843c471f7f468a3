# lib-call.bash - loaded by the vk-call tests (tests/6x-call-*.bats) after helper.

CALL_TOKEN="call-test-token-7f3a9e"

# call_fake SCENARIO_JSON: start the fake VK API (tests/fake/fake-vk.py, through
# helper.bash) with the scenario, the test token and a record of what it
# really posted in SENT; its request log in LOG.
call_fake() {
	SENT="$BATS_TEST_TMPDIR/sent.ndjson"
	LOG="$BATS_TEST_TMPDIR/api.log"
	: > "$LOG"
	: > "$SENT"
	jq -c --arg sent "$SENT" --arg token "$CALL_TOKEN" \
		'{sent_file: $sent, token: $token} + .' <<<"$1" > "$BATS_TEST_TMPDIR/sc.json"
	fake_vk_start "$BATS_TEST_TMPDIR/sc.json" "$LOG"
	export VK_TOKEN="$CALL_TOKEN"
}

call_teardown() {
	[ -z "${SRV_PID:-}" ] || stop_pid "$SRV_PID"
	fake_vk_stop
}

# sends N [PREFIX] [PEER]: N messages.send requests, ids PREFIX0.., one per line.
sends() {
	"$PYTHON" - "$1" "${2:-m}" "${3:-2000000002}" <<'PY'
import json, sys
n, pre, peer = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for i in range(n):
    print(json.dumps({"id": "%s%d" % (pre, i), "method": "messages.send",
                      "params": {"peer_id": peer, "message": "reply %d" % i}}))
PY
}

# http_requests: how many requests reached the fake VK API.
http_requests() { grep -c . "$LOG" || true; }

# max_per_second: the most API requests the fake saw in any one second.
max_per_second() {
	jq -s '[.[].t] | sort as $t | [range(0; $t | length) as $i
		| [$t[$i:][] | select(. < $t[$i] + 1)] | length] | max // 0' "$LOG"
}
