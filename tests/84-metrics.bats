#!/usr/bin/env bats
# --metrics FILE: every stage's counters as a Prometheus text file, in the
# node_exporter textfile collector's convention; checked by promtool and
# scraped by a real prometheus-node-exporter on a loopback port.

load helper
load lib-poll
load lib-call
load lib-callback
load lib-metrics

# Programs a test starts in the background write their pid to $BATS_TEST_TMPDIR/*.pid.
teardown() {
	local f
	cb_teardown
	for f in "$BATS_TEST_TMPDIR"/*.pid; do
		[ -f "$f" ] && stop_pid "$(cat "$f")"
	done
	return 0
}

teardown_file() {
	fake_stop_all
}

@test "metrics: vk-poll's counters, promtool-clean, scraped by node_exporter" {
	scenario 5 2
	fake_start
	mkdir "$BATS_TEST_TMPDIR/prom"
	M="$BATS_TEST_TMPDIR/prom/vk-poll.prom"
	poll --max-events 5 --metrics "$M"
	assert_equal "$status" 0
	promcheck "$M"
	assert_equal "$(value "$M" vkpipe_poll_updates_total)" 5
	assert_equal "$(value "$M" vkpipe_poll_polls_total)" 3
	assert_equal "$(value "$M" 'vkpipe_poll_reconnects_total{cause="key_expired"}')" 0
	last=$(value "$M" vkpipe_poll_last_update_timestamp_seconds)
	[ "$last" -ge "$(($(date +%s) - 120))" ]
	# nothing but the file: no temp file left beside it
	assert_equal "$(ls "$BATS_TEST_TMPDIR/prom")" vk-poll.prom
	scrape "$BATS_TEST_TMPDIR/prom"
	grep -qx 'vkpipe_poll_updates_total 5' "$SCRAPE"
	grep -qx 'node_textfile_scrape_error 0' "$SCRAPE"
}

@test "metrics: vk-poll rewrites the file every --metrics-interval during a long poll" {
	scenario 3 3 '{"idle": 30}'
	fake_start
	M="$BATS_TEST_TMPDIR/vk-poll.prom"
	vk-poll --api-url "$API_URL" --wait 30 --metrics "$M" --metrics-interval 0.2 \
		> "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" < /dev/null &
	pid=$!
	echo "$pid" > "$BATS_TEST_TMPDIR/poll.pid"
	wait_until 20 grep_file '^vkpipe_poll_updates_total 3$' "$M"
	# idle now: the file is still replaced (its mtime moves on)
	t0=$(stat -c %y "$M")
	wait_until 10 mtime_not "$M" "$t0"
	kill -TERM "$pid"
	wait "$pid"
	promcheck "$M"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "metrics: a file that cannot be written is a configuration error (--check too)" {
	scenario 1 1
	fake_start
	: > "$BATS_TEST_TMPDIR/plain"
	run vk-poll --check --api-url "$API_URL" --metrics "$BATS_TEST_TMPDIR/plain/x.prom"
	assert_equal "$status" 3
	assert_output --partial 'plain/x.prom'
	run vk-poll --check --api-url "$API_URL" --metrics "$BATS_TEST_TMPDIR/"
	assert_equal "$status" 3
	run vk-poll --api-url "$API_URL" --metrics-interval 3
	assert_equal "$status" 2
}

@test "metrics: vk-route per rule and destination, hostile label values escaped, failures and spills" {
	cd "$BATS_TEST_TMPDIR"
	mkdir prom spill
	printf '* -> file:a"b\\c\xff.ndjson\n.event_type == "x" -> unix:%s/nope.sock\n' \
		"$BATS_TEST_TMPDIR" > rules.conf
	printf '%s\n' '{"event_type":"message_new","event_id":"e1"}' \
		'{"event_type":"x","event_id":"e2"}' 'not json' |
		vk-route --metrics prom/vk-route.prom --drain-timeout 0.3 --spill spill rules.conf \
		2> err || status=$?
	assert_equal "${status:-0}" 1
	M=prom/vk-route.prom
	promcheck "$M"
	assert_equal "$(value "$M" 'vkpipe_route_delivered_total{rule="rules.conf:1",dest="file:a\"b\\c'$'\xef\xbf\xbd''.ndjson"}')" 2
	assert_equal "$(value "$M" "vkpipe_route_failed_total{rule=\"rules.conf:2\",dest=\"unix:$BATS_TEST_TMPDIR/nope.sock\"}")" 1
	assert_equal "$(value "$M" vkpipe_route_spilled_total)" 1
	assert_equal "$(value "$M" vkpipe_route_rejected_total)" 1
	assert_equal "$(value "$M" vkpipe_route_events_total)" 2
	scrape "$BATS_TEST_TMPDIR/prom"
	grep -qx 'node_textfile_scrape_error 0' "$SCRAPE"
	grep -q '^vkpipe_route_delivered_total{dest="file:a\\"b\\\\c.*",rule="rules.conf:1"} 2$' "$SCRAPE"
}

@test "metrics: vk-route rewrites its file while waiting for input; a password in a rule is masked" {
	cd "$BATS_TEST_TMPDIR"
	mkfifo in
	vk-route --metrics r.prom --metrics-interval 0.2 \
		-e '* -> redis://user:s3cret-pw@127.0.0.1:1/publish/x' < in 2> err &
	echo $! > route.pid
	exec 7> in
	wait_until 10 grep_file '^vkpipe_route_events_total 0$' r.prom
	t0=$(stat -c %y r.prom)
	wait_until 10 mtime_not r.prom "$t0"
	exec 7>&-
	wait_until 20 gone "$(cat route.pid)"
	promcheck r.prom
	! grep -q s3cret-pw r.prom
	grep -q 'vkpipe_route_matched_total{rule="-e:1",dest="redis://user:' r.prom
}

@test "metrics: vk-normalize's counters, rewritten while it waits for input" {
	cd "$BATS_TEST_TMPDIR"
	mkfifo in
	vk-normalize --offline --metrics n.prom --metrics-interval 0.2 < in > out 2> err &
	echo $! > normalize.pid
	exec 7> in
	compact_sample message_new_audio_message__bivashy-java-vk-bots-long-poll-api.json >&7
	echo 'not json' >&7
	wait_until 10 grep_file '^vkpipe_normalize_rejected_total 1$' n.prom
	assert_equal "$(value n.prom vkpipe_normalize_events_total)" 1
	last=$(value n.prom vkpipe_normalize_last_event_timestamp_seconds)
	[ "$last" -ge "$(($(date +%s) - 120))" ]
	t0=$(stat -c %y n.prom)
	wait_until 10 mtime_not n.prom "$t0"
	exec 7>&-
	wait_until 20 gone "$(cat normalize.pid)"
	promcheck n.prom
	assert_equal "$(value n.prom vkpipe_normalize_lines_total)" 2
}

@test "metrics: vk-call's API requests by method and error code" {
	call_fake '{"faults":[{"on":"messages.pin","nth":1,"do":"api_error","code":10,"msg":"Internal server error"}]}'
	{
		sends 2
		printf '%s\n' '{"id":"pin","method":"messages.pin","params":{"peer_id":5,"cmid":1}}' 'nope'
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr vk-call --metrics "$BATS_TEST_TMPDIR/c.prom" < "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	M=$BATS_TEST_TMPDIR/c.prom
	promcheck "$M"
	assert_equal "$(value "$M" 'vkpipe_call_requests_total{method="messages.send",code="ok"}')" 2
	assert_equal "$(value "$M" 'vkpipe_call_requests_total{method="messages.pin",code="10"}')" 1
	assert_equal "$(value "$M" vkpipe_call_bad_lines_total)" 1
	assert_equal "$(value "$M" vkpipe_call_lines_total)" 4
	! grep -q "$CALL_TOKEN" "$M"
}

@test "metrics: vk-call --listen rewrites its file while idle" {
	call_fake '{}'
	cd "$BATS_TEST_TMPDIR"
	vk-call --listen "unix:$BATS_TEST_TMPDIR/call.sock" --metrics c.prom \
		--metrics-interval 0.2 2> err &
	echo $! > call.pid
	wait_until 10 grep_file '^vkpipe_call_clients 0$' c.prom
	t0=$(stat -c %y c.prom)
	wait_until 10 mtime_not c.prom "$t0"
	kill -TERM "$(cat call.pid)"
	wait_until 20 gone "$(cat call.pid)"
	promcheck c.prom
}

@test "metrics: vk-callback's events, repeats and refusals, rewritten while it listens" {
	M=$BATS_TEST_TMPDIR/cb.prom
	VK_CALLBACK_SECRET=$CB_SECRET cb_start --group-id 42 --metrics "$M" --metrics-interval 0.2
	post "$(event e1)"
	assert_equal "$code" 200
	post "$(event e1)"
	post "$(event e2 42 wrong-secret)"
	wait_until 10 grep_file '^vkpipe_callback_refused_total 1$' "$M"
	assert_equal "$(value "$M" vkpipe_callback_events_total)" 1
	assert_equal "$(value "$M" vkpipe_callback_repeats_total)" 1
	t0=$(stat -c %y "$M")
	wait_until 10 mtime_not "$M" "$t0"
	cb_stop
	assert_equal "$status" 0
	promcheck "$M"
	no_secret "$M"
}
