#!/usr/bin/env bats
# vk-normalize online: names from the fake VK API (tests/fake/fake-vk.py),
# cached, batched, rate-limited; Events never lost or reordered for a name.

load helper
load lib-normalize

TOKEN="names-test-token-5e3c1a"

teardown() {
	fake_vk_stop
}


msg() { # event_id from_id peer_id [text]
	printf '{"type":"message_new","event_id":"%s","object":{"message":{"from_id":%s,"peer_id":%s,"conversation_message_id":1,"text":"%s"}}}\n' "$1" "$2" "$3" "${4:-hi}"
}

@test "names: people, communities, chat titles and DM peers, per the contract" {
	fake "{\"token\":\"$TOKEN\"}"
	{
		msg a 5 2000000002 /hi
		msg b -7 2000000002
		msg c 6 6
		printf '{"type":"message_event","event_id":"d","object":{"user_id":5,"peer_id":-7,"event_id":"x","conversation_message_id":3}}\n'
		printf '{"type":"message_reaction_event","event_id":"e","object":{"reacted_id":6,"peer_id":2000000009,"cmid":3}}\n'
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-normalize "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line --index 0 '{"event_type":"command","event_id":"a","user":{"uuid":5,"name":"Имя5 Фамилия5","firstname":"Имя5","lastname":"Фамилия5","nick":"id5"},"peer":{"bpid":2000000002,"cid":2,"name":"Чат 2"},"message":{"cmid":1,"text":"/hi","reply":null,"forward":[],"attachments":[],"date":null,"payload":null,"action":null}}'
	assert_line --index 1 --partial '"user":{"uuid":-7,"name":"Сообщество 7","firstname":"Сообщество 7","lastname":null,"nick":"club7"},"peer":{"bpid":2000000002,"cid":2,"name":"Чат 2"}'
	assert_line --index 2 --partial '"peer":{"bpid":6,"cid":null,"name":"Имя6 Фамилия6"}'
	assert_line --index 3 --partial '"user":{"uuid":5,"name":"Имя5 Фамилия5","firstname":"Имя5","lastname":"Фамилия5","nick":"id5"},"peer":{"bpid":-7,"cid":null,"name":"Сообщество 7"}'
	assert_line --index 4 --partial '"peer":{"bpid":2000000009,"cid":9,"name":"Чат 9"}'
	# one request for the whole file: the three lookups in one execute,
	# users.get with fields=domain
	assert_equal "$(wc -l < "$LOG")" 1
	assert_equal "$(jq -c .calls "$LOG")" '["users.get","groups.getById","messages.getConversationsById"]'
	assert_equal "$(param users.get fields)" domain
	assert_equal "$(param users.get user_ids | tr , '\n' | sort -n | paste -sd,)" "5,6"
	assert_equal "$(param groups.getById group_ids)" 7
	assert_equal "$(param messages.getConversationsById peer_ids | tr , '\n' | sort -n | paste -sd,)" "2000000002,2000000009"
}

@test "names: the token travels in the POST body only, and is never printed" {
	fake "{\"token\":\"$TOKEN\",\"faults\":[{\"on\":\"users.get\",\"nth\":1,\"do\":\"api_error\",\"code\":100,\"echo_token\":true}]}"
	msg a 5 5 > "$BATS_TEST_TMPDIR/in"
	run vk-normalize --stats "$BATS_TEST_TMPDIR/in"
	assert_success
	refute_output --partial "$TOKEN"
	assert_equal "$(jq -r .form.access_token "$LOG" | sort -u)" "$TOKEN"
	refute grep -F "$TOKEN" <(jq -r '.path, (.query | tostring)' "$LOG")
}

@test "names: 1000 events from 200 users in 20 chats take a handful of requests, then the cache answers" {
	fake "{\"token\":\"$TOKEN\"}"
	python3 - > "$BATS_TEST_TMPDIR/in" <<'PY'
import json, random
r = random.Random(4)
users = [r.randint(10**6, 10**8) for _ in range(200)]
for i in range(1000):
    print(json.dumps({"type": "message_new", "event_id": "e%d" % i, "object": {"message": {
        "from_id": r.choice(users), "peer_id": 2000000000 + r.randint(1, 20),
        "conversation_message_id": i, "text": "x"}}}))
PY
	run --separate-stderr vk-normalize --stats "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/in"
	assert_success
	# every event, in order, named
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 2000
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_id | head -n 1000 | paste -sd,)" "$(jq -r .event_id "$BATS_TEST_TMPDIR/in" | paste -sd,)"
	assert_equal "$(printf '%s\n' "$output" | jq -r 'select(.user.name == null or .peer.name == null) | .event_id' | wc -l)" 0
	# one execute with users.get and getConversationsById; the second pass
	# is all cache hits
	assert_equal "$(requests users.get)" 1
	assert_equal "$(requests messages.getConversationsById)" 1
	assert_equal "$(wc -l < "$LOG")" 1
	assert_equal "$(printf '%s\n' "$stderr" | grep -c 'stats: api requests=1 ')" 1
}

