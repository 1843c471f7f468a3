#!/usr/bin/env bash
# bench-route-workers.sh [BIN] - exec:…#workers=N,by=.peer.bpid: 400 Events
# over 20 chats to a handler taking 20 ms each, with 1, 2, 4 and 8 workers:
# the time and the speedup over one handler (per-chat order is kept).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$(dirname "$here")")
bin=${1:-${VKPIPE_BIN:-$repo/bin}}
handler=$repo/tests/fixtures/route/slow-handler.sh
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
python3 -c '
for i in range(400):
    print("{\"event_type\":\"message\",\"event_id\":\"%d\",\"peer\":{\"bpid\":%d}}" % (i, 2000000001 + (i * 7) % 20))
' >"$t/in"

# ms RULE: milliseconds for the 400 Events, best of two
ms() {
	local best=0 s e r
	for _ in 1 2; do
		rm -f "$t/out"
		s=${EPOCHREALTIME/[.,]/}
		"$bin/vk-route" --drain-timeout 300 -e "$1" <"$t/in"
		e=${EPOCHREALTIME/[.,]/}
		r=$(((e - s) / 1000))
		[ "$best" -eq 0 ] || [ "$r" -lt "$best" ] && best=$r
	done
	echo "$best"
}
one=$(ms "* -> exec:$handler $t/out")
echo "400 events, 20 chats, 20 ms each:"
echo "  one handler:  $one ms"
for n in 2 4 8; do
	w=$(ms "* -> exec:$handler $t/out#workers=$n,by=.peer.bpid")
	echo "  workers=$n:    $w ms   speedup $(echo "$one $w" | awk '{ printf "%.2f", $1 / $2 }')x"
done
