#!/usr/bin/env bats
# VKPIPE_METRICS: every stage's counters merged by vkpipe into one
# Prometheus text file, each sample labelled with the community; checked by
# promtool and scraped by a real prometheus-node-exporter.

load helper
load lib-vkpipe
load lib-metrics

setup() {
	vkpipe_setup
	unset VKPIPE_METRICS VKPIPE_METRICS_INTERVAL
}

teardown() {
	vkpipe_teardown
	metrics_teardown
}

@test "vkpipe metrics: one file with every stage's counters, the community as a label; node_exporter scrapes it" {
	fake 120
	mkdir "$W/prom"
	M=$W/prom/vkpipe.prom
	VKPIPE_METRICS=$M VKPIPE_POLL_ARGS="--max-events 120 --wait 1" \
		run --separate-stderr "$VKPIPE"
	assert_success
	promcheck "$M"
	assert_equal "$(value "$M" 'vkpipe_poll_updates_total{group="42"}')" 120
	n=$(wc -l < "$W/want")	# the Events of those updates (some are dropped)
	assert_equal "$(value "$M" 'vkpipe_normalize_events_total{group="42"}')" "$n"
	assert_equal "$(value "$M" 'vkpipe_route_delivered_total{group="42",rule="-e:1",dest="stdout"}')" "$n"
	assert_equal "$(value "$M" 'vkpipe_route_acks_total{group="42"}')" "$n"
	# only the merged file is left there, and the run directory is gone
	assert_equal "$(ls "$W/prom")" vkpipe.prom
	assert_equal "$(echo "$W"/vkpipe.*)" "$W/vkpipe.*"
	! grep -q entry-token-77 "$M"
	scrape "$W/prom"
	grep -qx 'node_textfile_scrape_error 0' "$SCRAPE"
	grep -qx 'vkpipe_poll_updates_total{group="42"} 120' "$SCRAPE"
}

@test "vkpipe metrics: the file is replaced every VKPIPE_METRICS_INTERVAL while the bot is quiet" {
	fake 5
	M=$W/vkpipe.prom
	VKPIPE_METRICS=$M VKPIPE_METRICS_INTERVAL=1 VKPIPE_POLL_ARGS="--wait 1" \
		"$VKPIPE" > /dev/null 2> "$W/err" &
	PIPE_PID=$!
	wait_until 30 grep_file "^vkpipe_route_delivered_total{group=\"42\",rule=\"-e:1\",dest=\"stdout\"} $(wc -l < "$W/want")\$" "$M"
	t0=$(stat -c %y "$M")
	wait_until 10 mtime_not "$M" "$t0"
	grep -q '^vkpipe_call_' "$M" && false
	kill -TERM "$PIPE_PID"
	wait "$PIPE_PID"
	PIPE_PID=
	promcheck "$M"
}

@test "vkpipe metrics: --check names a metrics file that cannot be written, or a bad interval" {
	fake 1
	: > "$W/plain"
	VKPIPE_METRICS=$W/plain/vkpipe.prom run --separate-stderr "$VKPIPE" --check
	assert_failure 3
	[[ "$stderr" == *VKPIPE_METRICS* ]]
	VKPIPE_METRICS=$W/m.prom VKPIPE_METRICS_INTERVAL=0 run --separate-stderr "$VKPIPE" --check
	assert_failure 3
	[[ "$stderr" == *VKPIPE_METRICS_INTERVAL* ]]
	VKPIPE_METRICS_INTERVAL=5 run --separate-stderr "$VKPIPE" --check
	assert_failure 3
	VKPIPE_METRICS=$W/m.prom VKPIPE_METRICS_INTERVAL=5 run --separate-stderr "$VKPIPE" --check
	assert_success
	[ ! -e "$W/m.prom" ]
}
