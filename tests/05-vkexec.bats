#!/usr/bin/env bats
# common/vkexec: several VK API calls in one execute request, through the
# vkexec-test driver, and the fake VK's execute (tests/fake/fake_vk_exec.py).

load helper

vx() { "$VKPIPE_UNIT/vkexec-test" "$@"; }

# fake_start SCENARIO_JSON: the fake VK API, its requests logged in $LOG.
fake_start() {
	printf '%s\n' "$1" > "$BATS_TEST_TMPDIR/sc.json"
	LOG="$BATS_TEST_TMPDIR/api.log"
	: > "$LOG"
	fake_vk_start "$BATS_TEST_TMPDIR/sc.json" "$LOG"
	API=$API_URL
	export VK_TOKEN=test-token
}

teardown() {
	fake_vk_stop
}

@test "vkexec: the program for a batch of calls; 25 at most; only plain names" {
	run vx code <<'EOF2'
[["users.get",{"user_ids":"1,2","fields":"domain"}],["groups.getById",{"group_ids":"5"}],["messages.getConversationsById",{}]]
[["a.b",{"x":"1"}]]
[["bad name",{}]]
[["users.get();API.wall.post",{}]]
[["a.b",{"x\":1":"1"}]]
EOF2
	assert_success
	assert_output - <<'EOF2'
return [API.users.get({"user_ids":"1,2","fields":"domain"}),API.groups.getById({"group_ids":"5"}),API.messages.getConversationsById({})];
return [API.a.b({"x":"1"})];
error execute: a method name that is not a plain name
error execute: a method name that is not a plain name
error execute: a parameter name that is not a plain name
EOF2
	python3 -c 'import json; print(json.dumps([["users.get", {"user_ids": str(i)}] for i in range(25)]))' > "$BATS_TEST_TMPDIR/25"
	python3 -c 'import json; print(json.dumps([["users.get", {"user_ids": str(i)}] for i in range(26)]))' > "$BATS_TEST_TMPDIR/26"
	run vx code < "$BATS_TEST_TMPDIR/25"
	assert_output --regexp '^return \[API\.users\.get\(\{"user_ids":"0"\}\),.*API\.users\.get\(\{"user_ids":"24"\}\)\];$'
	run vx code < "$BATS_TEST_TMPDIR/26"
	assert_output "error execute: more than 25 calls in one request"
}

@test "vkexec: hostile values stay inside their string literal, byte for byte" {
	python3 > "$BATS_TEST_TMPDIR/in" <<'PY'
import json
vals = ['"});return API.wall.post({"message":"pwned"});//', '\\', '\\"', "\n\r\t\x01\x1f\x7f",
        "\u2028\u2029", "</script>", "Args.x", "'single'", "${x}", "ё🙂", "a\\u0022b", "", "%26access_token%3D"]
print(json.dumps([["users.get", {"user_ids": v, "fields": v}] for v in vals] + [["x.y", {"q": "".join(vals)}]]))
PY
	run vx code < "$BATS_TEST_TMPDIR/in"
	assert_success
	refute_output --partial $'\n'
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/code"
	# the fake's own VKScript reader finds the same calls with the same values
	run python3 - "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/code" "$TESTS_DIR/fake" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[3])
import fake_vk_exec
want = json.load(open(sys.argv[1]))
code = open(sys.argv[2]).read().rstrip("\n")
calls, many = fake_vk_exec.parse(code)
assert many
got = [[m, p] for m, p in calls]
assert got == want, (got, want)
assert "\u2028" not in code and "\u2029" not in code
print("same", len(got))
PY
	assert_output "same 14"
}

