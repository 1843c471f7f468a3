#!/usr/bin/env bats
# vk-call: requests from NDJSON to the fake VK API, batched into execute
# within one limiter; idempotent sends; hostile params; bad lines.

load helper
load lib-call

teardown() { call_teardown; }

@test "call: 200 sends at once go out in at most 10 requests within 20/s, each answered by its own id; a bad peer_id gets its own error" {
	call_fake '{"api_rate":20,"no_access":[2000000099]}'
	{
		sends 100 a
		printf '%s\n' '{"id":"bad","method":"messages.send","params":{"peer_id":"abc","message":"x"}}'
		printf '%s\n' '{"id":["no",1],"method":"messages.send","params":{"peer_id":2000000099,"message":"x"}}'
		sends 98 b 2000000003
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call < "$BATS_TEST_TMPDIR/in"
	assert_failure 1	# two requests failed
	assert_equal "${#lines[@]}" 200
	assert_equal "$(http_requests)" "$(jq -r 'select(.endpoint == "execute")' "$LOG" | jq -s length)"
	[ "$(http_requests)" -le 10 ]
	[ "$(max_per_second)" -le 20 ]
	refute grep -q rate_limited "$LOG"
	printf '%s\n' "${lines[@]}" > "$BATS_TEST_TMPDIR/out"
	assert_equal "$(jq -c 'select(.id == "bad") | .error.error_code' "$BATS_TEST_TMPDIR/out")" 100
	assert_equal "$(jq -c 'select(.id == ["no",1]) | .error' "$BATS_TEST_TMPDIR/out")" \
		'{"error_code":917,"error_msg":"You don'"'"'t have access to this chat"}'
	# every other id once, with the id of the message that really went out
	run "$PYTHON" - "$BATS_TEST_TMPDIR/out" "$SENT" <<'PY'
import json, sys
res = [json.loads(l) for l in open(sys.argv[1])]
sent = [json.loads(l) for l in open(sys.argv[2])]
ids = [r["id"] for r in res if "response" in r]
want = ["a%d" % i for i in range(100)] + ["b%d" % i for i in range(98)]
assert sorted(ids) == sorted(want), "ids"
by_text = {(s["peer_id"], s["message"]): s["message_id"] for s in sent}
assert len(sent) == 198, len(sent)
for r in res:
    if "response" in r:
        pre, i = r["id"][0], int(r["id"][1:])
        peer = 2000000002 if pre == "a" else 2000000003
        assert by_text[(peer, "reply %d" % i)] == r["response"], r
# a chat sees its messages in the order they were asked for
for peer in (2000000002, 2000000003):
    texts = [int(s["message"].split()[1]) for s in sent if s["peer_id"] == peer]
    assert texts == sorted(texts), peer
print("ok")
PY
	assert_output ok
}

@test "call: the same requests from a new process post nothing new and get the same message ids" {
	call_fake '{}'
	sends 200 > "$BATS_TEST_TMPDIR/in"
	vk-call < "$BATS_TEST_TMPDIR/in" | sort > "$BATS_TEST_TMPDIR/first"
	assert_equal "$(wc -l < "$SENT")" 200
	vk-call < "$BATS_TEST_TMPDIR/in" | sort > "$BATS_TEST_TMPDIR/second"
	assert_equal "$(wc -l < "$SENT")" 200
	run diff "$BATS_TEST_TMPDIR/first" "$BATS_TEST_TMPDIR/second"
	assert_success
	# random_id: from the id alone, positive, 32-bit; one the caller gives is kept
	run jq -r .random_id "$SENT"
	refute_line --regexp '^(0|-.*)$'
	assert_equal "$(jq -r .random_id "$SENT" | sort -u | wc -l)" 200
	assert_equal "$(jq -r '.random_id | tonumber < 2147483648' "$SENT" | sort -u)" true
	printf '%s\n' '{"id":"m5","method":"messages.send","params":{"peer_id":7,"message":"other text, same id"}}' \
		'{"id":"own","method":"messages.send","params":{"peer_id":7,"message":"x","random_id":12345}}' | vk-call
	assert_equal "$(jq -r 'select(.message == "other text, same id") | .random_id' "$SENT")" \
		"$(jq -r 'select(.message == "reply 5") | .random_id' "$SENT")"
	assert_equal "$(jq -r 'select(.peer_id == 7 and .message == "x") | .random_id' "$SENT")" 12345
}

@test "call: hostile params stay values: quotes, backslashes and VKScript never become code" {
	call_fake '{}'
	"$PYTHON" > "$BATS_TEST_TMPDIR/in" <<'PY'
import json
vals = ['"});API.messages.send({"peer_id":666,"message":"pwned"});//', '\\', '\\"', '"',
        "line\nbreak\r\t\x01", "\u2028\u2029", "'});return 1;//", "${x}`y`", "Args.message",
        "ё🙂", "%26access_token%3Dx", "a\\u0022b", "]; return [API.users.get({})];"]
for i, v in enumerate(vals):
    print(json.dumps({"id": i, "method": "messages.send", "params": {"peer_id": 5, "message": v}}))
print(json.dumps({"id": "arr", "method": "messages.send", "params": {"peer_ids": ["1\"", 2], "peer_id": 5, "message": "arr"}}))
PY
	run --separate-stderr vk-call --batch-window 200 < "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "${#lines[@]}" 14
	# one execute, 14 calls, all messages.send, each message byte for byte
	assert_equal "$(jq -c .calls "$LOG")" "[$(printf '"messages.send",%.0s' $(seq 13))\"messages.send\"]"
	run "$PYTHON" - "$BATS_TEST_TMPDIR/in" "$SENT" <<'PY'
import json, sys
want = [json.loads(l)["params"]["message"] for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
assert [g["message"] for g in got] == want, [g["message"] for g in got]
assert {g["peer_id"] for g in got} == {5}
print("ok")
PY
	assert_output ok
}

@test "call: a line that is not a request gets an error result with its line number; the stream goes on" {
	call_fake '{}'
	printf '%s\n' 'not json' \
		'{"id":"r1","method":"messages.send","params":{"peer_id":5,"message":"ok"}}' \
		'[1,2]' \
		'{"method":"messages.send"}' \
		'{"id":{"k":"v"},"method":"bad method"}' \
		'{"id":7,"method":"messages.send","params":{"peer_id":5,"keyboard":{"a":1}}}' \
		'{"id":8,"method":"messages.send","params":{"access_token":"steal"}}' \
		'' \
		'{"id":"r2","method":"messages.send","params":{"peer_id":5,"message":"ok2"}}' > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call < "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_equal "${#lines[@]}" 8
	assert_line '{"id":null,"error":{"error_code":-1,"error_msg":"line 1: not JSON: invalid literal at byte 1"}}'
	assert_line '{"id":null,"error":{"error_code":-1,"error_msg":"line 3: not a JSON object"}}'
	assert_line '{"id":null,"error":{"error_code":-1,"error_msg":"line 4: no \"id\""}}'
	assert_line '{"id":{"k":"v"},"error":{"error_code":-1,"error_msg":"line 5: \"method\" is not a VK API method name"}}'
	assert_line --partial '{"id":7,"error":{"error_code":-1,"error_msg":"line 6: params.keyboard: not a string'
	assert_line --partial '{"id":8,"error":{"error_code":-1,"error_msg":"line 7: params.access_token is vk-call'
	assert_line --regexp '^\{"id":"r1","response":[0-9]+\}$'
	assert_line --regexp '^\{"id":"r2","response":[0-9]+\}$'
	assert_equal "$(wc -l < "$SENT")" 2
}

@test "call: button answers go first; uploads' saving calls go alone" {
	call_fake '{}'
	{
		sends 20
		printf '%s\n' '{"id":"btn","method":"messages.sendMessageEventAnswer","params":{"event_id":"e1","user_id":5,"peer_id":2000000002,"event_data":"{\"type\":\"show_snackbar\",\"text\":\"ok\"}"}}'
		printf '%s\n' '{"id":"doc","method":"docs.save","params":{"file":"x|y|z"}}'
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call --batch-window 300 < "$BATS_TEST_TMPDIR/in"
	assert_line '{"id":"btn","response":1}'
	assert_equal "$(jq -r 'select(.endpoint == "execute") | .calls[0]' "$LOG" | head -n 1)" \
		messages.sendMessageEventAnswer
	assert_equal "$(jq -r 'select(.endpoint == "docs.save") | .form.file' "$LOG")" "x|y|z"
	refute grep -q '"docs.save"' <(jq -c 'select(.endpoint == "execute") | .calls' "$LOG")
}

@test "call: the token goes in the POST body only and never into a result or a log line" {
	call_fake '{"faults":[{"on":"messages.send","nth":1,"do":"api_error","code":100,"echo_token":true}]}'
	printf '%s\n' '{"id":1,"method":"messages.send","params":{"peer_id":5,"message":"x"}}' > "$BATS_TEST_TMPDIR/in"
	run vk-call -v < "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_output --partial '"error_code":100'
	refute_output --partial "$CALL_TOKEN"
	assert_equal "$(jq -r .form.access_token "$LOG")" "$CALL_TOKEN"
	refute grep -F "$CALL_TOKEN" <(jq -r '.path, (.query | tostring)' "$LOG")
	# only from VK_TOKEN or --token-file
	printf '%s\n' "$CALL_TOKEN" > "$BATS_TEST_TMPDIR/tok"
	chmod 600 "$BATS_TEST_TMPDIR/tok"
	VK_TOKEN= run vk-call --token-file "$BATS_TEST_TMPDIR/tok" < "$BATS_TEST_TMPDIR/in"
	refute_output --partial "$CALL_TOKEN"
	VK_TOKEN= run vk-call < "$BATS_TEST_TMPDIR/in"
	assert_failure 3
	assert_output --partial "no token"
	run vk-call --token "$CALL_TOKEN"
	assert_failure 2
	refute_output --partial "$CALL_TOKEN"
}

@test "call: usage" {
	run vk-call --rate 0
	assert_failure 2
	run vk-call --max-batch 26
	assert_failure 2
	run vk-call --listen /tmp/x.sock
	assert_failure 2
	assert_output --partial "unix:PATH"
	run vk-call --listen unix:/a --connect unix:/b
	assert_failure 2
	run vk-call --help
	assert_success
	assert_output --partial "usage: vk-call"
}

@test "call: long messages share an execute only up to 48 KiB of params; a huge request goes alone" {
	call_fake '{}'
	"$PYTHON" > "$BATS_TEST_TMPDIR/in" <<'PY'
import json
for i in range(20):
    print(json.dumps({"id": i, "method": "messages.send", "params": {"peer_id": 5 + i, "message": "ж" * 4000}}, ensure_ascii=False))
print(json.dumps({"id": "huge", "method": "messages.send", "params": {"peer_id": 99, "message": "x" * 60000}}))
PY
	run --separate-stderr vk-call < "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "${#lines[@]}" 21
	assert_equal "$(jq -r 'select(.endpoint == "execute") | .form.code | utf8bytelength <= 52000' "$LOG" | sort -u)" true
	assert_equal "$(jq -r 'select(.endpoint == "execute") | .calls | length <= 6' "$LOG" | sort -u)" true
	assert_equal "$(jq -r 'select(.endpoint == "messages.send") | .form.message | length' "$LOG")" 60000
	assert_equal "$(jq -r '.message | length' "$SENT" | sort -u)" $'4000\n60000'
}

@test "call: a NUL or any byte outside the grammar in a method or parameter name is a bad line for that request alone; its batch goes out" {
	call_fake '{}'
	{
		sends 10 ok
		printf '%s\n' '{"id":"nul","method":"messages.send\u0000x","params":{"peer_id":2000000002,"message":"m"}}' \
			'{"id":"nul2","method":"messages.\u0000send","params":{"peer_id":2000000002}}' \
			'{"id":"esc","method":"messages\u002esend","params":{"peer_id":2000000005,"message":"escaped dot"}}' \
			'{"id":"utf","method":"messages.sendé","params":{"peer_id":2000000002}}' \
			'{"id":"pnul","method":"messages.send","params":{"peer_id\u0000x":2000000002,"message":"m"}}' \
			'{"id":"pbad","method":"messages.send","params":{"peer id":2000000002,"message":"m"}}'
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call --batch-window 300 < "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_equal "${#lines[@]}" 16
	assert_line '{"id":"nul","error":{"error_code":-1,"error_msg":"line 11: \"method\" is not a VK API method name"}}'
	assert_line '{"id":"nul2","error":{"error_code":-1,"error_msg":"line 12: \"method\" is not a VK API method name"}}'
	assert_line '{"id":"utf","error":{"error_code":-1,"error_msg":"line 14: \"method\" is not a VK API method name"}}'
	assert_line --partial '{"id":"pnul","error":{"error_code":-1,"error_msg":"line 15: params: '
	assert_line --partial '{"id":"pbad","error":{"error_code":-1,"error_msg":"line 16: params: '
	assert_line --regexp '^\{"id":"esc","response":[0-9]+\}$'
	for i in 0 1 2 3 4 5 6 7 8 9; do assert_line --regexp "^\{\"id\":\"ok$i\",\"response\":[0-9]+\}$"; done
	# nothing with a stray name reached VK; the others went out together
	assert_equal "$(wc -l < "$SENT")" 11
	refute grep -q '"x"' "$SENT"
	refute grep -q '"error"' <(grep -v '"error_code":-1' <<<"$output")
}
