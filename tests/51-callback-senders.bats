#!/usr/bin/env bats
# vk-callback under load, retries and kill -9: every ok'd update written, whole, once.

load helper
load lib-callback

setup() {
	export VK_CALLBACK_SECRET="$CB_SECRET" VK_GROUP_ID=42
	unset VK_CALLBACK_CONFIRM
}

teardown() {
	cb_teardown
	[ -z "${LORIS_PID:-}" ] || kill -KILL "$LORIS_PID" 2>/dev/null || true
}

@test "4 senders at once over 500 updates: each written once, whole, each ok'd" {
	bodies 500
	cb_start
	run -0 send --senders 4
	cb_stop
	assert_equal "$status" 0
	run -0 "$PYTHON" "$CB_FIX/check-sent.py" "$SENT" "$EXPECTED" "$CB_OUT"
	assert_output 'lines 500, updates 500, duplicates 0'
	diff <(sort "$EXPECTED") <(sort "$CB_OUT")
	no_secret "$CB_OUT" "$CB_ERR"
}

@test "VK's resends of delivered updates are answered ok, never written twice" {
	bodies 60
	cb_start -v
	send --senders 2
	# Again, every one, as VK does when an ok got lost on the way.
	run -0 send --senders 3
	# And one body on many connections at once.
	head -n 1 "$BODIES" >"$BATS_TEST_TMPDIR/one"
	for _ in 1 2 3 4 5 6; do echo; cat "$BATS_TEST_TMPDIR/one"; done | grep . >"$BODIES"
	run -0 send --senders 6
	cb_stop
	assert_equal "$(wc -l <"$CB_OUT")" 60
	diff <(sort "$EXPECTED") <(sort "$CB_OUT")
	assert_equal "$(jq -s 'map(select(.ok)) | length' "$SENT")" 126
}

@test "kill -9 mid-stream, a restart appending: every ok'd update there whole; repeats only of those in flight" {
	bodies 4000
	cb_start
	send --senders 4 --retry-delay 0.02 &
	SENDER_PID=$!
	wait_until 60 lines_at_least 300 "$CB_OUT"
	kill -KILL "$CB_PID"
	wait "$CB_PID" || true
	CB_PID=
	cb_start
	status=0
	wait "$SENDER_PID" || status=$?
	SENDER_PID=
	assert_equal "$status" 0
	cb_stop
	run -0 "$PYTHON" "$CB_FIX/check-sent.py" "$SENT" "$EXPECTED" "$CB_OUT" --torn 1
	assert_output --regexp '^lines [0-9]+, updates 4000, duplicates [0-9]+$'
	# The sender did see the kill: some attempts failed.
	[ "$(jq -s 'map(select(.ok | not)) | length' "$SENT")" -gt 0 ]
}

@test "a line torn by a crash: the restart begins on a line of its own" {
	printf '{"type":"message_new","event_id":"torn","gro' >"$BATS_TEST_TMPDIR/out.ndjson"
	cb_start
	post "$(event e1)"
	assert_equal "$code" 200
	cb_stop
	assert_equal "$(sed -n 2p "$CB_OUT" | jq -r .event_id)" e1
	assert_equal "$(wc -l <"$CB_OUT")" 2
}

@test "a reader that does not read holds the answers back, not the server" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	CB_SINK="$BATS_TEST_TMPDIR/fifo"
	# A reader that opens the FIFO and reads nothing yet: wait until told.
	(exec 3<"$BATS_TEST_TMPDIR/fifo"; while [ ! -e "$BATS_TEST_TMPDIR/go" ]; do sleep 0.05; done
	 cat <&3 >"$BATS_TEST_TMPDIR/got") &
	VK_CALLBACK_CONFIRM=c0de cb_start
	# Fill the pipe: 64 KiB and more of lines no one reads.
	bodies 400
	send --senders 4 --max-tries 1 --timeout 1 || true
	[ "$(jq -s 'map(select(.ok | not)) | length' "$SENT")" -gt 0 ]
	# Meanwhile: confirmations, refusals and repeats are answered at once.
	post '{"type":"confirmation","group_id":42,"secret":"'"$CB_SECRET"'"}' -m 5
	assert_equal "$(cat "$RESP")" c0de
	post "$(event e1 43)" -m 5
	assert_equal "$code" 403
	# The reader reads: the held answers become ok; VK's resends are not written twice.
	touch "$BATS_TEST_TMPDIR/go"
	run -0 send --senders 4
	cb_stop
	wait_until 10 lines_at_least 400 "$BATS_TEST_TMPDIR/got"
	assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/got")" 400
	diff <(sort "$EXPECTED") <(sort "$BATS_TEST_TMPDIR/got")
}

