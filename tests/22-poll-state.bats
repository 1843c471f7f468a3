#!/usr/bin/env bats
# vk-poll --state: resume, atomic saves, signals, and kill -9 at random points.

load helper
load lib-poll

teardown_file() {
	fake_stop_all
}

@test "state: saved after each batch; a restart resumes where it stopped" {
	scenario 12 3
	fake_start
	st="$BATS_TEST_TMPDIR/state"
	poll --max-events 6 --state "$st"
	assert_equal "$status" 0
	cp "$OUT" "$BATS_TEST_TMPDIR/all"
	run cat "$st"
	assert_output '{"group_id":42,"ts":"106"}'
	[ ! -e "$st.tmp" ]
	poll --max-events 6 --state "$st"
	assert_equal "$status" 0
	cat "$OUT" >>"$BATS_TEST_TMPDIR/all"
	run ids "$BATS_TEST_TMPDIR/all"
	assert_output "$(expect_ids 0 11)"
	# The restart asked VK for a key but polled from the saved ts.
	run jq -r 'select(.endpoint == "a_check") | .query.ts' "$FAKE_LOG"
	assert_output "$(printf '100\n103\n106\n109')"
}

@test "state: a numeric ts is saved and sent back as a number" {
	scenario 4 2 '{"ts_number": true}'
	fake_start
	poll --max-events 2 --state "$BATS_TEST_TMPDIR/state"
	run cat "$BATS_TEST_TMPDIR/state"
	assert_output '{"group_id":42,"ts":102}'
	poll --max-events 2 --state "$BATS_TEST_TMPDIR/state"
	run ids "$OUT"
	assert_output "$(expect_ids 2 3)"
}

@test "state: a damaged state file, or another group's, stops with exit 3" {
	scenario 1 1
	fake_start
	printf '{"ts":' >"$BATS_TEST_TMPDIR/state"
	poll --state "$BATS_TEST_TMPDIR/state"
	assert_equal "$status" 3
	run cat "$ERR"
	assert_output --partial 'is not a vk-poll state file: fix it or remove it'
	printf '{"group_id":7,"ts":"5"}\n' >"$BATS_TEST_TMPDIR/state"
	poll --state "$BATS_TEST_TMPDIR/state"
	assert_equal "$status" 3
	run cat "$ERR"
	assert_output --partial 'belongs to group 7, not 42: use one state file per group'
	assert_equal "$(requests groups.getLongPollServer)" 0
}

@test "state: a state file that cannot be written is reported; exit 1" {
	scenario 3 3
	fake_start
	mkdir "$BATS_TEST_TMPDIR/ro"
	poll --max-events 3 --state "$BATS_TEST_TMPDIR/ro/missing-dir/state"
	assert_equal "$status" 1
	run ids "$OUT"
	assert_output "$(expect_ids 0 2)"
	run cat "$ERR"
	assert_output --partial 'cannot write state file'
	assert_equal "${#lines[@]}" 1
}

@test "signals: SIGTERM during an idle poll exits 0 at once with the state saved" {
	scenario 3 3 '{"idle": 30}'
	fake_start
	st="$BATS_TEST_TMPDIR/state"
	vk-poll --api-url "$API_URL" --wait 30 --state "$st" >"$BATS_TEST_TMPDIR/out" \
		2>"$BATS_TEST_TMPDIR/err" </dev/null &
	pid=$!
	# Wait until it holds an idle poll: its second a_check.
	wait_until 10 requested a_check 2
	assert_equal "$(requests a_check)" 2
	start=$(date +%s)
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 0
	# The transfer is abandoned within about a second, not after the 30 s wait.
	[ $(($(date +%s) - start)) -le 3 ]
	run ids "$BATS_TEST_TMPDIR/out"
	assert_output "$(expect_ids 0 2)"
	run jq -r .ts "$st"
	assert_output 103
}

@test "signals: SIGINT does the same" {
	scenario 2 2 '{"idle": 30}'
	fake_start
	vk-poll --api-url "$API_URL" --wait 30 >"$BATS_TEST_TMPDIR/out" 2>/dev/null </dev/null &
	pid=$!
	wait_until 10 requested a_check 2
	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 0
	run ids "$BATS_TEST_TMPDIR/out"
	assert_output "$(expect_ids 0 1)"
}

