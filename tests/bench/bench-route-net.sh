#!/bin/sh
# bench-route-net.sh [BIN [N]] - vk-route to the network: XADD and PUBLISH to a
# local redis-server (against redis-benchmark -P 100 doing the same
# command), and HTTP to a local receiver with and without batching.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$(dirname "$here")")
bin=${1:-${VKPIPE_BIN:-$repo/bin}}	# BIN first, as tests/bench/run.sh passes it
n=${2:-200000}
t=$(mktemp -d)
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$t"' EXIT INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$t" >/dev/null 2>&1 &
pids="$pids $!"
i=0
until redis-cli -p "$port" ping >/dev/null 2>&1; do
	i=$((i + 1)); [ "$i" -lt 200 ] || { echo "redis-server did not start" >&2; exit 1; }
	sleep 0.05
done

python3 -c '
import sys
for i in range(int(sys.argv[1])):
    print("{\"event_type\":\"message\",\"event_id\":\"%d\",\"user\":{\"uuid\":171882202},\"message\":{\"text\":\"hello there, this is event %d\"}}" % (i, i))
' "$n" >"$t/in"
line=$(head -n 1 "$t/in")

# rate CMD...: events per second for n events
rate() {
	s=$(date +%s.%N)
	"$@"
	e=$(date +%s.%N)
	echo "$n $s $e" | awk '{ printf "%.0f", $1 / ($3 - $2) }'
}
route() { "$bin/vk-route" -e "* -> $1" <"$t/in"; }
# redis-benchmark's own requests/s for the same command, pipelined by 100
peer() {
	redis-benchmark -p "$port" -n "$n" -P 100 -c 1 -q "$@" </dev/null |
		tr '\r' '\n' | awk '/requests per second/ { v = $(NF - 5) } END { print int(v) }'
}

x=$(rate route "redis://127.0.0.1:$port/xadd/bench")
xp=$(peer xadd benchp '*' event "$line")
p=$(rate route "redis://127.0.0.1:$port/publish/bench")
pp=$(peer publish bench "$line")
echo "XADD    vk-route: $x events/s   redis-benchmark -P 100: $xp req/s   ratio $(echo "$xp $x" | awk '{ printf "%.2f", $1 / $2 }')x"
echo "PUBLISH vk-route: $p events/s   redis-benchmark -P 100: $pp req/s   ratio $(echo "$pp $p" | awk '{ printf "%.2f", $1 / $2 }')x"

python3 "$repo/tests/fixtures/route/http-recv.py" "$t/port" /dev/null &
pids="$pids $!"
i=0
until [ -s "$t/port" ]; do
	i=$((i + 1)); [ "$i" -lt 200 ] || { echo "receiver did not start" >&2; exit 1; }
	sleep 0.05
done
hport=$(cat "$t/port")
n=${HTTP_N:-5000}
head -n "$n" "$t/in" >"$t/in.http"
mv "$t/in.http" "$t/in"
h1=$(rate route "http://127.0.0.1:$hport/h")
h4=$(rate route "http://127.0.0.1:$hport/h#inflight=4")
hb=$(rate route "http://127.0.0.1:$hport/h#batch=100")
hb4=$(rate route "http://127.0.0.1:$hport/h#batch=100,inflight=4")
echo "HTTP ($n events, python receiver) one per POST: $h1 events/s; inflight=4: $h4; batch=100: $hb; batch=100,inflight=4: $hb4"
