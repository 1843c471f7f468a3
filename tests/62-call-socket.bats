#!/usr/bin/env bats
# vk-call --listen / --connect: many handlers, one limiter, each its own results.

load helper
load lib-call

teardown() {
	[ -z "${HOLD_PID:-}" ] || stop_pid "$HOLD_PID"
	call_teardown
}

# serve [OPTIONS]: vk-call --listen on $SOCK, waits for the socket.
serve() {
	SOCK="$BATS_TEST_TMPDIR/call.sock"
	vk-call --listen "unix:$SOCK" "$@" 2> "$BATS_TEST_TMPDIR/srv.err" &
	SRV_PID=$!
	# (a stale socket may be there already: wait until it answers)
	wait_until 10 vk-call --connect "unix:$SOCK" < /dev/null 2> /dev/null
}

more_requests_than() { [ "$(http_requests)" -gt "$1" ]; }

@test "socket: 4 clients at once get exactly their own results, all under one limiter" {
	call_fake '{"api_rate":20}'
	serve --max-batch 1
	for c in 1 2 3 4; do
		sends 15 "c$c-" "$c" > "$BATS_TEST_TMPDIR/in$c"
	done
	for c in 1 2 3 4; do
		vk-call --connect "unix:$SOCK" < "$BATS_TEST_TMPDIR/in$c" > "$BATS_TEST_TMPDIR/out$c" &
		pids="${pids:-} $!"
	done
	for p in $pids; do wait "$p"; done
	for c in 1 2 3 4; do
		assert_equal "$(jq -r .id "$BATS_TEST_TMPDIR/out$c" | sort -V | paste -sd' ')" \
			"$(jq -r .id "$BATS_TEST_TMPDIR/in$c" | paste -sd' ')"
		refute grep -q error "$BATS_TEST_TMPDIR/out$c"
	done
	assert_equal "$(http_requests)" 60
	[ "$(max_per_second)" -le 20 ]
	refute grep -q rate_limited "$LOG"
	# SIGUSR1: the counters, in vkpipe's one format
	kill -USR1 "$SRV_PID"
	wait_until 10 grep_file "stats: api" "$BATS_TEST_TMPDIR/srv.err"
	assert grep -q 'vk-call: stats: api calls=60 http=60 execute=0 retries=0 errors=0 queued=0' "$BATS_TEST_TMPDIR/srv.err"
	assert grep -q 'vk-call: stats: input lines=60 bad_lines=0 results=60 errors=0 clients=' "$BATS_TEST_TMPDIR/srv.err"
}

@test "socket: a shell handler sends one request and reads its result; the socket is mode 0660" {
	call_fake '{}'
	serve
	assert_equal "$(stat -c %a "$SOCK")" 660
	run sh -c 'printf "%s\n" "$1" | vk-call --connect "unix:$2"' sh \
		'{"id":"r1","method":"messages.send","params":{"peer_id":2000000002,"message":"pong"}}' "$SOCK"
	assert_success
	assert_output --regexp '^\{"id":"r1","response":[0-9]+\}$'
	# an error result: exit 1; a bad line is answered too
	run sh -c 'printf "%s\n" "{\"id\":2,\"method\":\"messages.send\",\"params\":{\"peer_id\":\"x\"}}" "oops" | vk-call --connect "unix:$1"' sh "$SOCK"
	assert_failure 1
	assert_line --partial '{"id":2,"error":{"error_code":100'
	assert_line '{"id":null,"error":{"error_code":-1,"error_msg":"line 2: not JSON: invalid literal at byte 1"}}'
}

@test "socket: a client that goes away early disturbs no one; SIGTERM answers what is queued, removes the socket" {
	call_fake '{"api_latency":0.2}'
	serve
	sends 50 gone > "$BATS_TEST_TMPDIR/in1"
	# reads nothing and closes at once
	vk-call --connect "unix:$SOCK" < "$BATS_TEST_TMPDIR/in1" | head -c 0
	sends 5 stay 9 | vk-call --connect "unix:$SOCK" > "$BATS_TEST_TMPDIR/out2"
	assert_equal "$(grep -c '"response"' "$BATS_TEST_TMPDIR/out2")" 5
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	vk-call --connect "unix:$SOCK" < "$BATS_TEST_TMPDIR/fifo" > "$BATS_TEST_TMPDIR/out3" &
	cli=$!
	exec 5> "$BATS_TEST_TMPDIR/fifo"
	before=$(http_requests)
	sends 3 late 11 >&5
	wait_until 10 more_requests_than "$before"
	kill -TERM "$SRV_PID"
	exec 5>&-
	wait "$cli"
	assert_equal "$(grep -c '"response"' "$BATS_TEST_TMPDIR/out3")" 3
	wait "$SRV_PID"
	SRV_PID=
	[ ! -e "$SOCK" ]
}

@test "socket: one server per path; a stale socket is taken over; no server: exit 3" {
	call_fake '{}'
	serve
	run vk-call --listen "unix:$SOCK"
	assert_failure 3
	assert_output --partial "another process listens there"
	kill -KILL "$SRV_PID"
	wait "$SRV_PID" || true
	[ -S "$SOCK" ]
	run sh -c 'echo "{\"id\":1,\"method\":\"users.get\"}" | vk-call --connect "unix:$1"' sh "$SOCK"
	assert_failure 3
	assert_output --partial "cannot connect"
	serve
	run sh -c 'echo "{\"id\":1,\"method\":\"users.get\",\"params\":{\"user_ids\":1}}" | vk-call --connect "unix:$1"' sh "$SOCK"
	assert_success
	assert_output --partial '"first_name":"Имя1"'
	: > "$BATS_TEST_TMPDIR/file"
	run vk-call --listen "unix:$BATS_TEST_TMPDIR/file"
	assert_failure 3
	assert_output --partial "not a socket"
	# --check says the same, and makes nothing
	run vk-call --check --listen "unix:$SOCK"
	assert_failure 3
	assert_output --partial "another process listens there"
	run vk-call --check --listen "unix:$BATS_TEST_TMPDIR/none/x.sock"
	assert_failure 3
	assert_output --partial "cannot create it"
	run vk-call --check --listen "unix:$BATS_TEST_TMPDIR/new.sock"
	assert_success
	[ ! -e "$BATS_TEST_TMPDIR/new.sock" ]
	VK_TOKEN= run vk-call --check --listen "unix:$BATS_TEST_TMPDIR/new.sock"
	assert_failure 3
}

