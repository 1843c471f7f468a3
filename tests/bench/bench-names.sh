#!/bin/sh
# bench-names.sh BIN - vk-normalize online against the fake VK API:
#  1. API requests per event on a realistic stream: 1,000 events from 200
#     users in 20 chats, arriving in poll-sized bursts (1-20 lines, 10 ms apart);
#  2. a cold burst of 1,000 waiting events: how many requests;
#  3. warm-cache throughput against --offline on the same 100k generated updates;
#  4. cold-cache latency: 50 new people a second for 20 s (LAT_RATE, LAT_SECS)
#     against a fake VK that takes 30 ms a request and refuses more than 20
#     requests in any second: p50, p99 and max from writing an update to
#     reading its Event, and the most requests the server saw in a second.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../bin}
work=${TMPDIR:-/tmp}/vkpipe-bench-names
rm -rf "$work"
mkdir -p "$work"
token=bench-token

fake=
trap 'kill $fake 2>/dev/null || true' EXIT INT TERM
# start_fake SCENARIO LOG: a fresh fake VK API; VK_API_URL points at it.
start_fake() {
	[ -z "$fake" ] || { kill "$fake"; wait "$fake" 2>/dev/null || true; }
	printf '%s\n' "$1" > "$work/sc.json"
	rm -f "$work/port"
	: > "$2"
	python3 "$here/../fake/fake-vk.py" "$work/sc.json" --port-file "$work/port" --log "$2" > /dev/null &
	fake=$!
	i=0
	while [ ! -s "$work/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	VK_API_URL="http://127.0.0.1:$(cat "$work/port")/method"
	export VK_API_URL
}
VK_TOKEN=$token
export VK_TOKEN
start_fake "{\"token\":\"$token\"}" "$work/log"

python3 - "$work" <<'PY'
import json, random, sys
w = sys.argv[1]
r = random.Random(11)
users = [r.randint(10**6, 10**8) for _ in range(200)]
def line(i):
    return json.dumps({"type": "message_new", "event_id": "e%d" % i, "object": {"message": {
        "from_id": r.choice(users), "peer_id": 2000000000 + r.randint(1, 20),
        "conversation_message_id": i, "text": "привет"}}}, ensure_ascii=False)
with open(w + "/stream.ndjson", "w") as f:
    for i in range(1000):
        f.write(line(i) + "\n")
PY
# realistic updates (~600 bytes, 205 authors, 20 chats) for the throughput run
python3 "$here/gen-updates.py" 100000 > "$work/big.ndjson"

requests() { wc -l < "$work/log"; }

# 1. bursts, like vk-poll writing one poll reply at a time
: > "$work/log"
python3 - "$work/stream.ndjson" <<'PY' | "$bin/vk-normalize" --stats > /dev/null 2> "$work/stats1"
import random, sys, time
lines = open(sys.argv[1], encoding="utf-8").read().splitlines(True)
r = random.Random(3)
i = 0
while i < len(lines):
    n = r.randint(1, 20)
    sys.stdout.write("".join(lines[i:i + n]))
    sys.stdout.flush()
    i += n
    time.sleep(0.01)
PY
req1=$(requests)
hits=$(sed -nE 's/.* cache_hits=([0-9]+) cache_misses=([0-9]+).*/\1 \2/p' "$work/stats1")
awk -v r="$req1" -v h="$hits" 'BEGIN { split(h, a, " ");
	printf "stream of 1000 events (200 users, 20 chats, poll-sized bursts): %d requests, %.3f per event; cache hit ratio %.1f%%\n",
		r, r / 1000, 100 * a[1] / (a[1] + a[2]) }'

# 2. a cold burst: everything waiting at once
start_fake "{\"token\":\"$token\"}" "$work/log2"
"$bin/vk-normalize" < "$work/stream.ndjson" > /dev/null
echo "cold burst of 1000 waiting events: $(wc -l < "$work/log2") requests"

# 4 first, while the machine is as quiet as it gets: cold-cache latency
start_fake "{\"token\":\"$token\",\"api_rate\":20,\"api_latency\":0.03}" "$work/log4"
python3 "$here/names-latency.py" "$bin/vk-normalize" "$work/log4" "${LAT_RATE:-50}" "${LAT_SECS:-20}"

# 3. warm cache against --offline (best of 3 each)
best() {
	b=
	for _ in 1 2 3; do
		/usr/bin/time -f %e -o "$work/t" "$@" < "$work/big.ndjson" > /dev/null 2>&1
		b=$(awk -v a="$(cat "$work/t")" -v b="$b" 'BEGIN { print (b == "" || a < b) ? a : b }')
	done
	echo "$b"
}
on=$(best "$bin/vk-normalize")
off=$(best "$bin/vk-normalize" --offline)
awk -v on="$on" -v off="$off" 'BEGIN {
	on = on < 0.001 ? 0.001 : on; off = off < 0.001 ? 0.001 : off
	printf "100k generated updates: names (warm cache after the first batch) %.2f s = %.0f updates/s; --offline %.2f s = %.0f updates/s; ratio %.2fx\n",
		on, 100000 / on, off, 100000 / off, on / off }'