@test "names: with the API down every event still comes out, in order, with null names" {
	fake "{\"token\":\"$TOKEN\"}"
	fake_vk_stop
	for i in $(seq 1 30); do msg "e$i" "$i" "$((2000000000 + i % 3 + 1))"; done > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-normalize --tries 2 --stats "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_id | paste -sd,)" "$(seq -f 'e%g' 1 30 | paste -sd,)"
	assert_equal "$(printf '%s\n' "$output" | jq -r '[.user.name, .user.nick, .peer.name] | map(select(. != null)) | length' | sort -u)" 0
	assert_equal "$(printf '%s\n' "$output" | jq -r .user.uuid | paste -sd,)" "$(seq 1 30 | paste -sd,)"
	assert_line --index 0 --partial '"peer":{"bpid":2000000002,"cid":2,"name":null}'
	[[ "$stderr" == *" unavailable="* ]]
	[[ "$stderr" == *"users.get failed 2 times"* ]]
}

@test "names: HTTP 500, flood control (9) and rate errors (6) are retried; a slow answer is waited for" {
	fake "{\"token\":\"$TOKEN\",\"faults\":[{\"on\":\"users.get\",\"nth\":1,\"do\":\"http500\"},{\"on\":\"users.get\",\"nth\":2,\"do\":\"api_error\",\"code\":9},{\"on\":\"users.get\",\"nth\":3,\"do\":\"api_error\",\"code\":6},{\"on\":\"users.get\",\"nth\":4,\"do\":\"slow\",\"delay\":0.5}]}"
	{ msg a 5 5; msg b 6 6; } > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-normalize --tries 5 --stats "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line --index 0 --partial '"name":"Имя5 Фамилия5"'
	assert_line --index 1 --partial '"name":"Имя6 Фамилия6"'
	assert_equal "$(requests users.get)" 4
	[[ "$stderr" == *" retries=3 "* ]]
}

@test "names: a chat the bot may not read (no item, or error 917) has a null title, remembered" {
	fake "{\"token\":\"$TOKEN\",\"chats\":{\"2000000003\":null}}"
	{ msg a 5 2000000003; msg b 5 2000000004; } > "$BATS_TEST_TMPDIR/in"
	run vk-normalize "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line --index 0 --partial '"peer":{"bpid":2000000003,"cid":3,"name":null}'
	assert_line --index 1 --partial '"peer":{"bpid":2000000004,"cid":4,"name":"Чат 4"}'
	assert_line --index 2 --partial '"peer":{"bpid":2000000003,"cid":3,"name":null}'
	assert_equal "$(requests messages.getConversationsById)" 1
	fake_vk_stop
	fake "{\"token\":\"$TOKEN\",\"chat_access\":false}"
	run vk-normalize "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line --index 1 --partial '"peer":{"bpid":2000000004,"cid":4,"name":null}'
	assert_line --index 1 --partial '"user":{"uuid":5,"name":"Имя5 Фамилия5"'
	assert_equal "$(requests messages.getConversationsById)" 1
}

