#!/usr/bin/env bats
# vk-poll --ack: the state follows what the end of the pipeline acknowledged.

load helper
load lib-poll

teardown() {
	[ -z "${VP:-}" ] || kill -KILL "$VP" 2>/dev/null || true
}

teardown_file() {
	fake_stop_all
}

# start_poll ARGS...: vk-poll in the background against the fake (pid in $VP),
# stdout appended to $OUT, stderr to $ERR.
start_poll() {
	OUT="$BATS_TEST_TMPDIR/out.ndjson"
	ERR="$BATS_TEST_TMPDIR/err.txt"
	vk-poll --api-url "$API_URL" --wait 1 "$@" >>"$OUT" 2>>"$ERR" </dev/null 3>&- &
	VP=$!
}

lines_are() { [ "$(wc -l <"$1" 2>/dev/null)" = "$2" ]; }
state_is() { [ "$(jq -r .ts "$st" 2>/dev/null)" = "$1" ]; }

# stop_poll: SIGTERM, then its exit status must be 0.
stop_poll() {
	kill -TERM "$VP"
	status=0
	wait "$VP" || status=$?
	VP=
	assert_equal "$status" 0
}

@test "ack: the state advances exactly to the acknowledged batches" {
	scenario 10 2
	fake_start
	st="$BATS_TEST_TMPDIR/state"
	acks="$BATS_TEST_TMPDIR/acks"
	: >"$acks"
	start_poll --ack "$acks" --ack-drain 0 --state "$st"
	# Everything is written, nothing acknowledged: the state stays at the start.
	wait_until 10 lines_are "$OUT" 10
	wait_until 10 state_is 100
	echo ev0001 >>"$acks"
	wait_until 10 state_is 102
	# An id it never wrote and a line too long for an id are ignored.
	{ echo not-an-id-of-ours; head -c 5000 /dev/zero | tr '\0' x; echo; } >>"$acks"
	# ev0004 opens the third batch: only the second one is complete.
	echo ev0004 >>"$acks"
	wait_until 10 state_is 104
	# An ack written in two pieces counts once whole.
	printf 'ev00' >>"$acks"
	printf '07\n' >>"$acks"
	wait_until 10 state_is 108
	# SIGTERM saves the last acknowledged ts, not the last one written (110).
	stop_poll
	run jq -r .ts "$st"
	assert_output 108
	run ids "$OUT"
	assert_output "$(expect_ids 0 9)"
}

@test "ack: without acks the state never advances past the start" {
	scenario 10 2
	fake_start
	st="$BATS_TEST_TMPDIR/state"
	: >"$BATS_TEST_TMPDIR/acks"
	poll --max-events 10 --ack "$BATS_TEST_TMPDIR/acks" --ack-drain 0 --state "$st"
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 0 9)"
	run cat "$st"
	assert_output '{"group_id":42,"ts":"100"}'
	# Resumed from a saved ts, it stays there too.
	printf '{"group_id":42,"ts":"104"}\n' >"$st"
	poll --max-events 6 --ack "$BATS_TEST_TMPDIR/acks" --ack-drain 0 --state "$st"
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 4 9)"
	run jq -r .ts "$st"
	assert_output 104
}

@test "ack: kill -9 and a restart write again exactly the unacknowledged batches" {
	scenario 10 2
	fake_start
	st="$BATS_TEST_TMPDIR/state"
	acks="$BATS_TEST_TMPDIR/acks"
	: >"$acks"
	start_poll --ack "$acks" --state "$st"
	wait_until 10 lines_are "$OUT" 10
	# Batches 100-102 and 102-104 done; ev0004 of 104-106 done, ev0005 not.
	printf 'ev0000\nev0002\nev0003\nev0004\n' >>"$acks"
	wait_until 10 state_is 104
	kill -KILL "$VP"
	wait "$VP" 2>/dev/null || true
	VP=
	run jq -r .ts "$st"
	assert_output 104
	# The restart re-reads the old acks (true still: ev0004 was delivered)
	# but batch 104-106 is not complete: it comes again, with what follows.
	poll --max-events 6 --ack "$acks" --ack-drain 0 --state "$st"
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 4 9)"
	run jq -r .ts "$st"
	assert_output 104
	# The restart polled from the last acknowledged batch on.
	run sh -c "jq -r 'select(.endpoint == \"a_check\") | .query.ts' '$FAKE_LOG' | tail -n 3"
	assert_output "$(printf '104\n106\n108')"
}