@test "a slow client sending half a body holds no one else back" {
	cb_start
	exec 5<>"/dev/tcp/127.0.0.1/$CB_PORT"
	printf 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"type":' >&5
	exec 6<>"/dev/tcp/127.0.0.1/$CB_PORT"
	printf 'POST / HTTP/1.1\r\nHost: x\r\n' >&6
	bodies 20
	run -0 send --senders 2 --timeout 5 --max-tries 1
	exec 5>&- 6>&-
	cb_stop
	assert_equal "$(wc -l <"$CB_OUT")" 20
}

# loris_start N ADDRS: tests/fixtures/callback/slowloris.py, N connections from
# ADDRS other loopback addresses, until all are open. Pid in $LORIS_PID.
loris_start() {
	LORIS="$BATS_TEST_TMPDIR/loris"
	rm -f "$LORIS"
	"$PYTHON" "$CB_FIX/slowloris.py" "$CB_PORT" "$1" "$2" "$LORIS" 2>"$LORIS.err" &
	LORIS_PID=$!
	echo "$LORIS_PID" >"$BATS_TEST_TMPDIR/loris.pid"
	wait_until 30 grep_file "^opened" "$LORIS"
}

loris_stop() {
	kill -KILL "$LORIS_PID" 2>/dev/null || true
	wait "$LORIS_PID" 2>/dev/null || true
	LORIS_PID=
}

# vk_posts N: N events from VK's address (127.0.0.1), each answered within 5 s.
vk_posts() {
	local i
	for i in $(seq "$1"); do
		post "$(event "vk-$2-$i")" -m 5
		assert_equal "$code" 200
	done
}

@test "1100 connections trickling header bytes: VK's requests answered within 5 s" {
	# The attacker's descriptors: 1100 and room, if this machine allows them.
	[ "$(ulimit -H -n)" = unlimited ] || [ "$(ulimit -H -n)" -ge 1300 ] ||
		skip "the hard limit on open files is below 1300"
	# vk-callback starts with systemd's soft limit and raises its own.
	ulimit -S -n 1024
	cb_start --stats
	# From 20 addresses (55 each): the table fills, the longest readers are cut.
	loris_start 1100 20
	vk_posts 5 spread
	loris_stop
	# From one address: it gets its share of the table, no more.
	loris_start 1100 1
	vk_posts 5 one
	loris_stop
	cb_stop
	assert_equal "$status" 0
	assert_equal "$(ids "$CB_OUT")" "vk-spread-1 vk-spread-2 vk-spread-3 vk-spread-4 vk-spread-5 vk-one-1 vk-one-2 vk-one-3 vk-one-4 vk-one-5"
	# The connections cut are counted.
	grep -q 'stats: callback lines=10 .* cut=[1-9]' "$CB_ERR"
}

@test "a request trickled for longer than 20 s is cut, though never idle" {
	cb_start --stats
	loris_start 1 1
	SECONDS=0
	# libmicrohttpd's 10 s idle timeout never fires: a byte comes every 0.5 s.
	wait_until 60 grep_file " cut 1 " "$LORIS"
	[ "$SECONDS" -ge 15 ]
	loris_stop
	post "$(event e1)"
	assert_equal "$code" 200
	cb_stop
	grep -q 'stats: callback lines=1 .* cut=1$' "$CB_ERR"
}
