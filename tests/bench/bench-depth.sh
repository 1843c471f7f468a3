#!/bin/sh
# bench-depth.sh [BINDIR [UNITDIR]] - what one hostile, deeply nested line
# costs each reader: vk-normalize, vk-route, and json_parse() as vk-poll
# runs it on every reply (through the json-test driver). A line nested
# 80,000 deep against one nested 10,000 deep: linear reading costs 8x (the
# line is 8x longer), quadratic 64x. Then the worst line a reader accepts:
# 1 MB of arrays nested just under the depth limit, against 1 MB of flat
# arrays. Best of three runs each (the machine is shared), in milliseconds.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$here/../../bin}
UNIT=${2:-$here/../../build/unit}
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-depth.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
for d in (10000, 80000):
    with open("%s/deep%d" % (t, d), "w") as f:
        f.write('{"type":"message_new","event_id":"x","object":' + "[" * d + "]" * d + "}\n")
with open("%s/near" % t, "w") as f:	# depth 500, under every limit
    one = "[" * 499 + "]" * 499
    f.write('{"event_id":"x","object":[' + ",".join([one] * (1000000 // len(one))) + "]}\n")
with open("%s/flat" % t, "w") as f:
    one = "[]," * 499 + "[]"
    f.write('{"event_id":"x","object":[' + ",".join([one] * (1000000 // len(one))) + "]}\n")
# message_new lines: the action an array of such pieces, the payload a JSON
# string holding a quarter as many
for name, one in (("msg-d500", "[" * 499 + "]" * 499), ("msg-flat", "[]," * 499 + "[]")):
    k = 1000000 // 998
    m = ('{"date":1,"from_id":5,"id":0,"out":0,"attachments":[],"conversation_message_id":7,'
         '"fwd_messages":[],"peer_id":2000000001,"text":"hi","action":[%s],"payload":"[%s]"}'
         % (",".join([one] * (k // 2)), ",".join([one] * (k // 4))))
    with open("%s/%s" % (t, name), "w") as f:
        f.write('{"type":"message_new","object":{"message":%s},"group_id":1,"event_id":"e","v":"5.199"}\n' % m)
PY

# ms CMD...: the best wall time of three runs, in milliseconds.
ms() {
	best=
	for _ in 1 2 3; do
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1 || true
		e=$(date +%s%N)
		best=$(awk -v a=$(((e - s) / 1000)) -v b="$best" 'BEGIN { print (b == "" || a < b) ? a : b }')
	done
	awk -v u="$best" 'BEGIN { printf "%.1f", u / 1000 }'
}

row() { # name cmd...
	name=$1
	shift
	a=$(ms "$@" "$T/deep10000")
	b=$(ms "$@" "$T/deep80000")
	c=$(ms "$@" "$T/flat")
	d=$(ms "$@" "$T/near")
	awk -v n="$name" -v a="$a" -v b="$b" -v c="$c" -v d="$d" 'BEGIN {
		printf "%-26s %9.1f %9.1f %7.1fx %10.1f %10.1f %7.1fx\n", n, a, b, b / a, c, d, d / c }'
}

printf '%-26s %9s %9s %8s %10s %10s %8s\n' "reader" "10k deep" "80k deep" "ratio" "1MB flat" "1MB d500" "ratio"
row "vk-normalize --offline" "$BIN/vk-normalize" --offline
row "vk-route -e '* -> stdout'" sh -c "exec \"$BIN/vk-route\" -e '* -> stdout' <\"\$0\""
row "json_parse (vk-poll)" sh -c "exec \"$UNIT/json-test\" parse <\"\$0\""

# vk-normalize on Events it writes: CPU seconds per byte (five runs each,
# interleaved, medians) and instructions per byte.
cpu() { python3 "$here/cputime.py" "$BIN/vk-normalize" --offline "$1" || true; }
: >"$T/c-flat"; : >"$T/c-d500"
for _ in 1 2 3 4 5; do
	cpu "$T/msg-flat" >>"$T/c-flat"
	cpu "$T/msg-d500" >>"$T/c-d500"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ig() {
	command -v valgrind >/dev/null 2>&1 || { echo 0; return; }
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN/vk-normalize" --offline "$1" \
		2>&1 >/dev/null | awk '/Collected/ { print $NF }'
}
awk -v cf="$(median <"$T/c-flat")" -v cd="$(median <"$T/c-d500")" -v bf="$(wc -c <"$T/msg-flat")" \
	-v bd="$(wc -c <"$T/msg-d500")" -v i_f="$(ig "$T/msg-flat")" -v i_d="$(ig "$T/msg-d500")" 'BEGIN {
	printf "vk-normalize, message_new with action and payload nested 500 deep (%.0f KB) against flat (%.0f KB):\n", bd / 1e3, bf / 1e3
	printf "  CPU per byte: d500 %.1f ns, flat %.1f ns: ratio %.2f (target <= 3)\n", cd / bd * 1e9, cf / bf * 1e9, (cd / bd) / (cf / bf)
	if (i_f > 0)
		printf "  callgrind: d500 %.1f, flat %.1f instructions per byte: ratio %.2f\n", i_d / bd, i_f / bf, (i_d / bd) / (i_f / bf)
}'
