#!/usr/bin/env bats
# vk-route to Redis: PUBLISH (channels from templates), XADD (the durable
# route), a server killed and restarted, refusals, credentials masked.
# A real redis-server runs on a free loopback port for each test.
load helper
load lib-route

setup() {
	route_setup
	start_redis "$T"
}

teardown() { route_teardown; }

# subscribed N: N clients are subscribed (channels or patterns).
subscribed() {
	[ "$(redis-cli -p "$RPORT" --raw pubsub numsub "$1" | sed -n 2p)" = 1 ] ||
		[ "$(redis-cli -p "$RPORT" pubsub numpat)" = 1 ]
}

@test "PUBLISH: a subscriber gets every event, in order" {
	redis-cli -p "$RPORT" --raw subscribe vk >"$T/sub" &
	PIDS="$PIDS $!"
	wait_until 10 subscribed vk
	run vk-route -e "* -> redis://127.0.0.1:$RPORT/publish/vk" <"$EVENTS"
	assert_success
	got() { [ "$(grep -c '^{' "$T/sub")" -ge 9 ]; }
	wait_until 10 got
	assert_equal "$(grep '^{' "$T/sub" | ids)" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
	assert_equal "$(grep '^{' "$T/sub")" "$(cat "$EVENTS")"
}

@test "PUBLISH: {.event_type} channels, as the original service did" {
	redis-cli -p "$RPORT" --raw psubscribe 'vk.*' >"$T/sub" &
	PIDS="$PIDS $!"
	wait_until 10 subscribed x
	run vk-route -e "* -> redis://127.0.0.1:$RPORT/publish/vk.{.event_type}" <"$EVENTS"
	assert_success
	# pmessage / pattern / channel / payload
	got() { [ "$(grep -c '^pmessage$' "$T/sub")" -ge 9 ]; }
	wait_until 10 got
	run awk '/^pmessage$/ { getline; getline ch; getline msg; print ch, msg }' "$T/sub"
	local line ch
	while read -r ch line; do
		assert_equal "$ch" "vk.$(jq -r .event_type <<<"$line")"
	done <<<"$output"
	assert_equal "$(awk '/^pmessage$/ { getline; getline; print }' "$T/sub" | sort | uniq -c | awk '{ print $2 ":" $1 }' | tr '\n' ' ')" \
		"vk.button:2 vk.command:1 vk.message:3 vk.message_edit:1 vk.reaction:2 "
}

@test "XADD: the stream holds every event, in order, in the field 'event'" {
	gen 5000 >"$T/in"
	run vk-route --stats -e "* -> redis://127.0.0.1:$RPORT/xadd/vk:events" <"$T/in"
	assert_success
	assert_line "vk-route: stats: dest redis://127.0.0.1:$RPORT/xadd/vk:events delivered=5000 queued=0 failed=0 spilled=0"
	assert_equal "$(redis-cli -p "$RPORT" xlen vk:events)" 5000
	stream_events vk:events >"$T/got"
	cmp "$T/in" "$T/got"
	assert_equal "$(redis-cli -p "$RPORT" --raw xrange vk:events - + count 1 | sed -n 2p)" event
}

@test "XADD: ?maxlen=N trims the stream; templated stream names; a database" {
	gen 3000 >"$T/in"
	run vk-route -e "* -> redis://127.0.0.1:$RPORT/xadd/capped?maxlen=100" \
		-e "* -> redis://127.0.0.1:$RPORT/3/xadd/by-type:{.event_type}" <"$T/in"
	assert_success
	[ "$(redis-cli -p "$RPORT" xlen capped)" -lt 1000 ]
	assert_equal "$(stream_events capped | tail -n 1 | jq -r .event_id)" 2999
	assert_equal "$(redis-cli -p "$RPORT" -n 3 xlen by-type:a)" 1500
	assert_equal "$(redis-cli -p "$RPORT" -n 3 xlen by-type:b)" 1500
	assert_equal "$(redis-cli -p "$RPORT" exists by-type:a)" 0
}

# check_stream KEY N WINDOW: the stream holds events 0…N-1, in order, except
# that after a reconnection up to WINDOW events may come again (at least once).
check_stream() {
	stream_events "$1" | jq -r .event_id | python3 "$ROUTE_FIX/check-order.py" "$2" "$3"
}

@test "XADD: Redis killed mid-stream and restarted: every event, in order, duplicates within the window" {
	# the restarted server must keep what it confirmed: fsync before replying
	kill_redis
	run_redis "$T" "$RPORT" --appendonly yes --appendfsync always
	gen 20000 >"$T/in"
	mkfifo "$T/fifo"
	vk-route --stats -e "* -> redis://127.0.0.1:$RPORT/xadd/s" <"$T/fifo" 2>"$T/err" &
	local vr=$!
	PIDS="$PIDS $vr"
	# a slow writer keeps the stream going while the server dies
	python3 -c '
import sys, time
lines = open(sys.argv[1]).readlines()
out = open(sys.argv[2], "w")
for i in range(0, len(lines), 200):
    out.writelines(lines[i:i + 200]); out.flush(); time.sleep(0.005)
' "$T/in" "$T/fifo" &
	PIDS="$PIDS $!"
	above() { [ "$(redis-cli -p "$RPORT" xlen s 2>/dev/null)" -ge 3000 ]; }
	wait_until 20 above
	kill_redis
	wait_until 10 grep_file "will retry" "$T/err"
	run_redis "$T" "$RPORT" --appendonly yes --appendfsync always
	wait "$vr"
	run cat "$T/err"
	assert_line --partial "delivering again"
	assert_line --regexp "dest redis://127.0.0.1:$RPORT/xadd/s delivered=2[0-9]{4} queued=0 failed=0 spilled=0"
	run check_stream s 20000 1024
	assert_success
}

