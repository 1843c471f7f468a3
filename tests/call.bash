# call.bash - loaded by the vk-call tests (tests/6x-call-*.bats) after helper.

CALL_TOKEN="call-test-token-7f3a9e"

# call_fake SCENARIO_JSON: start the fake VK API (tests/fake-vk.py) with the
# scenario; its request log in LOG, what it really posted in SENT. Waits 10 s
# at most for its port.
call_fake() {
	SENT="$BATS_TEST_TMPDIR/sent.ndjson"
	LOG="$BATS_TEST_TMPDIR/api.log"
	: > "$LOG"
	: > "$SENT"
	python3 - "$1" "$SENT" "$CALL_TOKEN" > "$BATS_TEST_TMPDIR/sc.json" <<'PY'
import json, sys
sc = json.loads(sys.argv[1])
sc.setdefault("sent_file", sys.argv[2])
sc.setdefault("token", sys.argv[3])
print(json.dumps(sc))
PY
	rm -f "$BATS_TEST_TMPDIR/port"
	python3 "$TESTS_DIR/fake-vk.py" "$BATS_TEST_TMPDIR/sc.json" \
		--port-file "$BATS_TEST_TMPDIR/port" --log "$LOG" > /dev/null &
	FAKE_PID=$!
	call_wait 10 test -s "$BATS_TEST_TMPDIR/port"
	export VK_API_URL="http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/method"
	export VK_TOKEN="$CALL_TOKEN"
}

# call_wait SECONDS CMD...: run CMD until it succeeds; fail after SECONDS.
call_wait() {
	local until=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$until" ] || { echo "timed out: $*" >&2; return 1; }
		sleep 0.05
	done
}

call_teardown() {
	[ -z "${SRV_PID:-}" ] || kill "$SRV_PID" 2>/dev/null || true
	[ -z "${FAKE_PID:-}" ] || kill "$FAKE_PID" 2>/dev/null || true
}

# sends N [PREFIX] [PEER]: N messages.send requests, ids PREFIX0.., one per line.
sends() {
	python3 - "$1" "${2:-m}" "${3:-2000000002}" <<'PY'
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
