#!/bin/sh
# bench-callback.sh BIN - vk-callback under 4 concurrent keep-alive senders
# on loopback (tests/bench/cb-load.c, built here with cc): updates/s
# accepted (each answered ok once its line is written to a reader) and the
# time from request to ok, p50/p99, which is the latency vk-callback adds.
# Best of 3. Peers on the same requests: vk-callback refusing them all
# (wrong secret: the HTTP work alone, no line), and with --ack through
# vk-route --ack (ok only once vk-route acknowledged each).
# Targets (issue 14): >= 20000 updates/s, p99 <= 2 ms without --ack.
# Then the server's CPU per update (utime + stime of vk-callback, its lines
# read by cat), the median of CPU_ROUNDS runs; with BASE=DIR (an older
# build's bin/, e.g. 1f7ec94's) that one's too, run for run interleaved, and
# the ratio (issue 25: <= 0.70 of 1f7ec94's).
#   N=20000 (requests per sender)   SENDERS=4   CPU_ROUNDS=5   BASE=DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../bin}
n=${N:-20000}
senders=${SENDERS:-4}
work=${TMPDIR:-/tmp}/vkpipe-bench-callback
mkdir -p "$work"
cc -O2 -pthread -D_GNU_SOURCE -o "$work/cb-load" "$here/cb-load.c"

pid=
trap 'kill $pid 2>/dev/null || true' EXIT INT TERM

# start [ARGS...]: vk-callback ($cb, by default $bin's) on port 0, its output
# to the FIFO; port in $port.
start() {
	: >"$work/err"
	VK_CALLBACK_SECRET=bench-secret "${cb:-$bin/vk-callback}" --listen 127.0.0.1:0 "$@" \
		2>"$work/err" >"$work/out.fifo" &
	pid=$!
	i=0
	until grep -q 'listening on' "$work/err"; do
		i=$((i + 1))
		[ $i -le 300 ] || { echo "bench-callback: vk-callback did not start" >&2; exit 1; }
		sleep 0.05
	done
	port=$(sed -n 's/^vk-callback: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/err")
}

# best SECRET LABEL: the best of 3 runs (by updates/s), a line of numbers.
best() {
	: >"$work/runs"
	for r in 1 2 3; do
		"$work/cb-load" "$port" "$senders" "$n" "$1" "$2$r" >>"$work/runs"
	done
	sort -rn "$work/runs" | head -n 1
}

report() {
	read -r rate p50 p99 bad <<EOF2
$2
EOF2
	printf '%-34s %8s updates/s   p50 %6s ms   p99 %6s ms   not ok %s\n' "$1" "$rate" "$p50" "$p99" "$bad"
}

rm -f "$work/out.fifo" "$work/ack"
mkfifo "$work/out.fifo" "$work/ack"

cat "$work/out.fifo" >/dev/null &
start
plain=$(best bench-secret p)
wrong=$(best wrong-secret w)
kill $pid; wait $pid 2>/dev/null || true

"$bin/vk-route" --ack "$work/ack" -e '* -> file:/dev/null' <"$work/out.fifo" &
route=$!
start --ack "$work/ack"
acked=$(best bench-secret a)
kill $pid; wait $pid 2>/dev/null || true
wait $route 2>/dev/null || true
pid=

echo "$senders keep-alive senders x $n requests, best of 3 (target: >= 20000/s, p99 <= 2 ms)"
report "vk-callback, line written" "$plain"
report "peer: refused (403, no line)" "$wrong"
report "with --ack through vk-route" "$acked"
r1=${plain%% *}
r2=${wrong%% *}
echo "written/refused rate ratio: $(awk -v a="$r1" -v b="$r2" 'BEGIN { printf "%.2f", a / b }')"

# cpu_of VK_CALLBACK TAG: one run's server CPU per update, in microseconds.
cpu_of() {
	cat "$work/out.fifo" >/dev/null &
	cb=$1 start
	"$work/cb-load" "$port" "$senders" "$n" bench-secret "$2" >/dev/null
	t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	awk -v t="$t" -v hz="$(getconf CLK_TCK)" -v u="$((senders * n))" \
		'BEGIN { printf "%.2f\n", t / hz / u * 1e6 }'
}

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$work/cpu.new"
: >"$work/cpu.base"
r=0
while [ $r -lt "${CPU_ROUNDS:-5}" ]; do
	r=$((r + 1))
	cpu_of "$bin/vk-callback" "c$r" >>"$work/cpu.new"
	[ -z "${BASE:-}" ] || cpu_of "$BASE/vk-callback" "o$r" >>"$work/cpu.base"
done
new=$(median "$work/cpu.new")
echo "server CPU per update: $new us (median of ${CPU_ROUNDS:-5}: $(sort -n "$work/cpu.new" | paste -sd' ' -))"
if [ -n "${BASE:-}" ]; then
	old=$(median "$work/cpu.base")
	echo "BASE ($BASE): $old us (median of ${CPU_ROUNDS:-5}: $(sort -n "$work/cpu.base" | paste -sd' ' -))"
	echo "ratio: vk-callback / BASE server CPU per update = $(awk -v a="$new" -v b="$old" 'BEGIN { printf "%.2f", a / b }') (target <= 0.70)"
fi
