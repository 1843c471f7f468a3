#!/bin/sh
# soak.sh BIN [N] - N (default 1,000,000) events through the whole service,
# fake VK server -> vkpipe -> a real redis-server (XADD, trimmed), sampling
# the resident memory of each stage every second. Prints the samples' first,
# middle and last values per stage: flat means constant memory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: soak.sh BIN [N]}
n=${2:-1000000}
W=$(mktemp -d "${TMPDIR:-/tmp}/vkpipe-soak.XXXXXX")
PATH=$bin:$here/../tools/vkpipe:$PATH
export PATH
fake='' redis='' pipe=''
cleanup() {
	for p in $pipe $fake $redis; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no > /dev/null 2>&1 &
redis=$!
python3 "$here/bench/gen-updates.py" 5000 33 > "$W/updates.ndjson"
printf '{"token":"soak","group_id":42,"batch":1000,"cycle":true,"updates_file":"%s"}\n' "$W/updates.ndjson" > "$W/sc.json"
python3 "$here/fake/fake-vk.py" "$W/sc.json" --port-file "$W/port" > /dev/null 2>&1 &
fake=$!
i=0
while [ ! -s "$W/port" ] || ! redis-cli -p "$port" ping > /dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 200 ] || { echo "soak: servers did not start" >&2; exit 2; }
	sleep 0.05
done
VK_API_URL="http://127.0.0.1:$(cat "$W/port")/method"
export VK_API_URL VK_TOKEN=soak VK_GROUP_ID=42 VKPIPE_STATE_DIR="$W/state"
# the served updates repeat, so their event ids do too: no dedup here
export VKPIPE_DEDUP=0 VKPIPE_POLL_ARGS="--max-events $n --wait 1"
printf '* -> redis://127.0.0.1:%s/xadd/events?maxlen=10000\n' "$port" > "$W/rules.conf"
export VKPIPE_RULES="$W/rules.conf"

start=$(date +%s)
mkdir "$W/run"
TMPDIR=$W/run vkpipe > /dev/null 2> "$W/err" &	# its stages' pid files there
pipe=$!
: > "$W/rss"
while kill -0 "$pipe" 2>/dev/null; do
	for s in vk-poll vk-normalize vk-route; do
		p=$(cat "$W"/run/vkpipe.*/"$s.pid" 2>/dev/null) || continue
		kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
		[ -n "$kb" ] && echo "$s $kb" >> "$W/rss"
	done
	sleep 1
done
wait "$pipe"
st=$?
secs=$(( $(date +%s) - start ))
echo "soak: $n events in ${secs} s ($(( n / (secs > 0 ? secs : 1) )) events/s), vkpipe exit status $st"
for s in vk-poll vk-normalize vk-route; do
	awk -v s="$s" '$1 == s { v[++k] = $2 } END {
		if (k == 0) { print "  " s ": no samples"; exit }
		max = 0; for (i = 1; i <= k; i++) if (v[i] > max) max = v[i]
		printf "  %-13s RSS KiB: first %d, middle %d, last %d, max %d (%d samples)\n", s, v[1], v[int((k + 1) / 2)], v[k], max, k }' "$W/rss"
done
[ "$st" -eq 0 ]
