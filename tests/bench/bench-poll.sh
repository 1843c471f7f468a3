#!/bin/sh
# bench-poll.sh BIN - vk-poll against a local fake VK answering with
# pre-serialised batches of 1,000 generated updates (round and round):
# updates/s to /dev/null, CPU per update, and RSS sampled over the run.
# Peers on the same batches: curl fetching them (the transfer alone, no
# parsing) and jq -c '.updates[]' splitting saved replies (no network).
#   N=1000000 (updates polled)   BATCH=1000   DISTINCT=100000 (updates generated)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../bin}
n=${N:-1000000}
batch=${BATCH:-1000}
distinct=${DISTINCT:-100000}
work=${TMPDIR:-/tmp}/vkpipe-bench-poll
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
mkdir -p "$work"
upd=$work/updates-$distinct.ndjson
[ -s "$upd" ] || $py "$here/gen-updates.py" "$distinct" >"$upd"
printf '{"token":"bench-token","group_id":1,"batch":%d,"cycle":true,"any_key":true,"updates_file":"%s"}\n' \
	"$batch" "$upd" >"$work/scenario.json"

rm -f "$work/port"
$py "$here/../fake/fake-vk.py" "$work/scenario.json" --port-file "$work/port" >/dev/null &
fake=$!
trap 'kill $fake 2>/dev/null || true' EXIT INT TERM
i=0
while [ ! -s "$work/port" ]; do
	i=$((i + 1))
	[ $i -le 300 ] || { echo "bench-poll: fake-vk did not start" >&2; exit 1; }
	sleep 0.1
done
port=$(cat "$work/port")

# vk-poll, with its RSS sampled every 0.2 s.
VK_TOKEN=bench-token /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
	"$bin/vk-poll" --group-id 1 --api-url "http://127.0.0.1:$port/method" \
	--max-events "$n" >/dev/null &
tpid=$!
: >"$work/rss"
while kill -0 $tpid 2>/dev/null; do
	p=$(pgrep -P $tpid vk-poll 2>/dev/null || true)
	[ -n "$p" ] && awk '/^VmRSS/ { print $2 }' "/proc/$p/status" >>"$work/rss" 2>/dev/null || true
	sleep 0.2
done
wait $tpid
read -r secs usr sys kib <"$work/time"

# curl: the same number of batches, one keep-alive connection, bodies discarded.
polls=$(( (n + batch - 1) / batch ))
last=$((100 + (polls - 1) * batch))
url="http://127.0.0.1:$port/lp/wh1?act=a_check&key=k&wait=25&ts=[100-$last:$batch]"
/usr/bin/time -f '%e' -o "$work/time-curl" curl -s "$url" >/dev/null
read -r curl_s <"$work/time-curl"

# jq: the split and compaction alone, on 100 saved replies.
curl -s "http://127.0.0.1:$port/lp/wh1?act=a_check&key=k&wait=25&ts=[100-$((100 + 99 * batch)):$batch]" \
	>"$work/replies"
/usr/bin/time -f '%e' -o "$work/time-jq" jq -c '.updates[]' "$work/replies" >"$work/jq-out"
read -r jq_s <"$work/time-jq"
jq_n=$(wc -l <"$work/jq-out")
bytes=$(wc -c <"$work/replies")

sort -n "$work/rss" >"$work/rss-sorted"
samples=$(wc -l <"$work/rss")
first=$(sed -n '3p' "$work/rss")
lastrss=$(tail -n 1 "$work/rss")
minrss=$(head -n 1 "$work/rss-sorted")
maxrss=$(tail -n 1 "$work/rss-sorted")

awk -v n="$n" -v s="$secs" -v u="$usr" -v y="$sys" -v k="$kib" -v c="$curl_s" \
    -v j="$jq_s" -v jn="$jq_n" -v by="$bytes" -v b="$batch" -v ns="$samples" \
    -v f="${first:-0}" -v l="${lastrss:-0}" -v lo="${minrss:-0}" -v hi="${maxrss:-0}" 'BEGIN {
	s = (s < 0.001) ? 0.001 : s; cpu = u + y; cpu = (cpu < 0.001) ? 0.001 : cpu
	ub = by / jn
	printf "input: %d updates in batches of %d, %.0f bytes/update (from gen-updates.py)\n", n, b, ub
	printf "vk-poll > /dev/null: %.2f s  %.0f updates/s  %.1f MB/s\n", s, n / s, n * ub / 1e6 / s
	printf "vk-poll CPU: %.2f s user + %.2f s sys = %.2f us/update (%.0f updates per CPU-second)\n", u, y, cpu * 1e6 / n, n / cpu
	printf "vk-poll RSS: peak %d KiB; sampled %d times: first %d, last %d, min %d, max %d KiB\n", k, ns, f, l, lo, hi
	printf "curl, same batches, bodies discarded: %.2f s  %.0f updates/s\n", c, n / c
	printf "jq -c .updates[] on %d saved updates: %.2f s  %.0f updates/s\n", jn, j, jn / j
	printf "ratios: vk-poll is %.2fx curl (wall clock), %.1fx jq (updates/s)\n", c / s, (n / s) / (jn / j)
}'