@test "ack: through vk-normalize, dropped and rejected updates are covered by a later ack" {
	scenario 9 3
	# ev0002 ends batch 1 and ev0008 ends batch 3 with a type vk-normalize
	# drops (it keeps the seed's four alone); ev0004 lacks from_id, so
	# vk-normalize rejects it.
	SEED4=--event-types=command,message,button,reaction
	jq '.updates |= [to_entries[] | .value.object.message.from_id = 7 |
	    .value.object.message.conversation_message_id = .key |
	    if .key == 2 or .key == 8 then .value.type = "vkpipe_test_other"
	    elif .key == 4 then del(.value.object.message.from_id) else . end |
	    .value]' "$SC" >"$SC.2"
	fake_start "$SC.2"
	st="$BATS_TEST_TMPDIR/state"
	fifo="$BATS_TEST_TMPDIR/ack.fifo"
	mkfifo "$fifo"
	SECONDS=0
	# The end of the pipeline acknowledges each Event it receives. (No
	# timeout(1) around vk-poll: it would hold the pipe open, and the
	# pipeline could not see its end before --ack-drain runs out.)
	vk-poll --api-url "$API_URL" --wait 1 --max-events 9 --ack "$fifo" \
		--ack-drain 20 --state "$st" 2>"$BATS_TEST_TMPDIR/err" </dev/null |
		vk-normalize --offline $SEED4 2>"$BATS_TEST_TMPDIR/norm.err" |
		tee "$BATS_TEST_TMPDIR/events" | jq --unbuffered -r .event_id >"$fifo"
	# It ended with the pipeline, not after --ack-drain.
	[ "$SECONDS" -lt 15 ]
	run jq -r .event_id "$BATS_TEST_TMPDIR/events"
	assert_output "$(printf 'ev%04d\n' 0 1 3 5 6 7)"
	# Batch 1 (ev0000-ev0002) is covered by ev0003's ack, batch 2 by ev0005's;
	# batch 3 ends with a dropped update that nothing after it covers yet.
	run jq -r .ts "$st"
	assert_output 106
	run grep -c 'rejected' "$BATS_TEST_TMPDIR/norm.err"
	assert_output 1
	# The next run covers batch 3 with the ack of a new update.
	jq '.updates += [.updates[0] | .event_id = "ev0009"]' "$SC.2" >"$SC.3"
	fake_start "$SC.3"
	vk-poll --api-url "$API_URL" --wait 1 --max-events 4 --ack "$fifo" \
		--ack-drain 20 --state "$st" 2>"$BATS_TEST_TMPDIR/err" </dev/null |
		vk-normalize --offline $SEED4 2>/dev/null | jq --unbuffered -r .event_id >"$fifo"
	run jq -r .ts "$st"
	assert_output 110
}

@test "ack: --ack-window pauses polling while that many updates are unacknowledged" {
	scenario 10 2
	fake_start
	st="$BATS_TEST_TMPDIR/state"
	acks="$BATS_TEST_TMPDIR/acks"
	: >"$acks"
	start_poll --ack "$acks" --ack-window 4 --ack-drain 0 --state "$st"
	wait_until 10 lines_are "$OUT" 4
	wait_until 10 grep -q 'polling paused' "$ERR"
	# Paused: a while later (the point of the test, not a synchronisation)
	# it has not polled again.
	sleep 1
	assert_equal "$(wc -l <"$OUT")" 4
	assert_equal "$(requests a_check)" 2
	# One batch acknowledged makes room for one more.
	echo ev0001 >>"$acks"
	wait_until 10 lines_are "$OUT" 6
	sleep 0.5
	assert_equal "$(wc -l <"$OUT")" 6
	echo ev0005 >>"$acks"
	wait_until 10 lines_are "$OUT" 10
	wait_until 10 state_is 106
	stop_poll
	run ids "$OUT"
	assert_output "$(expect_ids 0 9)"
	# Logged once, however often it pauses.
	run grep -c 'polling paused' "$ERR"
	assert_output 1
}

@test "ack: a FIFO whose writer restarts is reopened; SIGTERM ends the output, then waits for acks" {
	scenario 6 2 '{"idle": 30}'
	fake_start
	st="$BATS_TEST_TMPDIR/state"
	fifo="$BATS_TEST_TMPDIR/ack.fifo"
	mkfifo "$fifo" "$BATS_TEST_TMPDIR/outpipe"
	cat "$BATS_TEST_TMPDIR/outpipe" >"$BATS_TEST_TMPDIR/out" 3>&- &
	cp=$!
	vk-poll --api-url "$API_URL" --wait 30 --ack "$fifo" --ack-drain 30 --state "$st" \
		>"$BATS_TEST_TMPDIR/outpipe" 2>"$BATS_TEST_TMPDIR/err" </dev/null 3>&- &
	VP=$!
	wait_until 10 lines_are "$BATS_TEST_TMPDIR/out" 6
	# A first writer comes and goes ...
	echo ev0001 >"$fifo"
	wait_until 10 state_is 102
	# ... a second one (vk-route restarted) is heard too, during the 30 s poll.
	exec 5>"$fifo"
	echo ev0003 >&5
	wait_until 10 state_is 104
	# SIGTERM: the output ends at once (cat sees EOF), so the pipeline can
	# finish, while vk-poll waits for the acks of what it wrote.
	kill -TERM "$VP"
	wait "$cp"
	kill -0 "$VP"
	# The writer leaving ends the wait long before --ack-drain's 30 s.
	start=$(date +%s)
	echo ev0004 >&5
	exec 5>&-
	status=0
	wait "$VP" || status=$?
	VP=
	assert_equal "$status" 0
	[ $(($(date +%s) - start)) -le 3 ]
	# ev0004 does not complete the batch 104-106: 104 stays.
	run jq -r .ts "$st"
	assert_output 104
	run ids "$BATS_TEST_TMPDIR/out"
	assert_output "$(expect_ids 0 5)"
}

@test "ack: options without --ack are usage errors; a missing channel is a configuration error" {
	scenario 1 1
	fake_start
	poll --ack-window 10
	assert_equal "$status" 2
	run cat "$ERR"
	assert_output 'vk-poll: --ack-window and --ack-drain only go with --ack PATH'
	poll --ack x --ack-drain -1
	assert_equal "$status" 2
	poll --ack "$BATS_TEST_TMPDIR/nope" --once
	assert_equal "$status" 3
	run cat "$ERR"
	assert_output --partial "cannot open the ack channel $BATS_TEST_TMPDIR/nope: No such file or directory"
	mkdir "$BATS_TEST_TMPDIR/dir"
	poll --ack "$BATS_TEST_TMPDIR/dir" --once
	assert_equal "$status" 3
	assert_equal "$(requests groups.getLongPollServer)" 0
}
