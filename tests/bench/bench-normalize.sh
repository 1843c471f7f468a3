#!/bin/sh
# bench-normalize.sh BIN - vk-normalize --offline against jq doing the same
# transform (normalize.jq) on the same generated updates, one core each, the
# best of three runs each;
# then peak memory over about 1 GB of input.
#   N=100000 (updates raced against jq)   GB=1 (gigabytes streamed for the memory run)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../bin}
n=${N:-100000}
work=${TMPDIR:-/tmp}/vkpipe-bench-normalize
mkdir -p "$work"
in=$work/updates-$n.ndjson
[ -s "$in" ] || python3 "$here/gen-updates.py" "$n" > "$in"
bytes=$(wc -c < "$in")
copies=$(awk -v b="$bytes" -v g="${GB:-1}" 'BEGIN { c = int(g * 1e9 / b); print c < 1 ? 1 : c + 1 }')
pin="taskset -c 0"
command -v taskset >/dev/null 2>&1 || pin=

# seconds and peak KiB of a command, via GNU time, into $secs and $kib
measure() {
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" > "$work/out" 2>/dev/null || true
	read -r secs kib < "$work/time"
}

best_ours=
for _ in 1 2 3; do
	measure $pin "$bin/vk-normalize" --offline "$in"
	best_ours=$(awk -v a="$secs" -v b="$best_ours" 'BEGIN { print (b == "" || a < b) ? a : b }')
done
events=$(wc -l < "$work/out")
jq_s=
for _ in 1 2 3; do
	measure $pin jq -c -f "$here/normalize.jq" "$in"
	jq_s=$(awk -v a="$secs" -v b="$jq_s" 'BEGIN { print (b == "" || a < b) ? a : b }')
done

awk -v n="$n" -v ev="$events" -v b="$bytes" -v o="$best_ours" -v j="$jq_s" 'BEGIN {
	o = (o < 0.001) ? 0.001 : o
	printf "input: %d updates, %.1f MB (%.0f bytes/update), %d events out\n", n, b / 1e6, b / n, ev
	printf "vk-normalize --offline: %.3f s  %.0f events/s  %.1f MB/s\n", o, ev / o, b / 1e6 / o
	printf "jq -c -f normalize.jq:  %.3f s  %.0f events/s  %.1f MB/s\n", j, ev / j, b / 1e6 / j
	printf "ratio: vk-normalize is %.1fx jq\n", j / o
}'

# Instructions per input byte (callgrind: stable on a busy machine, where
# the times above vary), over the first CALLGRIND_UPDATES (default 10000).
if command -v valgrind >/dev/null 2>&1 && [ "${CALLGRIND_UPDATES:-10000}" -gt 0 ]; then
	head -n "${CALLGRIND_UPDATES:-10000}" "$in" >"$work/few"
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin/vk-normalize" --offline \
		"$work/few" 2>"$work/cg" >/dev/null
	awk -v b="$(wc -c <"$work/few")" -v n="$(wc -l <"$work/few")" '/Collected/ {
		printf "callgrind: %.2f instructions per input byte, %.0f per update (%d updates)\n", $NF / b, $NF / n, n }' "$work/cg"
fi

# Memory: stream ~1 GB through it; peak RSS must not grow with the input.
for _ in $(seq "$copies"); do cat "$in"; done |
	/usr/bin/time -f '%e %M' -o "$work/time" "$bin/vk-normalize" --offline >/dev/null 2>&1
read -r big_s big_kib < "$work/time"
measure "$bin/vk-normalize" --offline "$in"
small=$kib
awk -v s="$big_s" -v k="$big_kib" -v c="$copies" -v b="$bytes" -v sm="$small" 'BEGIN {
	printf "memory: %.2f GB streamed in %.1f s (%.1f MB/s through a pipe); peak RSS %.1f MiB (%.1f MiB on %.0f MB)\n",
		c * b / 1e9, s, c * b / 1e6 / s, k / 1024, sm / 1024, b / 1e6
}'
rm -f "$work/out"
