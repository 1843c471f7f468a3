# lib-vkpipe.bash - loaded by the tests/8x-vkpipe*.bats files, after helper:
# vkpipe against the fake VK server, each run's files under the test's
# directory (TMPDIR, so vkpipe's run directory and its pid files too).

VKPIPE="$VKPIPE_BIN/vkpipe"

vkpipe_setup() {
	W="$BATS_TEST_TMPDIR"
	export TMPDIR="$W"
	export VKPIPE_STATE_DIR="$W/state" VK_GROUP_ID=42 VK_TOKEN=entry-token-77
	unset VK_TOKEN_FILE VKPIPE_RULES VKPIPE_REDIS_URL VKPIPE_AMQP_URL VKPIPE_POLL_ARGS \
		VKPIPE_NORMALIZE_ARGS VKPIPE_ROUTE_ARGS VKPIPE_DEDUP VK_API_URL \
		VKPIPE_BACKOFF_MS RUNTIME_DIRECTORY
	PIPE_PID=
}

vkpipe_teardown() {
	[ -z "$PIPE_PID" ] || kill -9 "$PIPE_PID" 2>/dev/null || true
	# the stages of a run that a test left behind (none, if vkpipe works)
	for f in "$W"/vkpipe.*/*.pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
	done
	fake_vk_stop
}

# gen N FILE: N generated raw updates
gen() {
	python3 "$REPO_DIR/tests/bench/gen-updates.py" "$1" 9 > "$2"
}

# scenario UPDATES_FILE [BATCH]: (re)write the fake's scenario; the fake
# starts afresh with it at its next request
scenario() {
	printf '{"token":"entry-token-77","group_id":42,"batch":%s,"updates_file":"%s"}\n' \
		"${2:-50}" "$1" > "$W/sc.tmp"
	mv "$W/sc.tmp" "$W/sc.json"
}

# fake N [BATCH]: serve N generated updates; $W/want: their Events' ids.
fake() {
	gen "$1" "$W/updates.ndjson"
	scenario "$W/updates.ndjson" "${2:-50}"
	: > "$W/api.log"
	fake_vk_start "$W/sc.json" "$W/api.log"
	vk-normalize --offline "$W/updates.ndjson" 2>/dev/null | jq -r .event_id > "$W/want"
}

# stage_pid NAME: the pid of a stage of the running vkpipe (its pid file)
stage_pid() {
	local f
	for f in "$W"/vkpipe.*/"$1.pid"; do
		[ -s "$f" ] && cat "$f" && return 0
	done
	return 1
}

# all_stages_up: the three stages have written their pid files
all_stages_up() {
	stage_pid vk-poll > /dev/null && stage_pid vk-normalize > /dev/null &&
		stage_pid vk-route > /dev/null
}

# start: vkpipe in the background, stdout to $W/out, stderr to $W/err;
# returns once its three stages run.
start() {
	"$VKPIPE" > "$W/out" 2> "$W/err" &
	PIPE_PID=$!
	wait_until 20 all_stages_up
}

# stop: SIGTERM, and vkpipe's exit status in $status
stop() {
	kill -TERM "$PIPE_PID"
	wait "$PIPE_PID" && status=0 || status=$?
	PIPE_PID=
}

# all_gone PID...: none of them runs any more
all_gone() {
	local p
	for p in "$@"; do
		gone "$p" || return 1
	done
}

# notify_start: a socket of the test's own as NOTIFY_SOCKET; what vkpipe
# tells systemd goes to $W/notify, one "TIME ASSIGNMENT" line each.
notify_start() {
	"$PYTHON" "$TESTS_DIR/fake/notify.py" "$W/notify.sock" "$W/notify" 3>&- &
	NOTIFY_PID=$!
	echo "$NOTIFY_PID" > "$W/notify.pid"
	wait_until 10 grep_file LISTENING "$W/notify"
	export NOTIFY_SOCKET="$W/notify.sock"
}

notify_stop() {
	[ -s "$W/notify.pid" ] || return 0
	stop_pid "$(cat "$W/notify.pid")"
	rm -f "$W/notify.pid"
}

# notified ASSIGNMENT: vkpipe has sent it
notified() { grep -q " $1\$" "$W/notify" 2>/dev/null; }

# pings: how many WATCHDOG=1 came so far
pings() { grep -c ' WATCHDOG=1$' "$W/notify" 2>/dev/null || true; }

# tree_pids PID: PID and its descendants, one line
tree_pids() {
	local all=" $1 " changed=1 s line p pp rest
	while [ "$changed" = 1 ]; do
		changed=0
		for s in /proc/[0-9]*/stat; do
			{ read -r line < "$s"; } 2>/dev/null || continue
			p=${line%% *}
			rest=${line##*) }
			set -- $rest
			pp=$2
			case "$all" in *" $pp "*)
				case "$all" in *" $p "*) ;; *) all="$all$p "; changed=1 ;; esac ;;
			esac
		done
	done
	echo $all
}

# tree_ticks PID...: CPU clock ticks used by them and their reaped children
tree_ticks() {
	local t=0 p line rest
	for p in "$@"; do
		{ read -r line < "/proc/$p/stat"; } 2>/dev/null || continue
		rest=${line##*) }
		set -- $rest
		t=$((t + ${12} + ${13} + ${14} + ${15}))
	done
	echo "$t"
}
