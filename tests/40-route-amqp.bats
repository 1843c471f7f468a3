#!/usr/bin/env bats
# vk-route to RabbitMQ: a durable queue per event_type, publisher confirms,
# refusals (nack, unroutable, a missing exchange), a broker killed and
# restarted, stopped, or not there, credentials, --ack.
# One real rabbitmq-server, started for the whole file (it takes seconds).
load helper
load lib-route

AMQP="$ROUTE_FIX/amqp.py"

setup_file() {
	RMQ_TLS=1 rabbit_start "$BATS_FILE_TMPDIR/rmq"
}

teardown_file() {
	rabbit_stop
}

setup() {
	route_setup
	Q="t$BATS_TEST_NUMBER"	# queue names of this test
	U="amqp://127.0.0.1:$RMQ_PORT"
}

teardown() {
	local vm
	vm=$(rabbit_vm_pid)
	[ -n "$vm" ] && kill -CONT "$vm" 2>/dev/null
	[ -z "${ALARM:-}" ] || rabbitctl set_vm_memory_high_watermark 0.4 >/dev/null
	route_teardown
}

# qget QUEUE [--props]: take every message of the queue.
qget() {
	"$PYTHON" "$AMQP" "$RMQ_PORT" get "$@"
}

@test "a durable queue per event_type holds exactly its Events, in order, persistent, with their event_id" {
	run vk-route --stats -e "* -> $U/queue/$Q.{.event_type}" <"$EVENTS"
	assert_success
	assert_line "vk-route: stats: dest $U/queue/$Q.message delivered=3 queued=0 failed=0 spilled=0"
	run rabbitctl list_queues -q name durable messages
	assert_line --regexp "^$Q.message	true	3$"
	assert_line --regexp "^$Q.button	true	2$"
	local t
	for t in command message button reaction message_edit; do
		assert_equal "$(qget "$Q.$t")" "$(grep "^{\"event_type\":\"$t\"" "$EVENTS")"
	done
	vk-route -e "* -> $U/queue/$Q.all" <"$EVENTS"
	run qget "$Q.all" --props
	assert_equal "$(jq -r '"\(.delivery_mode) \(.content_type) \(.message_id)"' <<<"$output" | sort -u | wc -l)" 9
	assert_equal "$(jq -r .message_id <<<"$output" | tr '\n' ' ')" "e1 e2 e3 e4 e5 e6 e7 e8 e9 "
	assert_equal "$(jq -r '"\(.delivery_mode) \(.content_type)"' <<<"$output" | sort -u)" "2 application/json"
	assert_equal "$(jq -r .body <<<"$output")" "$(cat "$EVENTS")"
}

@test "message_id: the event_id unescaped; none when it is no string, empty, or longer than 255 bytes" {
	{
		printf '%s\n' '{"event_type":"message","event_id":"e\u00e9\"q"}' '{"event_type":"message","event_id":7}' \
			'{"event_type":"message","event_id":""}' '{"event_type":"message"}'
		printf '{"event_type":"message","event_id":"%s"}\n' "$(head -c 300 /dev/zero | tr '\0' x)"
		printf '%s\n' ' {"event_id":"k2","event_type":"message"} '
	} >"$T/in"
	run vk-route -e "* -> $U/queue/$Q" <"$T/in"
	assert_success
	run qget "$Q" --props
	assert_equal "$(jq -r .message_id <<<"$output" | tr '\n' ' ')" 'eé"q null null null null k2 '
	assert_equal "$(jq -r .body <<<"$output")" "$(cat "$T/in")"
}

@test "many events through one queue: all confirmed, in order, byte for byte" {
	gen 20000 >"$T/in"
	run vk-route --stats -e "* -> $U/queue/$Q" <"$T/in"
	assert_success
	assert_line "vk-route: stats: dest $U/queue/$Q delivered=20000 queued=0 failed=0 spilled=0"
	qget "$Q" >"$T/got"
	cmp "$T/in" "$T/got"
}

