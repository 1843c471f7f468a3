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
