#!/bin/sh
# bench-route.sh [BINDIR] - vk-route throughput against jq, and memory with a
# stuck destination.
#   BENCH_EVENTS (default 1000000) Events are generated (deterministic
#   python3, realistic shapes and sizes), routed by 8 rules (3 of them
#   regular expressions) to 3 files; then `jq -c 'select(…)'` runs one of
#   the same conditions over the same input. Then the same input goes
#   through a rule whose FIFO nobody reads, with --queue 10000: peak RSS.
#   With BASE=DIR (an older build's bin/), CPU seconds of both on the 8
#   rules, RUNS (default 5) runs interleaved, medians: the ratio new/old
#   (issue 25: <= 0.75 against 1f7ec94).
set -eu
BIN=${1:-$(cd "$(dirname "$0")/../.." && pwd)/bin}
N=${BENCH_EVENTS:-1000000}
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-route.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

python3 - "$N" >"$T/events.ndjson" <<'PY'
import json, random, sys
n = int(sys.argv[1])
rnd = random.Random(5)
words = ["привет", "как дела", "ok", "посмотри это", "hello", "😀", "кто здесь?",
         "завтра в 10", "спасибо!", "link https://vk.com/wall-1_2", "да", "нет"]
cmds = ["/ban", "/kick", "/help", "!stat", "/start", "/warn"]
atts = ["photo", "video", "doc", "audio_message", "sticker", "wall"]
out = sys.stdout
for i in range(n):
    r = rnd.random()
    uid = rnd.choice([206295116, 171882202, 918650328, -49872008]) + rnd.randrange(200)
    cid = rnd.randrange(1, 21) if rnd.random() < 0.7 else None
    bpid = 2000000000 + cid if cid else uid
    user = {"uuid": uid, "name": "Руслан Башинский", "firstname": "Руслан",
            "lastname": "Башинский", "nick": "user%d" % (uid % 1000)}
    peer = {"bpid": bpid, "cid": cid, "name": "FUNCKA | CHAT %d" % cid if cid else None}
    ev = {"event_type": None, "event_id": "%040x" % rnd.getrandbits(160), "user": user, "peer": peer}
    if r < 0.75:
        cmd = rnd.random() < 0.2
        text = (rnd.choice(cmds) + " " if cmd else "") + " ".join(rnd.choice(words) for _ in range(rnd.randrange(1, 8)))
        a = [rnd.choice(atts) for _ in range(rnd.randrange(0, 3))] if rnd.random() < 0.3 else []
        reply = {"cmid": rnd.randrange(10000), "text": rnd.choice(words), "uuid": uid} if rnd.random() < 0.1 else None
        if reply: a.append("reply")
        ev["event_type"] = "command" if cmd else "message"
        ev["message"] = {"cmid": i, "text": text, "reply": reply, "forward": [], "attachments": a}
    elif r < 0.9:
        ev["event_type"] = "button"
        ev["button"] = {"cmid": i, "beid": "%012x" % rnd.getrandbits(48), "payload": {"cmd": rnd.choice(["buy", "sell", "info"])}}
    else:
        ev["event_type"] = "reaction"
        ev["reaction"] = {"cmid": i, "rid": rnd.choice([None, 1, 4, 7])}
    out.write(json.dumps(ev, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")
PY

cat >"$T/rules.conf" <<RULES
.event_type == "command"                               -> file:$T/commands.ndjson
.message.text =~ "^/(ban|kick|warn)"                   -> file:$T/moderation.ndjson
.event_type == "message" and .peer.cid == 2            -> file:$T/chat-2.ndjson
.message.text =~ "https?://[a-z.]+/"                   -> file:$T/chat-2.ndjson
.message.attachments contains "photo"                  -> file:$T/moderation.ndjson
.event_type in ["button", "reaction"] and .user.uuid < 0 -> file:$T/commands.ndjson
.message.text =~ "кто здесь"                           -> file:$T/chat-2.ndjson
.button.payload.cmd == "buy"                           -> file:$T/commands.ndjson
RULES

bytes=$(wc -c <"$T/events.ndjson")
echo "vk-route benchmark: $N events, $((bytes / N)) bytes each on average, 8 rules (3 regex), 3 files"

# timed OUT CMD...: run, print "wall cpu" seconds into OUT.
timed() {
	out=$1
	shift
	/usr/bin/time -q -f '%e %U %S' -o "$out.t" "$@"
	awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$out.t" >"$out"
}

timed "$T/t_route" "$BIN/vk-route" "$T/rules.conf" <"$T/events.ndjson"
timed "$T/t_jq" jq -c 'select(.message.text // "" | test("^/(ban|kick|warn)"))' \
	<"$T/events.ndjson" >"$T/jq.ndjson"
"$BIN/vk-route" -e ".message.text =~ \"^/(ban|kick|warn)\" -> file:$T/moderation-only.ndjson" \
	<"$T/events.ndjson"
# The same condition's output must agree, or the comparison means nothing.
cmp -s "$T/jq.ndjson" "$T/moderation-only.ndjson" ||
	echo "WARNING: jq and vk-route disagree on the regex condition" >&2

read -r w_route c_route <"$T/t_route"
read -r w_jq c_jq <"$T/t_jq"
printf 'vk-route:  %7.2f s wall %7.2f s cpu  %9.0f events/s wall  %9.0f events/s cpu  %6.1f MB/s\n' \
	"$w_route" "$c_route" "$(echo "$N / $w_route" | bc -l)" "$(echo "$N / $c_route" | bc -l)" \
	"$(echo "$bytes / $w_route / 1000000" | bc -l)"
printf 'jq select: %7.2f s wall %7.2f s cpu  %9.0f events/s wall  (one condition of the eight)\n' \
	"$w_jq" "$c_jq" "$(echo "$N / $w_jq" | bc -l)"
printf 'ratio:     %7.1fx jq (wall)  %5.1fx jq (cpu)\n' \
	"$(echo "$w_jq / $w_route" | bc -l)" "$(echo "$c_jq / $c_route" | bc -l)"

if [ -n "${BASE:-}" ]; then
	: >"$T/c-new"
	: >"$T/c-base"
	for _ in $(seq "${RUNS:-5}"); do
		python3 "$(dirname "$0")/cputime.py" sh -c 'exec "$0" "$1" <"$2"' "$BIN/vk-route" \
			"$T/rules.conf" "$T/events.ndjson" >>"$T/c-new"
		python3 "$(dirname "$0")/cputime.py" sh -c 'exec "$0" "$1" <"$2"' "$BASE/vk-route" \
			"$T/rules.conf" "$T/events.ndjson" >>"$T/c-base"
	done
	awk -v a="$(sort -n "$T/c-new" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" \
	    -v b="$(sort -n "$T/c-base" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" 'BEGIN {
		printf "CPU, medians of interleaved runs: vk-route %.3f s, BASE %.3f s: ratio %.2f (target <= 0.75)\n", a, b, a / b }'
fi

# Instructions per event (callgrind: stable on a busy machine, where the
# times above vary), over the first CALLGRIND_EVENTS (default 20000).
if command -v valgrind >/dev/null 2>&1 && [ "${CALLGRIND_EVENTS:-20000}" -gt 0 ]; then
	head -n "${CALLGRIND_EVENTS:-20000}" "$T/events.ndjson" >"$T/few.ndjson"
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN/vk-route" "$T/rules.conf" \
		<"$T/few.ndjson" 2>"$T/cg" >/dev/null
	awk -v n="$(wc -l <"$T/few.ndjson")" '/Collected/ { printf "callgrind: %.0f instructions per event (%d events, 8 rules)\n", $NF / n, n }' "$T/cg"
fi

# A stuck destination: a FIFO nobody reads, queue 10000 lines. Peak RSS
# must stay bounded by the queue, not by the input: first with backpressure
# (input stops; a reader comes after 3 s and everything flows), then with
# --spill (input goes on, overflow to a dead-letter file).
mkfifo "$T/stuck"
(sleep 3; cat "$T/stuck" >/dev/null) &
/usr/bin/time -q -f '%M %e' -o "$T/rss1" "$BIN/vk-route" --queue 10000 \
	-e "* -> file:$T/stuck" -e ".event_type == \"command\" -> file:$T/live1.ndjson" \
	<"$T/events.ndjson"
wait
read -r rss1 secs1 <"$T/rss1"
printf 'stuck FIFO, backpressure (queue 10000, reader after 3 s): peak RSS %s KiB, %s s; live file got %s lines\n' \
	"$rss1" "$secs1" "$(wc -l <"$T/live1.ndjson")"
/usr/bin/time -q -f '%M' -o "$T/rss2" "$BIN/vk-route" --queue 10000 --spill "$T" \
	--drain-timeout 0 \
	-e "* -> file:$T/stuck" -e ".event_type == \"command\" -> file:$T/live2.ndjson" \
	<"$T/events.ndjson" 2>/dev/null || true
printf 'stuck FIFO, --spill (queue 10000):                        peak RSS %s KiB; live file got %s lines\n' \
	"$(cat "$T/rss2")" "$(wc -l <"$T/live2.ndjson")"
/usr/bin/time -q -f '%M' -o "$T/rss0" "$BIN/vk-route" -e "* -> file:/dev/null" <"$T/events.ndjson"
printf 'baseline (one /dev/null rule):                            peak RSS %s KiB\n' "$(cat "$T/rss0")"