# big_batches: 600 updates of ~1 KB, 300 a batch (more than a pipe holds, so
# vk-poll blocks writing one), the fake loaded, $st and a FIFO ready.
big_batches() {
	scenario 600 300 '{"idle": 30}'
	jq '.updates[].object.message.text |= (. + ("x" * 900))' "$SC" >"$SC.big"
	fake_start "$SC.big"
	st="$BATS_TEST_TMPDIR/state"
	mkfifo "$BATS_TEST_TMPDIR/pipe"
}

@test "signals: SIGTERM while a batch is being written finishes the batch, then saves" {
	# 300 updates of ~1 KB in one batch: more than a pipe holds, so vk-poll
	# is blocked writing it when the signal comes.
	big_batches
	vk-poll --api-url "$API_URL" --wait 30 --state "$st" >"$BATS_TEST_TMPDIR/pipe" \
		2>"$BATS_TEST_TMPDIR/err" </dev/null &
	pid=$!
	exec 5<"$BATS_TEST_TMPDIR/pipe"
	IFS= read -r first <&5
	kill -TERM "$pid"
	{ printf '%s\n' "$first"; cat <&5; } >"$BATS_TEST_TMPDIR/out"
	exec 5<&-
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 0
	run ids "$BATS_TEST_TMPDIR/out"
	assert_output "$(expect_ids 0 299)"
	run jq -r .ts "$st"
	assert_output 400
}

@test "crash: kill -9 at random points, restart with --state: nothing lost, at most a batch again" {
	n=200
	batch=5
	scenario "$n" "$batch" '{"latency": 0.01, "idle": 0.05}'
	fake_start
	st="$BATS_TEST_TMPDIR/state"
	all="$BATS_TEST_TMPDIR/all"
	: >"$all"
	kills=0
	for round in $(seq 6); do
		vk-poll --api-url "$API_URL" --wait 1 --state "$st" >>"$all" 2>/dev/null </dev/null &
		pid=$!
		# A random point in the stream (this sleep is the randomness, not a wait).
		sleep "0.$((RANDOM % 20 + 5))"
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null || true
		kills=$((kills + 1))
		echo "# round $round: $(wc -l <"$all") lines" >&3
	done
	# Then run until everything is through.
	for _ in $(seq 100); do
		[ "$(jq -r .ts "$st" 2>/dev/null)" = $((100 + n)) ] && break
		timeout 20 vk-poll --api-url "$API_URL" --wait 1 --state "$st" --once >>"$all" </dev/null
	done
	ids "$all" | tr ' ' '\n' >"$BATS_TEST_TMPDIR/got"
	# Nothing lost and nothing reordered: the first sightings are exactly ev0000.. in order.
	run awk '!seen[$0]++' "$BATS_TEST_TMPDIR/got"
	assert_output "$(expect_ids 0 $((n - 1)) | tr " " "\n")"
	# Duplicates: at most one batch per kill, and only ever a replay of the
	# batch just before the restart (the stream never goes back further).
	dups=$(($(wc -l <"$BATS_TEST_TMPDIR/got") - n))
	echo "# $kills kills, $dups duplicated lines" >&3
	[ "$dups" -le $((kills * batch)) ]
	run awk -v b="$batch" '{ k = substr($0, 3) + 0; if (NR > 1 && k <= max - b) bad++; if (k > max) max = k }
	    END { print bad + 0 }' "$BATS_TEST_TMPDIR/got"
	assert_output 0
}

@test "crash: kill -9 while a batch is half written: the restart writes that batch again" {
	big_batches
	vk-poll --api-url "$API_URL" --wait 1 --state "$st" >"$BATS_TEST_TMPDIR/pipe" \
		2>/dev/null </dev/null &
	pid=$!
	exec 5<"$BATS_TEST_TMPDIR/pipe"
	IFS= read -r first <&5
	kill -KILL "$pid"
	{ printf '%s\n' "$first"; cat <&5; } >"$BATS_TEST_TMPDIR/part"
	exec 5<&-
	wait "$pid" 2>/dev/null || true
	# The batch was not finished, so its ts was not saved.
	run jq -r .ts "$st"
	assert_output 100
	poll --max-events 600 --state "$st"
	assert_equal "$status" 0
	run ids "$OUT"
	assert_output "$(expect_ids 0 599)"
	# What the killed run wrote is a prefix of that batch (its last line may be cut).
	got=$(jq -R -r 'fromjson? | .event_id' "$BATS_TEST_TMPDIR/part" | wc -l)
	[ "$got" -ge 1 ] && [ "$got" -lt 300 ]
}
