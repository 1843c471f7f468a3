#!/bin/sh
# bench-normalize.sh BIN - vk-normalize --offline against its limit, the
# same transform written with simdjson (norm-simdjson.cpp, built here when
# libsimdjson-dev and g++ are installed; its output must be byte for byte
# vk-normalize's): CPU seconds, RUNS runs interleaved, medians, and the
# ratio (issue 25: <= 1.30). With BASE=DIR (an older build's bin/), that
# build's vk-normalize joins the interleaved runs: the ratio new/old.
# Then against jq doing the same transform (normalize.jq), one core each,
# the best of three runs each; then peak memory over about 1 GB of input.
#   N=100000 (updates)   RUNS=5   GB=1 (gigabytes streamed for the memory run)
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

# median of the numbers on standard input
median() { sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cpu() { $pin python3 "$here/cputime.py" "$@" || true; }

sj=$work/norm-simdjson
if [ -f /usr/include/simdjson.h ] && command -v g++ >/dev/null 2>&1; then
	g++ -O2 -std=c++17 -o "$sj" "$here/norm-simdjson.cpp" -lsimdjson
	# The limit implements the four types of contract v2 (message_new,
	# message_event, message_reaction_event): the race is on those lines.
	four=$work/four-$n.ndjson
	grep -E '^\{"type":"(message_new|message_event|message_reaction_event)"' "$in" >"$four"
	"$sj" "$four" >"$work/sj.out"
	"$bin/vk-normalize" --offline "$four" >"$work/vn.out" 2>/dev/null || true
	if ! cmp -s "$work/sj.out" "$work/vn.out"; then
		echo "WARNING: norm-simdjson's output differs from vk-normalize's: the limit means nothing" >&2
		cmp "$work/sj.out" "$work/vn.out" >&2 || true
	fi
	: >"$work/c-vn"; : >"$work/c-sj"; : >"$work/c-base"
	for _ in $(seq "${RUNS:-5}"); do
		cpu "$bin/vk-normalize" --offline "$four" >>"$work/c-vn"
		cpu "$sj" "$four" >>"$work/c-sj"
		[ -z "${BASE:-}" ] || cpu "$BASE/vk-normalize" --offline "$four" >>"$work/c-base"
	done
	awk -v o="$(median <"$work/c-vn")" -v s="$(median <"$work/c-sj")" -v b="$(wc -c <"$four")" 'BEGIN {
		printf "CPU, medians of %d interleaved runs: vk-normalize %.3f s (%.0f MB/s), simdjson %.3f s (%.0f MB/s)\n",
			ENVIRON["RUNS"] ? ENVIRON["RUNS"] : 5, o, b / 1e6 / o, s, b / 1e6 / s
		printf "ratio: vk-normalize / simdjson CPU = %.2f (target <= 1.30)\n", o / s }'
	[ -z "${BASE:-}" ] || awk -v o="$(median <"$work/c-vn")" -v p="$(median <"$work/c-base")" 'BEGIN {
		printf "ratio: vk-normalize / BASE vk-normalize CPU = %.2f (BASE %.3f s)\n", o / p, p }'
	# The same race in instructions (callgrind), which a busy machine does
	# not blur as it does CPU times. valgrind runs simdjson's haswell
	# kernel, not the one it picks natively: a figure to follow, not the limit.
	if command -v valgrind >/dev/null 2>&1 && [ "${CALLGRIND_UPDATES:-10000}" -gt 0 ]; then
		head -n "${CALLGRIND_UPDATES:-10000}" "$four" >"$work/few4"
		for p in "$bin/vk-normalize --offline" "$sj"; do
			# shellcheck disable=SC2086
			valgrind --tool=callgrind --callgrind-out-file=/dev/null $p "$work/few4" 2>&1 >/dev/null |
				awk '/Collected/ { print $NF }'
		done | awk -v b="$(wc -c <"$work/few4")" 'NR == 1 { o = $1 } NR == 2 { s = $1 } END {
			printf "callgrind, first %d lines: vk-normalize %.2f, simdjson %.2f instructions per byte: ratio %.2f\n",
				ENVIRON["CALLGRIND_UPDATES"] ? ENVIRON["CALLGRIND_UPDATES"] : 10000, o / b, s / b, o / s }'
	fi
	rm -f "$work/sj.out" "$work/vn.out"
else
	echo "simdjson limit: skipped (needs libsimdjson-dev and g++)"
fi

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
