#!/usr/bin/env bats
# vkpipe as a daemon: idle, its tree makes no process and takes no CPU;
# what it tells systemd (READY, STOPPING, WATCHDOG only while the source
# turns); one SIGTERM to vk-call; priorities under the journal; health
# marks; a full state directory named as such.

load helper
load lib-vkpipe

setup() {
	vkpipe_setup
	unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM VKPIPE_SOURCE VKPIPE_CALL_SOCKET
	STOPPED=
	MNT=
}

teardown() {
	[ -z "$STOPPED" ] || kill -CONT "$STOPPED" 2>/dev/null || true
	vkpipe_teardown
	notify_stop
	[ -z "$MNT" ] || umount "$MNT" 2>/dev/null || true
}

# quiet: a fake VK server with no updates: each long poll is held for its wait
quiet() {
	: > "$W/updates.ndjson"
	scenario "$W/updates.ndjson"
	: > "$W/api.log"
	fake_vk_start "$W/sc.json" "$W/api.log"
}

polled() { [ "$(grep -c a_check "$W/api.log")" -ge "$1" ]; }

@test "vkpipe idle: over 10 s its whole tree makes no process and takes no measurable CPU" {
	command -v strace > /dev/null || skip "strace is not installed"
	quiet
	start
	wait_until 20 polled 1
	pids=$(tree_pids "$PIPE_PID")
	[ "$(echo $pids | wc -w)" -eq 4 ]	# vkpipe and its three stages, nothing else
	t0=$(tree_ticks $pids)
	args=()
	for p in $pids; do args+=(-p "$p"); done
	# every fork, clone and exec in the tree, for 10 s
	timeout -s INT 10 strace -f -qq -e trace=fork,vfork,clone,clone3,execve \
		-o "$W/strace" "${args[@]}" 2> /dev/null || true
	t1=$(tree_ticks $pids)
	forks=$(grep -cE 'fork|clone' "$W/strace" || true)
	execs=$(grep -c 'execve' "$W/strace" || true)
	echo "# idle 10 s: forks $forks, execs $execs, CPU $((t1 - t0)) ticks of $((10 * $(getconf CLK_TCK)))" >&3
	assert_equal "$forks" 0
	assert_equal "$execs" 0
	# the shell supervisor took 130-300 ticks here; a few are strace's attaching
	[ $((t1 - t0)) -le 10 ]
	kill -0 "$PIPE_PID"
	stop
	assert_equal "$status" 0
}

@test "vkpipe under systemd: READY=1 once the stages run, WATCHDOG=1 while vk-poll polls, none while it is stopped, STOPPING=1" {
	quiet
	notify_start
	WATCHDOG_USEC=2000000 VKPIPE_POLL_ARGS="--wait 1" start
	wait_until 10 notified READY=1
	grep -q ' STATUS=running: community 42, vk-poll from ' "$W/notify"
	# systemd's channel is vkpipe's alone: no stage has it
	run ! grep -qaE 'NOTIFY_SOCKET|WATCHDOG_USEC' "/proc/$(stage_pid vk-route)/environ" \
		"/proc/$(stage_pid vk-poll)/environ"
	# the stages had started when READY came: their pid files were there
	wait_until 10 sh -c "[ \$(grep -c ' WATCHDOG=1\$' '$W/notify') -ge 3 ]"
	# vk-poll stuck: the pings stop within the interval (2 s) and a tick (1 s)
	STOPPED=$(stage_pid vk-poll)
	kill -STOP "$STOPPED"
	wait_until 10 grep_file "vk-poll has not turned for" "$W/err"
	n=$(pings)
	sleep 3	# the window in which no ping may come
	assert_equal "$(pings)" "$n"
	# it turns again: so do the pings
	kill -CONT "$STOPPED"
	STOPPED=
	wait_until 10 sh -c "[ \$(grep -c ' WATCHDOG=1\$' '$W/notify') -gt $n ]"
	stop
	assert_equal "$status" 0
	notified STOPPING=1
	assert_equal "$(grep -c ' STOPPING=1$' "$W/notify")" 1
	# nothing after it: no ping while the rest drains
	[ -z "$(sed -n '/ STOPPING=1$/,$p' "$W/notify" | grep WATCHDOG)" ]
}

