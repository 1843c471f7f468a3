#!/usr/bin/env bash
# bench-route-amqp.sh [BIN] - vk-route to a local rabbitmq-server (persistent
# messages to a durable queue, publisher confirms), side by side with other
# publishers against the same broker: pika with confirms, one message at a
# time (the usual way), pika without confirms (what the broker takes when
# nobody waits: an upper bound), and amqp-publish in a loop (a process and
# a connection per message, on fewer messages). BENCH_N events (20000).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$(dirname "$here")")
bin=${1:-${VKPIPE_BIN:-$repo/bin}}
n=${BENCH_N:-20000}
t=$(mktemp -d)
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3

# what tests/helper.bash gives the tests, for lib-route.bash's rabbit_*
free_port() {
	"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_until() {
	local i=0 limit=$1
	shift
	until "$@"; do
		i=$((i + 1)); [ "$i" -lt $((limit * 20)) ] || return 1
		sleep 0.05
	done
}
export FIXTURES=$repo/tests/fixtures	# lib-route.bash reads it
# shellcheck source=../lib-route.bash
. "$repo/tests/lib-route.bash"
trap 'rabbit_stop; rm -rf "$t"' EXIT INT TERM
rabbit_start "$t/rmq" >/dev/null

"$PYTHON" -c '
import sys
for i in range(int(sys.argv[1])):
    print("{\"event_type\":\"message\",\"event_id\":\"%d\",\"user\":{\"uuid\":171882202},\"message\":{\"text\":\"hello there, this is event %d\"}}" % (i, i))
' "$n" >"$t/in"

# rate N CMD...: events per second for N events, best of three
rate() {
	local k=$1 best=0 r s e
	shift
	for _ in 1 2 3; do
		s=$(date +%s.%N)
		"$@" >/dev/null
		e=$(date +%s.%N)
		r=$(echo "$k $s $e" | awk '{ printf "%.0f", $1 / ($3 - $2) }')
		[ "$r" -gt "$best" ] && best=$r
	done
	echo "$best"
}
route() { "$bin/vk-route" -e "* -> amqp://127.0.0.1:$RMQ_PORT/queue/bench" <"$t/in"; }
pika() {
	"$PYTHON" - "$RMQ_PORT" "$1" "$t/in" <<'PY'
import sys, pika
port, confirm, path = int(sys.argv[1]), sys.argv[2] == "confirm", sys.argv[3]
conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
ch = conn.channel()
ch.queue_declare("bench", durable=True)
if confirm:
    ch.confirm_delivery()
props = pika.BasicProperties(delivery_mode=2, content_type="application/json")
for line in open(path, "rb"):
    ch.basic_publish("", "bench", line.rstrip(b"\n"), props, mandatory=confirm)
conn.close()
PY
}
loop() {
	local line
	head -n 300 "$t/in" | while IFS= read -r line; do
		amqp-publish --url "amqp://127.0.0.1:$RMQ_PORT" -r bench -p -C application/json -b "$line"
	done
}
purge() { rabbitctl purge_queue bench >/dev/null 2>&1 || true; }

v=$(rate "$n" route); purge
pc=$(rate "$n" pika confirm); purge
pn=$(rate "$n" pika none); purge
al=$(rate 300 loop); purge
echo "amqp:// persistent, durable queue, $n events (best of 3):"
echo "  vk-route (confirms, window 1024):         $v events/s"
echo "  pika, confirms, one at a time:            $pc msg/s   vk-route $(echo "$v $pc" | awk '{ printf "%.1f", $1 / $2 }')x"
echo "  pika, no confirms (broker's upper bound): $pn msg/s   vk-route $(echo "$v $pn" | awk '{ printf "%.2f", $1 / $2 }')x"
echo "  amqp-publish in a loop (300):             $al msg/s   vk-route $(echo "$v $al" | awk '{ printf "%.0f", $1 / $2 }')x"
