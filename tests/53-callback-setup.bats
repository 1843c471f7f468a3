#!/usr/bin/env bats
# vk-callback --setup URL: the community's callback server through the VK API.

load helper
load lib-callback

TOKEN='vk1.a.SECRET-test-token-5f3c9e0d1b2a'
URL='https://bot.example.org/vk/callback'

setup() {
	export VK_TOKEN="$TOKEN" VK_GROUP_ID=42 VK_CALLBACK_SECRET="$CB_SECRET"
	unset VK_API_URL
	LOG="$BATS_TEST_TMPDIR/requests.ndjson"
}

teardown() {
	cb_teardown
	fake_vk_stop
}

# scenario [EXTRA_JSON]: the fake VK with the token, group 42 and EXTRA_JSON.
scenario() {
	fake_vk_stop
	jq -n --arg tok "$TOKEN" --argjson extra "${1:-{\}}" \
		'{token: $tok, group_id: 42} + $extra' >"$BATS_TEST_TMPDIR/sc.json"
	fake_vk_start "$BATS_TEST_TMPDIR/sc.json" "$LOG"
}

# calls: the methods called, in order, space-separated.
calls() {
	jq -r .endpoint "$LOG" | paste -sd' ' -
}

# form METHOD KEY: the value KEY had in the (last) call of METHOD.
form() {
	jq -r --arg m "$1" --arg k "$2" 'select(.endpoint == $m) | .form[$k] // "(none)"' "$LOG" | tail -n 1
}

@test "no server yet: added with the secret, events on at 5.199, the code printed" {
	scenario '{"confirmation_code": "a1b2c3d4"}'
	run -0 vk-callback --setup "$URL"
	assert_line --index 0 "server 1 added: $URL (title vkpipe, with the secret)"
	assert_line --index 1 'events on: message_new, message_event, message_reaction_event (API version 5.199)'
	assert_line --index 2 --partial 'confirmation code: a1b2c3d4 '
	assert_equal "$(calls)" "groups.getCallbackServers groups.addCallbackServer groups.setCallbackSettings groups.getCallbackConfirmationCode"
	assert_equal "$(form groups.addCallbackServer url)" "$URL"
	assert_equal "$(form groups.addCallbackServer secret_key)" "$CB_SECRET"
	assert_equal "$(form groups.setCallbackSettings server_id)" 1
	assert_equal "$(form groups.setCallbackSettings api_version)" 5.199
	for e in message_new message_event message_reaction_event; do
		assert_equal "$(form groups.setCallbackSettings "$e")" 1
	done
	refute_output --partial "$TOKEN"
	refute_output --partial "$CB_SECRET"
	# The token went in the POST body, never in a URL.
	assert_equal "$(jq -r .path "$LOG" | grep -c 'access_token\|SECRET')" 0
}

@test "a server with that URL already: edited, not added; the others untouched" {
	scenario '{"callback_servers": [
	    {"id": 3, "url": "https://other.example.org/", "title": "other", "secret_key": "", "status": "ok"},
	    {"id": 7, "url": "'"$URL"'", "title": "old", "secret_key": "old", "status": "failed"}]}'
	run -0 vk-callback --setup "$URL"
	assert_line --index 0 "server 7 updated: $URL (title vkpipe, with the secret)"
	assert_equal "$(calls)" "groups.getCallbackServers groups.editCallbackServer groups.setCallbackSettings groups.getCallbackConfirmationCode"
	assert_equal "$(form groups.editCallbackServer server_id)" 7
	assert_equal "$(form groups.editCallbackServer secret_key)" "$CB_SECRET"
	assert_equal "$(form groups.setCallbackSettings server_id)" 7
	# Run again: still one server for the URL (the fake keeps what was done).
	run -0 vk-callback --setup "$URL"
	assert_line --index 0 "server 7 updated: $URL (title vkpipe, with the secret)"
}

@test "the code printed is the one vk-callback then answers VK's confirmation with" {
	scenario '{"confirmation_code": "9f8e7d6c"}'
	run -0 vk-callback --setup "$URL"
	code=$(sed -n 's/^confirmation code: \([0-9a-z]*\) .*/\1/p' <<<"$output")
	assert_equal "$code" 9f8e7d6c
	VK_CALLBACK_CONFIRM=$code cb_start
	post '{"type":"confirmation","group_id":42,"secret":"'"$CB_SECRET"'"}'
	assert_equal "$(cat "$RESP")" 9f8e7d6c
}

@test "without a secret: the server is added without one, and that is said" {
	scenario
	unset VK_CALLBACK_SECRET
	run -0 vk-callback --setup "$URL"
	assert_line --index 0 "server 1 added: $URL (title vkpipe, no secret)"
	assert_equal "$(form groups.addCallbackServer secret_key)" "(none)"
}

@test "VK refuses: exit 4, the step named, the token and the secret never shown" {
	scenario '{"faults": [{"on": "groups.setCallbackSettings", "nth": 1, "do": "api_error", "code": 15, "msg": "Access denied", "echo_token": true}]}'
	run -4 vk-callback --setup "$URL"
	assert_output --partial 'groups.setCallbackSettings'
	assert_output --partial 'error 15'
	refute_output --partial "$TOKEN"
	refute_output --partial "$CB_SECRET"
	scenario '{"token": "another"}'
	run -4 vk-callback --setup "$URL"
	assert_output --partial 'error 5'
	refute_output --partial "$TOKEN"
}

@test "setup errors: no token or group (3), a bad URL or a serving option (2)" {
	scenario
	VK_TOKEN= run -3 vk-callback --setup "$URL"
	assert_output --partial 'no token'
	VK_GROUP_ID= run -3 vk-callback --setup "$URL"
	assert_output --partial 'community'
	run -2 vk-callback --setup 'ftp://x/'
	run -2 vk-callback --setup "$URL" --ack /tmp/x
	assert_equal "$(calls)" ""
}