@test "socket: error 5 answers every client's requests, and both sides exit 4" {
	call_fake '{}'
	export VK_TOKEN=not-the-token-xyz
	serve
	run sh -c 'sends() { i=0; while [ $i -lt 3 ]; do printf "{\"id\":%d,\"method\":\"messages.send\",\"params\":{\"peer_id\":5,\"message\":\"x\"}}\n" $i; i=$((i+1)); done; }; sends | vk-call --connect "unix:$1"' sh "$SOCK"
	assert_failure 4
	assert_equal "${#lines[@]}" 3
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -r .error.error_code | sort -u)" 5
	st=0
	wait "$SRV_PID" || st=$?
	assert_equal "$st" 4
	SRV_PID=
	[ ! -e "$SOCK" ]
	refute grep -q not-the-token-xyz "$BATS_TEST_TMPDIR/srv.err"
}

# hold N PATH: N connections to PATH, each holding a partial line, kept open
# until killed (pid in HOLD_PID); $BATS_TEST_TMPDIR/held counts those
# connected and still open, rewritten as it changes.
hold() {
	"$PYTHON" - "$1" "$2" "$BATS_TEST_TMPDIR/held" 3>&- <<'PY' &
import os, socket, sys, time
n, path, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
socks = []
def note():
    alive = 0
    for s in socks:
        try:
            alive += s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    with open(out + ".tmp", "w") as f:
        f.write("%d %d\n" % (len(socks), alive))
    os.rename(out + ".tmp", out)
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)	# blocking: waits in the backlog while the server is full
    s.sendall(b'{"id":"partial-%d","method":"messages.se' % i)
    socks.append(s)
note()
while True:
    time.sleep(0.2)
    note()
PY
	HOLD_PID=$!
}

connected_all() { [ -s "$BATS_TEST_TMPDIR/held" ] && [ "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/held")" -eq "$1" ]; }

# served_within SECONDS: one request through a new client gets its response in time.
served_within() {
	local t0=$EPOCHREALTIME
	run timeout -k 5 30 vk-call --connect "unix:$SOCK" <<<'{"id":"new","method":"messages.send","params":{"peer_id":2000000002,"message":"hi"}}'
	assert_success
	assert_output --regexp '^\{"id":"new","response":[0-9]+\}$'
	awk -v a="$t0" -v b="$EPOCHREALTIME" -v s="$1" 'BEGIN { exit !(b - a < s) }'
}

@test "socket: 600 clients holding a partial line lock no one out: a new client is served within 5 s" {
	call_fake '{}'
	serve
	hold 600 "$SOCK"
	wait_until 60 connected_all 600
	served_within 5
	# the 600 are still connected: a partial line is not dropped before --line-timeout
	assert_equal "$(cut -d' ' -f2 "$BATS_TEST_TMPDIR/held")" 600
}

@test "socket: out of descriptors (ulimit -n 64), 600 partial-line holders give way to new clients; a partial line times out with an error" {
	call_fake '{}'
	SOCK="$BATS_TEST_TMPDIR/call.sock"
	(ulimit -n 64 && exec vk-call --listen "unix:$SOCK" --line-timeout 3) 2> "$BATS_TEST_TMPDIR/srv.err" &
	SRV_PID=$!
	wait_until 10 vk-call --connect "unix:$SOCK" < /dev/null 2> /dev/null
	hold 600 "$SOCK"
	wait_until 60 connected_all 600
	served_within 5
	stop_pid "$HOLD_PID"
	# a client stalled inside a line gets its error result and is closed
	run timeout 20 "$PYTHON" - "$SOCK" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b'{"id":"ok","method":"messages.send","params":{"peer_id":5,"message":"a"}}\n{"id":"slow","meth')
t = time.time()
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
sys.stdout.write(data.decode())
print("closed after %.1f s" % (time.time() - t))
PY
	assert_success
	assert_line --regexp '^\{"id":"ok","response":[0-9]+\}$'
	assert_line '{"id":null,"error":{"error_code":-1,"error_msg":"line 2: incomplete after 3 s (--line-timeout)"}}'
	assert_line --regexp '^closed after [2-9]\.'
	kill -TERM "$SRV_PID"
	wait "$SRV_PID"
	SRV_PID=
}

@test "socket: a user who may not use the socket is told so (the permission), not 'is it running?'" {
	call_fake '{}'
	serve
	if [ "$(id -u)" = 0 ]; then	# root passes any mode: try as nobody
		chmod 711 "$BATS_TEST_TMPDIR"
		run setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$VKPIPE_BIN/vk-call" --connect "unix:$SOCK" < /dev/null
	else
		chmod 000 "$SOCK"	# connect(2) needs write permission on it
		run "$VKPIPE_BIN/vk-call" --connect "unix:$SOCK" < /dev/null
	fi
	assert_failure 3
	assert_output --partial "Permission denied"
	assert_output --partial "join that group"
	refute_output --partial "running?"
}