@test "hostile names: a template value is one name, whatever it holds" {
	printf '%s\n' '{"event_type":"a/b%2F?#x","event_id":"1"}' \
		'{"event_type":"../queue/evil","event_id":"2"}' >"$T/in"
	run vk-route --stats -e "* -> $U/queue/$Q.{.event_type}" <"$T/in"
	assert_success
	assert_equal "$(qget "$Q.a/b%2F?#x" | jq -r .event_id)" 1
	assert_equal "$(qget "$Q.../queue/evil" | jq -r .event_id)" 2
}

@test "an exchange is used as it exists; an unroutable message is refused for good, with the reason" {
	"$PYTHON" "$AMQP" "$RMQ_PORT" declare-exchange "$Q.ex" direct
	"$PYTHON" "$AMQP" "$RMQ_PORT" bind "$Q.ex" "$Q.bound" msg
	mkdir "$T/spill"
	run --separate-stderr vk-route --spill "$T/spill" \
		-e ".event_type == \"message\" -> $U/exchange/$Q.ex/msg" \
		-e ".event_type == \"button\" -> $U/exchange/$Q.ex/nobody" <"$EVENTS"
	assert_failure 1
	assert_equal "$(qget "$Q.bound" | ids)" "e2 e3 e8"
	local f
	f=$(spill_file "$T/spill" "amqp___127_0_0_1_${RMQ_PORT}_exchange_${Q}_ex_nobody" .rejected.ndjson)
	assert_equal "$(jq -r .event.event_id "$f" | tr '\n' ' ')" "e4 e5 "
	assert_equal "$(jq -r .error "$f" | sort -u)" "unroutable (basic.return): 312 NO_ROUTE"
	[[ "$stderr" == *"2 lines refused by the destination, kept in $f"* ]]
}

@test "an exchange that does not exist: each line refused with the broker's reason; the others go on" {
	mkdir "$T/spill"
	run --separate-stderr vk-route --stats --spill "$T/spill" \
		-e ".event_type == \"button\" -> $U/exchange/$Q.missing/k" \
		-e "* -> $U/queue/$Q" <"$EVENTS"
	assert_failure 1
	assert_equal "$(qget "$Q" | ids)" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
	local f
	f=$(spill_file "$T/spill" "amqp___127_0_0_1_${RMQ_PORT}_exchange_${Q}_missing_k" .rejected.ndjson)
	assert_equal "$(jq -r .event.event_id "$f" | tr '\n' ' ')" "e4 e5 "
	assert_equal "$(jq -r .error "$f" | sort -u)" \
		"the broker closed the channel: 404 NOT_FOUND - no exchange '$Q.missing' in vhost '/'"
}

@test "a nack (a full queue with overflow=reject-publish) refuses the line for good, with the reason" {
	"$PYTHON" "$AMQP" "$RMQ_PORT" declare-queue "$Q" '{"x-max-length": 3, "x-overflow": "reject-publish"}'
	mkdir "$T/spill"
	run --separate-stderr vk-route --stats --spill "$T/spill" -e "* -> $U/queue/$Q" <"$EVENTS"
	assert_failure 1
	[[ "$stderr" == *"dest $U/queue/$Q delivered=3 queued=0 failed=0 spilled=0"* ]]
	assert_equal "$(qget "$Q" | ids)" "e1 e2 e3"
	local f
	f=$(spill_file "$T/spill" "amqp___127_0_0_1_${RMQ_PORT}_queue_$Q" .rejected.ndjson)
	assert_equal "$(jq -r .event.event_id "$f" | tr '\n' ' ')" "e4 e5 e6 e7 e8 e9 "
	[[ "$(jq -r .error "$f" | sort -u)" == "basic.nack: the broker did not take it"* ]]
	# without --spill the refusals are failures (the queue is empty again)
	run vk-route --stats -e "* -> $U/queue/$Q" <"$EVENTS"
	assert_failure 1
	assert_line "vk-route: stats: dest $U/queue/$Q delivered=3 queued=0 failed=6 spilled=0"
}