@test "a Redis that is down holds back no other destination; what is left is spilled" {
	kill_redis
	mkdir "$T/spill"
	run --separate-stderr vk-route --drain-timeout 0.3 --spill "$T/spill" \
		-e "* -> redis://127.0.0.1:$RPORT/xadd/s" -e '* -> stdout' <"$EVENTS"
	assert_failure 1
	assert_equal "$(printf '%s\n' "$output" | ids)" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
	cmp "$EVENTS" "$(spill_file "$T/spill" "redis___127_0_0_1_${RPORT}_xadd_s" .ndjson)"
	[[ "$stderr" == *"redis://127.0.0.1:$RPORT/xadd/s: cannot connect: Connection refused; will retry"* ]]
}

@test "an error reply refuses the line: kept with the reason, the others go on" {
	redis-cli -p "$RPORT" set taken x >/dev/null
	mkdir "$T/spill"
	run --separate-stderr vk-route --spill "$T/spill" \
		-e ".event_type == \"button\" -> redis://127.0.0.1:$RPORT/xadd/taken" \
		-e "* -> redis://127.0.0.1:$RPORT/xadd/ok" <"$EVENTS"
	assert_failure 1
	assert_equal "$(redis-cli -p "$RPORT" xlen ok)" 9
	local f="$(spill_file "$T/spill" "redis___127_0_0_1_${RPORT}_xadd_taken" .rejected.ndjson)"
	assert_equal "$(jq -r '.event.event_id' "$f" | tr '\n' ' ')" "e4 e5 "
	assert_equal "$(jq -r '.error' "$f" | head -n 1 | cut -c1-9)" WRONGTYPE
	[[ "$stderr" == *"2 lines refused by the destination, kept in $f"* ]]
}

@test "credentials: AUTH with USER:PASSWORD, never shown in messages or stats" {
	redis-cli -p "$RPORT" acl setuser router on '>pw-S3CRET' '~*' '&*' '+@all' >/dev/null
	run vk-route --stats -e "* -> redis://router:pw-S3CRET@127.0.0.1:$RPORT/xadd/s" <"$EVENTS"
	assert_success
	assert_equal "$(redis-cli -p "$RPORT" xlen s)" 9
	assert_line "vk-route: stats: dest redis://router:***@127.0.0.1:$RPORT/xadd/s delivered=9 queued=0 failed=0 spilled=0"
	refute_output --partial S3CRET
	# a wrong password: refused, retried, reported, still masked
	run vk-route --drain-timeout 0.3 --stats -e "* -> redis://router:pw-WR0NG@127.0.0.1:$RPORT/publish/c" <"$EVENTS"
	assert_failure 1
	assert_line --partial "redis://router:***@127.0.0.1:$RPORT/publish/c: refused the login or database: WRONGPASS"
	refute_output --partial WR0NG
	# and down: the connection error too
	kill_redis
	run vk-route --drain-timeout 0.2 -e "* -> redis://:pw-S3CRET@127.0.0.1:$RPORT/xadd/s" <"$EVENTS"
	assert_failure 1
	assert_line --partial "redis://:***@127.0.0.1:$RPORT/xadd/s: cannot connect"
	refute_output --partial S3CRET
}

@test "redis URLs are checked when the rules are loaded" {
	run vk-route --check -e '* -> redis://127.0.0.1/publish/x'
	assert_failure 3
	assert_output "vk-route: -e:1:23: HOST:PORT expected, like 127.0.0.1:6379"
	run vk-route --check -e '* -> redis://127.0.0.1:99999/publish/x'
	assert_failure 3
	assert_output "vk-route: -e:1:24: the port is a number from 1 to 65535"
	run vk-route --check -e '* -> redis://127.0.0.1:6379/lpush/x'
	assert_failure 3
	assert_output "vk-route: -e:1:29: /publish/CHANNEL or /xadd/STREAM expected"
	run vk-route --check -e '* -> redis://127.0.0.1:6379/publish/c?maxlen=3'
	assert_failure 3
	assert_output --partial "only ?maxlen=N (N > 0) may follow a stream"
	run vk-route --check -e '* -> redis://{.h}:6379/publish/c'
	assert_failure 3
	assert_output "vk-route: -e:1:14: only the channel or stream can be a template"
	run vk-route --check -e '* -> redis://127.0.0.1:6379/xadd/'
	assert_failure 3
	assert_output "vk-route: -e:1:34: the stream name is missing"
}

@test "SIGTERM with Redis down: stops reading, drains, spills what is left, exits 0" {
	kill_redis
	mkdir "$T/spill"
	mkfifo "$T/fifo"
	vk-route --drain-timeout 0.3 --spill "$T/spill" \
		-e "* -> redis://127.0.0.1:$RPORT/publish/c" <"$T/fifo" 2>"$T/err" &
	local vr=$!
	PIDS="$PIDS $vr"
	exec 7>"$T/fifo"
	cat "$EVENTS" >&7
	wait_until 10 grep_file "will retry" "$T/err"
	kill -TERM "$vr"
	local rc=0
	wait "$vr" || rc=$?
	exec 7>&-
	assert_equal "$rc" 0
	wait_until 5 spilled_at_least 9 "$T/spill" "redis___127_0_0_1_${RPORT}_publish_c" .ndjson
	cmp "$EVENTS" "$(spill_file "$T/spill" "redis___127_0_0_1_${RPORT}_publish_c" .ndjson)"
}