@test "vkpipe under systemd, Callback API source: WATCHDOG=1 while vk-callback's loop turns, none while it is stopped" {
	notify_start
	export VKPIPE_SOURCE=callback VKPIPE_LISTEN=127.0.0.1:0 VK_CALLBACK_CONFIRM=c0de42
	WATCHDOG_USEC=2000000 "$VKPIPE" > "$W/out" 2> "$W/err" &
	PIPE_PID=$!
	wait_until 20 notified READY=1
	wait_until 10 sh -c "[ \$(grep -c ' WATCHDOG=1\$' '$W/notify') -ge 3 ]"
	[ -f "$W/state/vk-callback.alive" ]
	STOPPED=$(stage_pid vk-callback)
	kill -STOP "$STOPPED"
	wait_until 10 grep_file "vk-callback has not turned for" "$W/err"
	n=$(pings)
	sleep 3
	assert_equal "$(pings)" "$n"
	kill -CONT "$STOPPED"
	STOPPED=
	wait_until 10 sh -c "[ \$(grep -c ' WATCHDOG=1\$' '$W/notify') -gt $n ]"
	stop
	assert_equal "$status" 0
}

@test "vkpipe stopping with a handler connected to vk-call: vk-call gets one SIGTERM, after vk-route, and exits 0" {
	command -v strace > /dev/null || skip "strace is not installed"
	fake 5
	# a handler holding a connection to vk-call until its input ends
	cat > "$W/h.sh" <<'EOF2'
#!/bin/sh
exec python3 -c 'import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["VKPIPE_CALL_SOCKET"])
open(sys.argv[1], "w").close()
sys.stdin.read()' "$1"
EOF2
	chmod +x "$W/h.sh"
	printf '* -> exec:%s %s\n' "$W/h.sh" "$W/connected" > "$W/rules.conf"
	# (LeakSanitizer cannot run under ptrace: vk-call exits under strace)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	VKPIPE_RULES="$W/rules.conf" VKPIPE_CALL_SOCKET="$W/call.sock" VKPIPE_POLL_ARGS="--wait 1" \
		"$VKPIPE" > "$W/out" 2> "$W/err" &
	PIPE_PID=$!
	wait_until 20 test -e "$W/connected"
	call=$(stage_pid vk-call)
	strace -qq -e trace=none -e signal=SIGTERM -o "$W/call-signals" -p "$call" 2> /dev/null &
	wait_until 10 grep -q TracerPid:.*[1-9] "/proc/$call/status"
	stop
	assert_equal "$status" 0
	wait_until 10 gone "$call"
	assert_equal "$(grep -c 'SIGTERM' "$W/call-signals")" 1
	run ! grep -e 'vk-call ended' -e 'vk-call failed' "$W/err"
	grep -q '^vkpipe: stopped: SIGTERM; .*vk-call 0' "$W/err"
}