@test "credentials with '@' and '%': logged in, never shown; a wrong password is retried and reported" {
	rabbitctl add_user 'r@u%ter' 'p@ss%S3CRET' >/dev/null
	rabbitctl set_permissions -p / 'r@u%ter' '.*' '.*' '.*' >/dev/null
	run vk-route --stats -e "* -> amqp://r%40u%25ter:p@ss%25S3CRET@127.0.0.1:$RMQ_PORT/queue/$Q" <"$EVENTS"
	assert_success
	assert_line "vk-route: stats: dest amqp://r%40u%25ter:***@127.0.0.1:$RMQ_PORT/queue/$Q delivered=9 queued=0 failed=0 spilled=0"
	refute_output --partial S3CRET
	assert_equal "$(qget "$Q" | ids)" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
	run vk-route --drain-timeout 0.5 --stats -e "* -> amqp://r%40u%25ter:p%40ss%25WR0NG@127.0.0.1:$RMQ_PORT/queue/$Q" <"$EVENTS"
	assert_failure 1
	assert_line --partial "amqp://r%40u%25ter:***@127.0.0.1:$RMQ_PORT/queue/$Q: refused the login or vhost: 403 ACCESS_REFUSED"
	refute_output --partial WR0NG
	refute_output --partial S3CRET
}

@test "a broker that is not there holds back no other destination; what is left is spilled" {
	local port
	port=$(free_port)
	mkdir "$T/spill"
	run --separate-stderr vk-route --drain-timeout 0.3 --spill "$T/spill" \
		-e "* -> amqp://u:S3CRET@127.0.0.1:$port/queue/x" -e '* -> stdout' <"$EVENTS"
	assert_failure 1
	assert_equal "$(printf '%s\n' "$output" | ids)" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
	cmp "$EVENTS" "$(spill_file "$T/spill" "amqp___u_____127_0_0_1_${port}_queue_x" .ndjson)"
	[[ "$stderr" == *"amqp://u:***@127.0.0.1:$port/queue/x: cannot connect"*"; will retry"* ]]
	[[ "$stderr" != *S3CRET* ]]
}

@test "a stopped broker stalls nothing: other destinations flow, the drain time holds" {
	kill -STOP "$(rabbit_vm_pid)"
	mkfifo "$T/fifo"
	vk-route --drain-timeout 1 -e "* -> $U/queue/$Q" -e "* -> file:$T/out" <"$T/fifo" 2>"$T/err" &
	local vr=$! start
	PIDS="$PIDS $vr"
	exec 7>"$T/fifo"
	cat "$EVENTS" >&7
	wait_until 10 lines_at_least 9 "$T/out"
	cat "$EVENTS" >&7
	wait_until 10 lines_at_least 18 "$T/out"
	start=$SECONDS
	exec 7>&-
	local rc=0
	wait "$vr" || rc=$?
	assert_equal "$rc" 1	# 18 lines not confirmed
	[ $((SECONDS - start)) -lt 8 ]
	grep -q "18 lines not delivered" "$T/err"
}

@test "--ack: only confirmed lines are acknowledged (a broker that blocks publishing confirms nothing)" {
	ALARM=1
	rabbitctl set_vm_memory_high_watermark 0 >/dev/null
	mkfifo "$T/fifo"
	vk-route --stats --ack "$T/ack" -e "* -> $U/queue/$Q" <"$T/fifo" 2>"$T/err" &
	local vr=$!
	PIDS="$PIDS $vr"
	exec 7>"$T/fifo"
	cat "$EVENTS" >&7
	blocked() { rabbitctl list_connections -q state | grep -q '^blocked$'; }
	wait_until 20 blocked
	[ ! -s "$T/ack" ]
	rabbitctl set_vm_memory_high_watermark 0.4 >/dev/null
	wait_until 20 lines_at_least 9 "$T/ack"
	exec 7>&-
	wait "$vr"
	assert_equal "$(paste -sd' ' "$T/ack")" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
	assert_equal "$(qget "$Q" | ids)" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
}

