# lib-metrics.bash - the Prometheus text files of --metrics and
# VKPIPE_METRICS: checked by promtool, scraped by a real node_exporter.
# `load lib-metrics` after helper; a test that scrapes stops the exporter
# with metrics_teardown (its pid in $BATS_TEST_TMPDIR/ne.pid).

# promcheck FILE: promtool finds the file well-formed (lint problems too).
promcheck() {
	run promtool check metrics < "$1"
	assert_success
	refute_output --partial 'error'
}

# value FILE SAMPLE: the value of the sample line that starts with SAMPLE.
value() {
	grep -F -- "$2 " "$1" | grep -v '^#' | awk '{ print $NF }' | tail -n 1
}

# mtime_not FILE TIME: FILE's modification time is no longer TIME.
mtime_not() {
	[ "$(stat -c %y "$1")" != "$2" ]
}

# scrape DIR: start node_exporter on DIR (port 0: it says where it listens),
# fetch /metrics into $SCRAPE.
scrape() {
	local log="$BATS_TEST_TMPDIR/ne.log"
	prometheus-node-exporter --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$1" --web.listen-address=127.0.0.1:0 \
		> "$log" 2>&1 &
	echo $! > "$BATS_TEST_TMPDIR/ne.pid"
	wait_until 20 grep -q 'Listening on.*address=127.0.0.1:[0-9]' "$log"
	NE_ADDR=$(sed -n 's/.*Listening on.*address=\(127.0.0.1:[0-9]*\).*/\1/p' "$log" | head -n 1)
	SCRAPE="$BATS_TEST_TMPDIR/scrape.txt"
	curl -sf "http://$NE_ADDR/metrics" > "$SCRAPE"
}

metrics_teardown() {
	[ ! -f "$BATS_TEST_TMPDIR/ne.pid" ] || stop_pid "$(cat "$BATS_TEST_TMPDIR/ne.pid")"
}
