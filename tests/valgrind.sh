#!/bin/sh
# valgrind.sh BIN - long runs of the programs under valgrind's memcheck:
# leaks (--leak-check=full) and memory errors fail the run. One line per run.
#   vk-normalize --offline over N_NORMALIZE generated updates (20000);
#   vk-poll against the fake VK server: N_POLL generated updates (3000) in
#   batches of 100, with failed:2, HTTP 500 and a dropped connection on the
#   way, --state, and --ack fed through a FIFO by jq reading its output;
#   vk-route over the normalized Events (N_NORMALIZE), 6 rules with regexes
#   and templates, to files, with --ack and --dedup.
# Exit status: 0 when every run is clean, 1 otherwise (logs are kept then).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../bin}
n_norm=${N_NORMALIZE:-20000}
n_poll=${N_POLL:-3000}
work=$(mktemp -d "${TMPDIR:-/tmp}/vkpipe-valgrind.XXXXXX")
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
fake=
failed=0
cleanup() {
	[ -z "$fake" ] || kill "$fake" 2>/dev/null || true
	[ "$failed" -ne 0 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

memcheck() {
	valgrind --leak-check=full --error-exitcode=1 --log-file="$log" "$@"
}

# verdict NAME RC [NOTE]: the line for a run whose log is $log, output $out.
verdict() {
	errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n 1)
	lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -n 1)
	lines=$(wc -l <"$out")
	if [ "$2" -eq 0 ] && [ "${errors:-1}" = 0 ] && [ -z "${3:-}" ]; then
		echo "valgrind: $1: clean ($lines lines out, 0 errors, ${lost:-0} bytes definitely lost)"
	else
		echo "valgrind: $1: FAILED (exit $2, ${errors:-?} errors, ${lost:-?} bytes" \
			"definitely lost${3:+, $3}): see $log"
		failed=1
	fi
}

total=$n_norm
[ "$n_poll" -le "$total" ] || total=$n_poll
$py "$here/bench/gen-updates.py" "$total" >"$work/updates.ndjson"
head -n "$n_norm" "$work/updates.ndjson" >"$work/normalize.ndjson"
log=$work/normalize.valgrind out=$work/normalize.out rc=0
memcheck "$bin/vk-normalize" --offline <"$work/normalize.ndjson" >"$out" \
	2>"$work/normalize.err" || rc=$?
verdict "vk-normalize --offline, $n_norm updates" "$rc"

# vk-route over those Events: rules of every kind, file destinations.
cat >"$work/rules.conf" <<EOF
.event_type == "command"                          -> file:$work/route/commands.ndjson
.message.text =~ "^[/!](ban|kick)"                -> file:$work/route/moderation.ndjson
.event_type == "message" and .peer.cid != null    -> file:$work/route/chat-{.peer.cid}.ndjson
.event_type in ["button", "reaction"]             -> file:$work/route/interactions.ndjson
.message.attachments contains "photo"             -> file:$work/route/photos.ndjson
else                                              -> file:$work/route/other.ndjson
EOF
mkdir "$work/route"
log=$work/route.valgrind out=$work/route.acks rc=0
memcheck "$bin/vk-route" --ack "$out" --dedup 5000 -c "$work/rules.conf" \
	<"$work/normalize.out" >/dev/null 2>"$work/route.err" || rc=$?
verdict "vk-route, $(wc -l <"$work/normalize.out") Events, 6 rules, --ack --dedup" "$rc"

# The fake VK server on a free loopback port.
head -n "$n_poll" "$work/updates.ndjson" >"$work/poll.ndjson"
cat >"$work/scenario.json" <<EOF
{"token": "valgrind-token", "group_id": 42, "batch": 100, "idle": 0.2,
 "updates_file": "$work/poll.ndjson",
 "faults": [{"on": "a_check", "nth": 3, "do": "failed2"},
            {"on": "a_check", "nth": 7, "do": "http500"},
            {"on": "a_check", "nth": 12, "do": "drop"}]}
EOF
$py "$here/fake/fake-vk.py" "$work/scenario.json" --port-file "$work/port" >/dev/null 2>&1 &
fake=$!
# It writes the port file once it listens: wait 10 s at most.
timeout 10 sh -c 'until [ -s "$1" ]; do sleep 0.05; done' sh "$work/port" ||
	{ echo "valgrind: the fake VK server did not start" >&2; exit 1; }
# The end of the pipeline acknowledges each update through a FIFO.
mkfifo "$work/ack"
log=$work/poll.valgrind out=$work/poll.out
{
	rc=0
	VK_TOKEN=valgrind-token VKPIPE_BACKOFF_MS=10,100 memcheck "$bin/vk-poll" \
		--group-id 42 --api-url "http://127.0.0.1:$(cat "$work/port")/method" \
		--wait 1 --max-events "$n_poll" --state "$work/state" --ack "$work/ack" \
		--ack-drain 30 </dev/null 2>"$work/poll.err" || rc=$?
	echo "$rc" >"$work/poll.rc"
} | tee "$out" | jq --unbuffered -r .event_id >"$work/ack"
ts=$(jq -r .ts "$work/state" 2>/dev/null || true)
note=
[ "$ts" = $((100 + n_poll)) ] || note="state at ts $ts, not $((100 + n_poll))"
verdict "vk-poll, $n_poll updates with faults, --state and --ack" "$(cat "$work/poll.rc")" "$note"
exit "$failed"