@test "the broker killed (-9) and restarted mid-stream: nothing it confirmed is lost, in order, duplicates within the window" {
	gen 20000 >"$T/in"
	# the queue is there before the stream, and on disk: the node keeps its
	# metadata (mnesia) in a log it writes to disk in its own time
	"$PYTHON" "$AMQP" "$RMQ_PORT" declare-queue "$Q" '{}'
	rabbitctl eval 'mnesia:dump_log().' >/dev/null
	mkfifo "$T/fifo"
	vk-route --stats --drain-timeout 60 -e "* -> $U/queue/$Q" <"$T/fifo" 2>"$T/err" &
	local vr=$!
	PIDS="$PIDS $vr"
	# a slow writer keeps the stream going while the broker dies
	python3 -c '
import sys, time
lines = open(sys.argv[1]).readlines()
out = open(sys.argv[2], "w")
for i in range(0, len(lines), 100):
    out.writelines(lines[i:i + 100]); out.flush(); time.sleep(0.01)
' "$T/in" "$T/fifo" &
	PIDS="$PIDS $!"
	above() { [ "$(rabbitctl list_queues -q name messages | awk -v q="$Q" '$1 == q { print $2 }')" -ge 2000 ]; }
	wait_until 60 above
	rabbit_kill
	wait_until 10 grep_file "will retry" "$T/err"
	rabbit_restart
	wait "$vr"
	run cat "$T/err"
	assert_line --partial "delivering again"
	assert_line --regexp "dest $U/queue/$Q delivered=2[0-9]{4} queued=0 failed=0 spilled=0"
	run bash -c "'$PYTHON' '$AMQP' $RMQ_PORT get $Q | jq -r .event_id | python3 '$ROUTE_FIX/check-order.py' 20000 1024"
	assert_success
}

@test "amqps://: TLS, the certificate and the host name verified" {
	local ca="$RMQ_DIR/tls/ca.pem"
	SSL_CERT_FILE=$ca run vk-route --stats -e "* -> amqps://localhost:$RMQ_TLS_PORT/queue/$Q" <"$EVENTS"
	assert_success
	assert_line "vk-route: stats: dest amqps://localhost:$RMQ_TLS_PORT/queue/$Q delivered=9 queued=0 failed=0 spilled=0"
	assert_equal "$(qget "$Q" | ids)" "e1 e2 e3 e4 e5 e6 e7 e8 e9"
	# a CA nobody trusts (the system's bundle does not know ours)
	run vk-route --drain-timeout 5 -e "* -> amqps://localhost:$RMQ_TLS_PORT/queue/$Q" <"$EVENTS"
	assert_failure 1
	assert_line --partial "amqps://localhost:$RMQ_TLS_PORT/queue/$Q: cannot connect"
	assert_line --partial "9 lines not delivered"
	# the certificate is for localhost, not for 127.0.0.1
	SSL_CERT_FILE=$ca run vk-route --drain-timeout 5 -e "* -> amqps://127.0.0.1:$RMQ_TLS_PORT/queue/$Q" <"$EVENTS"
	assert_failure 1
	assert_line --partial "amqps://127.0.0.1:$RMQ_TLS_PORT/queue/$Q: cannot connect"
	assert_equal "$(qget "$Q" | ids)" ""
}