@test "vkexec: a reply split per call; false takes its execute_errors entry, by method, in order" {
	run vx split users.get groups.getById messages.getConversationsById groups.getById <<'EOF2'
{"response":[[{"id":1}],false,{"count":0,"items":[]},false],"execute_errors":[{"method":"groups.getById","error_code":15,"error_msg":"Access denied"},{"method":"groups.getById","error_code":100,"error_msg":"second"}]}
{"response":[false,false,[],false],"execute_errors":[{"method":"groups.getById","error_code":15,"error_msg":"g1"},{"method":"users.get","error_code":18,"error_msg":"u"}]}
{"response":[1,2]}
{"response":null,"execute_errors":[{"method":"users.get","error_code":10,"error_msg":"Internal server error"}]}
{"response":null}
{"response":{"a":1}}
EOF2
	assert_success
	assert_output - <<'EOF2'
ok [{"id":1}]
error -4 15 Access denied
ok {"count":0,"items":[]}
error -4 100 second
error -4 18 u
error -4 15 g1
ok []
error -4 0 execute: groups.getById failed, no execute_errors entry says why
ok 1
ok 2
error -3 0 execute: no result for call 3 (messages.getConversationsById)
error -3 0 execute: no result for call 4 (groups.getById)
error -4 10 Internal server error
error -4 10 Internal server error
error -4 10 Internal server error
error -4 10 Internal server error
error -3 0 execute: no response
error -3 0 execute: no response
error -3 0 execute: no response
error -3 0 execute: no response
error -3 0 execute: response is not an array
error -3 0 execute: response is not an array
error -3 0 execute: response is not an array
error -3 0 execute: response is not an array
EOF2
	# one call: a bare value (`return API.m(…);`) is its result
	run vx split users.get <<'EOF2'
{"response":[{"id":1}]}
{"response":false,"execute_errors":[{"method":"users.get","error_code":18,"error_msg":"deleted"}]}
EOF2
	assert_output - <<'EOF2'
ok {"id":1}
error -4 18 deleted
EOF2
}

@test "vkexec: against the fake VK: per-call results, inner errors, whole-request failures" {
	fake_start '{"token":"test-token","users":{"9":null},"faults":[{"on":"groups.getById","nth":1,"do":"api_error","code":15,"msg":"no rights"},{"on":"execute","nth":2,"do":"api_error","code":6},{"on":"execute","nth":3,"do":"http500"},{"on":"users.get","nth":2,"do":"truncate"}]}'
	calls='[["users.get",{"user_ids":"1,9","fields":"domain"}],["groups.getById",{"group_ids":"5"}],["messages.getConversationsById",{"peer_ids":"2000000001"}],["no.such",{}]]'
	run vx call "$API" <<<"$calls"
	assert_success
	assert_output - <<'EOF2'
ok [{"first_name":"Имя1","last_name":"Фамилия1","domain":"id1","id":1}]
error -4 15 no rights
ok {"count":1,"items":[{"peer":{"id":2000000001,"type":"chat","local_id":1},"chat_settings":{"title":"Чат 1","members_count":5}}]}
error -4 3 Unknown method passed
EOF2
	# a top-level error, an HTTP error, a reply cut short (a fault on an inner
	# method hits the whole request): every call gets it
	run vx call "$API" <<<"$calls"$'\n'"$calls"$'\n'"$calls"
	assert_line --index 0 "error -4 6 fake error"
	assert_line --index 3 "error -4 6 fake error"
	assert_line --index 4 "error -2 500 HTTP status 500"
	assert_line --index 7 "error -2 500 HTTP status 500"
	assert_line --index 8 --regexp '^error -1 '
	assert_line --index 11 --regexp '^error -1 '
	# one execute is one request in the log, its calls listed
	assert_equal "$(jq -r .endpoint "$LOG" | sort | uniq -c | awk '{print $1, $2}')" "4 execute"
	assert_equal "$(jq -c .calls "$LOG" | head -n 1)" '["users.get","groups.getById","messages.getConversationsById","no.such"]'
}

@test "fake VK: execute runs any of the fake's methods; it takes one slot of api_rate, error 6 beyond" {
	fake_start '{"token":"test-token","api_rate":2}'
	run vx call "$API" <<'EOF2'
[["users.get",{"user_ids":"1"}],["groups.getLongPollSettings",{"group_id":"42"}]]
[["users.get",{"user_ids":"3"}]]
[["users.get",{"user_ids":"4"}]]
EOF2
	assert_line --index 0 --partial '"id":1'
	assert_line --index 1 --partial '"is_enabled":true'
	assert_line --index 2 --partial '"id":3'
	assert_line --index 3 "error -4 6 Too many requests per second"
}
