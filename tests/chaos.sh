#!/bin/sh
# chaos.sh BIN N KILLS [MAXDUP] - the whole service under fire. vkpipe runs against
# the fake VK server (N generated updates, server faults injected) into a
# real redis-server (XADD, append-only file fsynced always), while a stage
# (vk-poll, vk-normalize, vk-route) or Redis is killed with SIGKILL KILLS
# times at random moments and everything is restarted on the same state
# files. At the end the stream must hold every Event, in order; duplicates
# come only from a kill that lands between a destination's confirmation and
# vk-route saving its --dedup window, and at most MAXDUP (default: none).
# Prints the counts; exits 1 if anything was lost or reordered, or too many
# duplicated.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: chaos.sh BIN N KILLS}
n=${2:-10000}
kills=${3:-10}
maxdup=${4:-0}
W=$(mktemp -d "${TMPDIR:-/tmp}/vkpipe-chaos.XXXXXX")
PATH=$bin:$here/../tools/vkpipe:$PATH
export PATH
fake='' redis='' pipe=''
# each vkpipe run its own TMPDIR, where it keeps its stages' pid files
runs=0
stage_pid() { cat "$W/run$runs"/vkpipe.*/"$1.pid" 2>/dev/null; }
cleanup() {
	for p in $pipe $fake $redis; do kill -9 "$p" 2>/dev/null; done
	for p in "$W"/run*/vkpipe.*/*.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null; done
	for p in $pipe $fake $redis; do wait "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

rnd() { awk -v s="$(od -An -N4 -tu4 /dev/urandom)" -v lo="$1" -v hi="$2" 'BEGIN { srand(s); printf "%.2f", lo + rand() * (hi - lo) }'; }
until_ok() {	# until_ok SECONDS CMD...
	t=$(( $1 * 20 )); shift
	while [ $t -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; t=$((t - 1)); done
	return 1
}

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$W/redis"
start_redis() {
	redis-server --port "$port" --bind 127.0.0.1 --dir "$W/redis" --save '' \
		--appendonly yes --appendfsync always --daemonize no > "$W/redis.log" 2>&1 &
	redis=$!
	until_ok 10 redis-cli -p "$port" ping || { echo "chaos: redis-server did not start" >&2; exit 2; }
}
start_redis

python3 "$here/bench/gen-updates.py" "$n" 21 > "$W/updates.ndjson"
vk-normalize --offline "$W/updates.ndjson" 2>/dev/null | jq -r .event_id > "$W/want"
# server faults spread over the run: 500s, a dropped connection, garbage,
# a revoked key (failed:2, which must keep the ts), an unchanged failed:1
python3 - "$W" "$n" <<'PY'
import json, sys
w, n = sys.argv[1], int(sys.argv[2])
faults = []
for k, do in enumerate(["http500", "drop", "garbage", "failed2", "failed1", "http500", "failed2"]):
    faults.append({"on": "a_check", "nth": 3 + 9 * k, "do": do})
# about 1,600 updates a second, so that the kills land mid-stream
json.dump({"token": "chaos-token", "group_id": 42, "batch": 50, "latency": 0.03,
           "updates_file": w + "/updates.ndjson", "faults": faults}, open(w + "/sc.json", "w"))
PY
python3 "$here/fake/fake-vk.py" "$W/sc.json" --port-file "$W/port" > /dev/null 2>&1 &
fake=$!
until_ok 10 test -s "$W/port" || { echo "chaos: the fake VK server did not start" >&2; exit 2; }

VK_API_URL="http://127.0.0.1:$(cat "$W/port")/method"
export VK_API_URL VK_TOKEN=chaos-token VK_GROUP_ID=42
export VKPIPE_STATE_DIR="$W/state" VKPIPE_BACKOFF_MS=20,200
export VKPIPE_POLL_ARGS="--wait 1" VKPIPE_NORMALIZE_ARGS="--max-line 16777215"
printf '* -> redis://127.0.0.1:%s/xadd/events\n' "$port" > "$W/rules.conf"
export VKPIPE_RULES="$W/rules.conf"

start_pipe() {
	runs=$((runs + 1))
	mkdir "$W/run$runs"
	TMPDIR=$W/run$runs vkpipe > /dev/null 2>> "$W/vkpipe.log" &
	pipe=$!
	until_ok 20 sh -c "ls '$W/run$runs'/vkpipe.*/vk-poll.pid"
}
stream_len() { redis-cli -p "$port" xlen events 2>/dev/null || echo 0; }

start_pipe
k=0
while [ $k -lt "$kills" ]; do
	sleep "$(rnd 0.2 1.2)"
	victim=$(awk -v s="$(od -An -N4 -tu4 /dev/urandom)" 'BEGIN { srand(s); split("vk-poll vk-normalize vk-route redis", v, " "); print v[int(rand() * 4) + 1] }')
	k=$((k + 1))
	case $victim in
	redis)
		kill -9 "$redis"; wait "$redis" 2>/dev/null
		sleep "$(rnd 0.1 0.5)"
		start_redis ;;
	*) kill -9 "$(stage_pid "$victim")" ;;
	esac
	echo "chaos: kill $k: $victim (stream at $(stream_len))" >&2
	if [ "$victim" != redis ]; then
		wait "$pipe" 2>/dev/null
		start_pipe
	fi
done

# let it finish: every event in the stream, or 60 s
until_ok 60 sh -c "[ \"\$(redis-cli -p $port xlen events)\" -ge $(wc -l < "$W/want") ]"
sleep 1	# anything still in flight would show up as a duplicate
kill -TERM "$pipe"; wait "$pipe" 2>/dev/null
redis-cli -p "$port" --raw xrange events - + | awk 'prev == "event" { print } { prev = $0 }' |
	jq -r .event_id > "$W/got"

python3 - "$W/want" "$W/got" "$kills" "$maxdup" <<'PY'
import sys
want = open(sys.argv[1]).read().split()
got = open(sys.argv[2]).read().split()
seen, firsts, dups = set(), [], 0
for e in got:
    if e in seen:
        dups += 1
    else:
        seen.add(e)
        firsts.append(e)
lost = len(set(want) - seen)
inorder = firsts == [e for e in want if e in seen]
print("chaos: %d events expected, %d in the stream: %d lost, %d duplicated, %s, over %s kills"
      % (len(want), len(got), lost, dups, "in order" if inorder else "OUT OF ORDER", sys.argv[3]))
sys.exit(0 if lost == 0 and dups <= int(sys.argv[4]) and inorder else 1)
PY