@test "vkpipe: with VKPIPE_AMQP_URL each event goes to the durable queue of its type" {
	local W="$T" vkpipe="$VKPIPE_BIN/vkpipe"
	# generated updates that are all Events (no message_event, which the generator
	# writes without a conversation_message_id)
	"$PYTHON" "$REPO_DIR/tests/bench/gen-updates.py" 200 9 |
		jq -c 'select(.type != "message_event")' >"$W/updates.ndjson"
	printf '{"token":"entry-token-77","group_id":42,"batch":50,"updates_file":"%s"}\n' \
		"$W/updates.ndjson" >"$W/sc.json"
	FAKE_DIR=$W fake_vk_start "$W/sc.json"
	PIDS="$PIDS $FAKE_PID"
	vk-normalize --offline "$W/updates.ndjson" >"$W/want"
	rabbitctl add_user vkp 'pw%S3CRET' >/dev/null
	rabbitctl set_permissions -p / vkp '.*' '.*' '.*' >/dev/null
	# the password is in no process's argv while it runs
	(
		while [ ! -e "$W/done" ]; do
			ps -eo args= >"$W/ps.tmp"
			grep -q S3CRET "$W/ps.tmp" && echo leak >>"$W/ps"
			grep -q '^vk-route ' "$W/ps.tmp" && echo seen >>"$W/ps"
			sleep 0.05
		done
	) &
	PIDS="$PIDS $!"
	VKPIPE_STATE_DIR="$W/state" VK_GROUP_ID=42 VK_TOKEN=entry-token-77 \
		VKPIPE_AMQP_URL="amqp://vkp:pw%25S3CRET@127.0.0.1:$RMQ_PORT/" \
		VKPIPE_POLL_ARGS="--max-events $(wc -l <"$W/updates.ndjson") --wait 1" run --separate-stderr "$vkpipe"
	touch "$W/done"
	assert_success
	assert_equal "$output" ""
	[[ "$stderr" != *S3CRET* ]]
	grep -q seen "$W/ps"
	run ! grep -q leak "$W/ps"
	local t n=0
	for t in $(jq -r .event_type "$W/want" | sort -u); do
		assert_equal "$(qget "$t" | jq -r .event_id)" "$(jq -r "select(.event_type == \"$t\") | .event_id" "$W/want")"
		n=$((n + 1))
	done
	[ "$n" -ge 2 ]
}

@test "amqp URLs are checked when the rules are loaded" {
	run vk-route --check -e '* -> amqp://127.0.0.1'
	assert_failure 3
	assert_output --partial "queue/NAME or amqp://HOST[:PORT][/VHOST]/exchange/EXCHANGE/KEY expected"
	run vk-route --check -e '* -> amqp://127.0.0.1:99999/queue/x'
	assert_failure 3
	assert_output "vk-route: -e:1:23: the port is a number from 1 to 65535"
	run vk-route --check -e '* -> amqp://127.0.0.1/topic/x'
	assert_failure 3
	assert_output "vk-route: -e:1:23: /queue/NAME or /exchange/EXCHANGE/KEY expected"
	run vk-route --check -e '* -> amqp://{.h}/queue/x'
	assert_failure 3
	assert_output "vk-route: -e:1:13: only the queue, exchange or key can be a template"
	run vk-route --check -e '* -> amqp://h/queue/'
	assert_failure 3
	assert_output "vk-route: -e:1:21: the queue name is missing"
	run vk-route --check -e '* -> amqp://h/queue/a?b'
	assert_failure 3
	assert_output "vk-route: -e:1:22: a '?' in a name is written %3F"
	run vk-route --check -e '* -> amqp://h/queue/a%zz'
	assert_failure 3
	assert_output --partial "a bad %XX escape in the queue name"
	run vk-route --check -e '* -> amqp://h/vhost/queue/a' -e '* -> amqps://u:p@[::1]:5671/v/exchange/x/' \
		-e '* -> amqp://h/exchange/ex/{.event_type}' -e '* -> amqp://h/queue/queue/x' \
		-e '* -> amqp://h/exchange/queue/k' -e '* -> amqp://h/exchange/exchange/x/y'
	assert_success
}