@test "names: a refused token (error 5) is said once; events go on without names" {
	fake '{"token":"another-token"}'
	for i in 1 2 3; do msg "e$i" "$i" 2000000001; done > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-normalize --batch-window 0 "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 3
	assert_equal "$(printf '%s\n' "$stderr" | grep -c 'VK refused the token')" 1
	assert_equal "$(wc -l < "$LOG")" 1
}

@test "names: the cache expires after --cache-ttl" {
	fake "{\"token\":\"$TOKEN\"}"
	mkfifo "$BATS_TEST_TMPDIR/in"
	vk-normalize --cache-ttl 1 < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" &
	pid=$!
	exec 7> "$BATS_TEST_TMPDIR/in"
	msg a 5 5 >&7
	msg b 5 5 >&7
	wait_until 10 lines_at_least 2 "$BATS_TEST_TMPDIR/out"
	sleep 1.2	# the time the cached name must outlive: not a wait for anything
	msg c 5 5 >&7
	exec 7>&-
	wait "$pid"
	assert_equal "$(grep -c 'Имя5' "$BATS_TEST_TMPDIR/out")" 3
	assert_equal "$(requests users.get)" 2
}

@test "names: a lone event is not held back longer than the batch window" {
	fake "{\"token\":\"$TOKEN\"}"
	mkfifo "$BATS_TEST_TMPDIR/in"
	vk-normalize --batch-window 20 < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" &
	pid=$!
	exec 7> "$BATS_TEST_TMPDIR/in"
	msg a 5 5 >&7
	wait_until 10 test -s "$BATS_TEST_TMPDIR/out"
	assert_equal "$(jq -r .user.name "$BATS_TEST_TMPDIR/out")" "Имя5 Фамилия5"
	exec 7>&-
	wait "$pid"
}

@test "names: never more than --rate requests in any second" {
	fake "{\"token\":\"$TOKEN\"}"
	# 100 lines, each with a new user, arriving 20 ms apart: more than 8 a second
	python3 -c '
import sys, time
for i in range(100):
    sys.stdout.write("{\"type\":\"message_new\",\"event_id\":\"e%d\",\"object\":{\"message\":{\"from_id\":%d,\"peer_id\":%d,\"conversation_message_id\":1}}}\n" % (i, 100 + i, 100 + i))
    sys.stdout.flush()
    time.sleep(0.02)
' | vk-normalize --rate 8 --batch-window 0 > "$BATS_TEST_TMPDIR/out"
	assert_equal "$(jq -r .user.name "$BATS_TEST_TMPDIR/out" | grep -c Имя)" 100
	assert_equal "$(jq -r .event_id "$BATS_TEST_TMPDIR/out" | paste -sd,)" "$(seq -f 'e%g' 0 99 | paste -sd,)"
	n=$(wc -l < "$LOG")
	[ "$n" -ge 12 ]
	# the most requests in any one-second window
	max=$(jq -r .t "$LOG" | python3 -c '
import sys
t = [float(x) for x in sys.stdin]
print(max(sum(1 for u in t if s <= u < s + 1.0) for s in t))')
	echo "max in 1 s: $max" >&2
	[ "$max" -le 8 ]
}

@test "names: SIGUSR1 prints the counters while it runs" {
	fake "{\"token\":\"$TOKEN\"}"
	mkfifo "$BATS_TEST_TMPDIR/in"
	vk-normalize < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 7> "$BATS_TEST_TMPDIR/in"
	msg a 5 5 >&7
	wait_until 10 test -s "$BATS_TEST_TMPDIR/out"
	kill -USR1 "$pid"
	wait_until 10 grep_file '^vk-normalize: stats: api requests=1 ' "$BATS_TEST_TMPDIR/err"
	grep -q '^vk-normalize: stats: input lines=1 events=1 rejected=0 dropped=0$' "$BATS_TEST_TMPDIR/err"
	exec 7>&-
	wait "$pid"
}
