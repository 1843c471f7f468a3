#!/usr/bin/env bats
# exec:…#workers=N,by=PATH: N handlers in parallel, each chat's Events to
# one of them, in input order; the delivery, restart and #confirm rules of
# a single handler hold per worker.
load helper
load lib-route

HANDLER="$ROUTE_FIX/slow-handler.sh"

setup() {
	route_setup
	# 400 Events over 20 chats, interleaved
	"$PYTHON" -c '
for i in range(400):
    print("{\"event_type\":\"message\",\"event_id\":\"%d\",\"peer\":{\"bpid\":%d},\"message\":{\"text\":\"n %d\"}}" % (i, 2000000001 + (i * 7) % 20, i))
' >"$T/in"
}
teardown() { route_teardown; }

# check_out FILE: each Event once, each chat's in input order.
check_out() {
	"$PYTHON" - "$1" <<'PY'
import sys
seen, last = set(), {}
for line in open(sys.argv[1]):
    pid, chat, i = line.split()
    i = int(i)
    if i in seen:
        sys.exit("event %d twice" % i)
    seen.add(i)
    if last.get(chat, -1) > i:
        sys.exit("chat %s: event %d after %d" % (chat, i, last[chat]))
    last[chat] = i
if seen != set(range(400)):
    sys.exit("missing: %s" % sorted(set(range(400)) - seen)[:10])
PY
}

# run_sampled ARGS...: vk-route ARGS over $T/in; $T/maxkids gets the most
# handler processes seen at once (children of vk-route), $T/secs the time.
run_sampled() {
	local max=0 k vr start
	start=${EPOCHREALTIME/[.,]/}
	vk-route --stats --drain-timeout 120 "$@" <"$T/in" 2>"$T/err" &
	vr=$!
	PIDS="$PIDS $vr"
	while ! gone "$vr"; do
		k=$(ps -o pid= --ppid "$vr" | wc -l)
		[ "$k" -gt "$max" ] && max=$k
		sleep 0.02
	done
	wait "$vr"
	echo $(( (${EPOCHREALTIME/[.,]/} - start) / 1000 )) >"$T/ms"
	echo "$max" >"$T/maxkids"
}

@test "4 workers: each chat in order, each Event once, at most 4 handlers, well under half the time of one" {
	run_sampled -e "* -> exec:$HANDLER $T/one"
	check_out "$T/one"
	local one
	one=$(cat "$T/ms")
	run_sampled -e "* -> exec:$HANDLER $T/four#workers=4,by=.peer.bpid"
	check_out "$T/four"
	[ "$(cat "$T/maxkids")" -le 4 ]
	[ "$(cut -d' ' -f1 "$T/four" | sort -u | wc -l)" -eq 4 ]
	# a chat stays with its worker
	[ "$(cut -d' ' -f1,2 "$T/four" | sort -u | wc -l)" -eq 20 ]
	echo "one worker: ${one} ms, four: $(cat "$T/ms") ms" >&3
	[ $(($(cat "$T/ms") * 2)) -lt "$one" ]
	grep -q "delivered=400 queued=0 failed=0" "$T/err" || {
		# the stats name each worker: together they delivered all
		[ "$(grep -o 'worker=[0-9]* delivered=[0-9]*' "$T/err" | awk -F= '{ s += $3 } END { print s }')" -eq 400 ]
	}
}

@test "a missing or null key goes to worker 0; a chat's worker is the same every run" {
	printf '%s\n' '{"event_id":"a","peer":{}}' '{"event_id":"b","peer":null}' \
		'{"event_id":"c","peer":{"bpid":null}}' '{"event_id":"d"}' >"$T/in"
	run vk-route --stats -e "* -> exec:$HANDLER $T/out#workers=3,by=.peer.bpid" <"$T/in"
	assert_success
	assert_line --regexp "dest exec:.*#workers=3,by=.peer.bpid,worker=0 delivered=4 "
	assert_equal "$(cut -d' ' -f1 "$T/out" | sort -u | wc -l)" 1
}

@test "a worker that dies is restarted; its chats lose nothing and keep their order, the others go on" {
	run_sampled -e "* -> exec:$HANDLER $T/out 25#workers=4,by=.peer.bpid"
	check_out "$T/out"
	[ "$(cat "$T/maxkids")" -le 4 ]
	[ "$(cut -d' ' -f1 "$T/out" | sort -u | wc -l)" -gt 4 ]	# restarted ones
	grep -q "handler exited with status 3; will retry" "$T/err"
}

@test "#confirm per worker: acks only for what the workers confirmed, in input order" {
	run_sampled --ack "$T/ack" \
		-e "* -> exec:$HANDLER $T/out 0 --confirm#workers=4,by=.peer.bpid,confirm"
	check_out "$T/out"
	assert_equal "$(paste -sd' ' "$T/ack")" "$(seq 0 399 | paste -sd' ')"
}

@test "workers options are checked when the rules are loaded" {
	run vk-route --check -e '* -> exec:./h#workers=0,by=.peer.bpid'
	assert_failure 3
	assert_output --partial "workers= takes a number from 1 to 256"
	run vk-route --check -e '* -> exec:./h#workers=4'
	assert_failure 3
	assert_output --partial "workers=N needs by=PATH"
	run vk-route --check -e '* -> exec:./h#workers=4,by=peer'
	assert_failure 3
	assert_output --partial "by= takes a path like .peer.bpid"
	run vk-route --check -e '* -> exec:./h#workers=2,by=.peer.bpid,confirm'
	assert_success
}

@test "a template group: workers per filled text, bounded by --max-open like any template destination" {
	# two event types; each chat has Events of one type only (7i mod 20 keeps i's parity)
	"$PYTHON" -c '
for i in range(200):
    print("{\"event_type\":\"%s\",\"event_id\":\"%d\",\"peer\":{\"bpid\":%d}}" % ("ab"[i % 2], i, 2000000001 + (i * 7) % 20))
' >"$T/in"
	run_sampled --max-open 2 -e "* -> exec:$HANDLER $T/{.event_type}.out#workers=3,by=.peer.bpid"
	[ "$(cat "$T/maxkids")" -le 2 ]
	cat "$T/a.out" "$T/b.out" >"$T/all"
	"$PYTHON" - "$T/all" <<'PY'
import sys
seen, last = set(), {}
for line in open(sys.argv[1]):
    pid, chat, i = line.split()
    i = int(i)
    assert i not in seen, "event %d twice" % i
    seen.add(i)
    assert last.get(chat, -1) < i, "chat %s out of order" % chat
    last[chat] = i
assert seen == set(range(200)), "missing events"
PY
}
