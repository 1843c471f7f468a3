#!/bin/sh
# bench-call.sh BIN - vk-call against the fake VK API (20 requests/s at
# most, 30 ms a request, as VK's own limit and a near data centre):
#  1. a burst of 1,000 messages.send to 20 chats: HTTP requests, calls per
#     request (aim >= 24) and calls per second, against the same burst sent
#     a call per request (--max-batch 1: what each handler does on its own);
#  2. the latency vk-call adds to a lone request: p50 and p90 over 50
#     requests, against one direct round trip to the same fake
#     (aim: p50 <= batch window + one round trip).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../bin}
work=${TMPDIR:-/tmp}/vkpipe-bench-call
rm -rf "$work"
mkdir -p "$work"
token=bench-token

printf '{"token":"%s","api_rate":20,"api_latency":0.03}\n' "$token" > "$work/sc.json"
python3 "$here/../fake/fake-vk.py" "$work/sc.json" --port-file "$work/port" --log "$work/log" > /dev/null &
fake=$!
trap 'kill $fake 2>/dev/null || true' EXIT INT TERM
i=0
while [ ! -s "$work/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
VK_API_URL="http://127.0.0.1:$(cat "$work/port")/method"
VK_TOKEN=$token
export VK_API_URL VK_TOKEN

python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
for name, n, chats in (("burst", 1000, 20), ("peer", 100, 20), ("chats", 1000, 1000)):
    with open("%s/%s.ndjson" % (w, name), "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": "%s-%d" % (name, i), "method": "messages.send",
                                "params": {"peer_id": 2000000001 + i % chats,
                                           "message": "ответ %d" % i}}, ensure_ascii=False) + "\n")
PY

# run NAME OPTIONS...: vk-call on NAME.ndjson; prints "requests seconds errors"
run() {
	name=$1
	shift
	: > "$work/log"
	start=$(date +%s.%N)
	"$bin/vk-call" "$@" < "$work/$name.ndjson" > "$work/$name.out"
	end=$(date +%s.%N)
	echo "$(wc -l < "$work/log") $(echo "$end - $start" | bc) $(grep -c '"error"' "$work/$name.out" || true)"
}
read -r burst_req burst_s burst_err <<EOF
$(run burst)
EOF
sleep 1.1	# the fake's window forgets the burst (a new vk-call knows nothing of it)
read -r peer_req peer_s _ <<EOF
$(run peer --max-batch 1)
EOF
awk -v r="$burst_req" -v s="$burst_s" -v e="$burst_err" -v pr="$peer_req" -v ps="$peer_s" 'BEGIN {
	printf "burst of 1000 sends: %d HTTP requests, %.1f calls per request, %.2f s (%.0f calls/s), %d errors\n",
		r, 1000 / r, s, 1000 / s, e
	printf "a call per request (--max-batch 1, 100 sends): %d requests, %.2f s (%.1f calls/s); batching is %.1fx faster\n",
		pr, ps, 100 / ps, (1000 / s) / (100 / ps) }'

# 1b. 1000 sends to 1000 chats: 40 executes, two windows of 20 (issue 25: <= 1.5 s, no error 6)
sleep 1.1
read -r chats_req chats_s chats_err <<EOF
$(run chats)
EOF
awk -v r="$chats_req" -v s="$chats_s" -v e="$chats_err" -v six="$(grep -c '"error_code":6' "$work/chats.out" || true)" 'BEGIN {
	printf "1000 sends to 1000 chats: %d HTTP requests, %.2f s (aim <= 1.50 s), %d errors, %d error 6\n", r, s, e, six }'

# 2. lone requests, 5 a second: one at a time through a running vk-call, and directly
sleep 1.1
python3 - "$bin/vk-call" "$VK_API_URL" "$token" <<'PY'
import http.client, json, statistics, subprocess, sys, time, urllib.parse
vkcall, url, token = sys.argv[1:4]
u = urllib.parse.urlsplit(url)
p = subprocess.Popen([vkcall], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
lat = []
for i in range(50):
    req = {"id": "lone-%d" % i, "method": "messages.send", "params": {"peer_id": 7, "message": "x"}}
    t = time.perf_counter()
    p.stdin.write(json.dumps(req) + "\n")
    p.stdin.flush()
    line = p.stdout.readline()
    lat.append(time.perf_counter() - t)
    assert '"response"' in line, line
    time.sleep(0.2)
p.stdin.close()
p.wait()
c = http.client.HTTPConnection(u.hostname, u.port)
rtt = []
for i in range(50):
    body = urllib.parse.urlencode({"peer_id": 8, "message": "x", "random_id": i + 1,
                                   "access_token": token, "v": "5.199"})
    t = time.perf_counter()
    c.request("POST", u.path + "/messages.send", body,
              {"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse().read()
    rtt.append(time.perf_counter() - t)
    assert b'"response"' in r, r
    time.sleep(0.2)
q = lambda v, k: sorted(v)[int(len(v) * k)] * 1000
print("lone request through vk-call: p50 %.1f ms, p90 %.1f ms; one direct round trip: p50 %.1f ms;"
      " added p50 %.1f ms (batch window 10 ms; aim: p50 <= %.1f ms)"
      % (q(lat, .5), q(lat, .9), q(rtt, .5), q(lat, .5) - q(rtt, .5), 10 + q(rtt, .5)))
PY