@test "vkpipe under the journal: every line of every stage carries its priority; one start and one stop line" {
	fake 30
	: > "$W/err"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$W/err") VKPIPE_POLL_ARGS="--wait 1" \
		"$VKPIPE" > "$W/out" 2>> "$W/err" &
	PIPE_PID=$!
	wait_until 20 all_stages_up
	wait_until 30 lines_at_least 30 "$W/out"
	kill -USR1 "$PIPE_PID"
	wait_until 10 grep_file "vk-route: stats:" "$W/err"
	wait_until 10 grep_file "vk-poll: stats:" "$W/err"
	kill -KILL "$(stage_pid vk-normalize)"
	wait "$PIPE_PID" && status=0 || status=$?
	PIPE_PID=
	assert_equal "$status" 1
	run grep -v '^<[346]>' "$W/err"
	assert_output ""
	grep -q '^<6>vkpipe: started: community 42, vk-poll from .*, 1 rule (built in)$' "$W/err"
	grep -q '^<6>vkpipe: SIGUSR1: every stage writes its statistics$' "$W/err"
	grep -q '^<3>vkpipe: vk-normalize was killed by signal 9; stopping the pipeline$' "$W/err"
	grep -q '^<6>vk-route: stats:' "$W/err"
	grep -q '^<6>vk-poll: stats: poll polls=' "$W/err"
	assert_equal "$(grep -c '^<6>vkpipe: stopped: a stage failed; after [0-9]* s, 1 of 3 stages failed' "$W/err")" 1
	# not the journal (a redirect after systemd's): lines as they were
	fake_vk_stop
	fake 5
	JOURNAL_STREAM=1:1 VKPIPE_STATE_DIR="$W/state2" VKPIPE_POLL_ARGS="--max-events 5 --wait 1" \
		run --separate-stderr "$VKPIPE"
	assert_success
	[[ "$stderr" == "vkpipe: started: "* ]]
	[[ "$stderr" != *"<"[0-9]">"* ]]
}

@test "vkpipe health: a quiet community keeps vk-poll's state file fresh with --ack; the image's HEALTHCHECK passes for both sources" {
	quiet
	VKPIPE_POLL_ARGS="--wait 1" start
	wait_until 20 test -f "$W/state/vk-poll.ts"
	# stopped, so that no poll refreshes the file before the check has seen it stale
	STOPPED=$(stage_pid vk-poll)
	kill -STOP "$STOPPED"
	touch -d '10 minutes ago' "$W/state/vk-poll.ts"
	cmd=$(sed -n '/^HEALTHCHECK/,/CMD/p' "$REPO_DIR/Dockerfile" | sed -n 's/.*CMD //p')
	run env VKPIPE_STATE_DIR="$W/state" sh -c "$cmd"
	assert_failure
	kill -CONT "$STOPPED"
	STOPPED=
	# the next empty poll (no event, nothing to acknowledge) refreshes it
	wait_until 10 env VKPIPE_STATE_DIR="$W/state" sh -c "$cmd"
	stop
	assert_equal "$status" 0
	# the Callback API source: vk-callback.alive
	rm -f "$W/state/vk-poll.ts"
	VKPIPE_SOURCE=callback VKPIPE_LISTEN=127.0.0.1:0 start_cb
	touch -d '10 minutes ago' "$W/state/vk-callback.alive"
	wait_until 10 env VKPIPE_SOURCE=callback VKPIPE_STATE_DIR="$W/state" sh -c "$cmd"
	stop
	run env VKPIPE_SOURCE=callback VKPIPE_STATE_DIR="$W/state" sh -c "$cmd"
	assert_success	# fresh for a while after the stop, as a restart needs
}

start_cb() {
	"$VKPIPE" > "$W/out" 2> "$W/err" &
	PIPE_PID=$!
	wait_until 20 test -f "$W/state/vk-callback.alive"
}

@test "vkpipe with the state directory's disk full: every event delivered, and the end names the real cause" {
	[ "$(id -u)" = 0 ] || skip "mounting a small file system needs root"
	MNT="$W/small"
	mkdir "$MNT"
	mount -t tmpfs -o size=64k tmpfs "$MNT" 2> /dev/null || { MNT=; skip "cannot mount a tmpfs here"; }
	export VKPIPE_STATE_DIR="$MNT"
	fake 40
	# the disk fills up
	dd if=/dev/zero of="$MNT/fill" bs=4k 2> /dev/null || true
	VKPIPE_POLL_ARGS="--max-events 40 --wait 1" run --separate-stderr "$VKPIPE"
	assert_failure 1
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_id)" "$(cat "$W/want")"
	[[ "$stderr" == *"vkpipe: vk-route ended with status 1: the state could not be saved in $MNT (No space left on device) (see above)"* ]]
	[[ "$stderr" != *"some lines were rejected or not delivered"* ]]
}
