# helper.bash - loaded by every tests/NN-*.bats file.
# VKPIPE_BIN is where the programs under test are (bin/ or bin-asan/),
# VKPIPE_UNIT where the unit drivers are; `make check` sets both.
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$TESTS_DIR")"
FIXTURES="$TESTS_DIR/fixtures"
SAMPLES="$FIXTURES/vk-samples"	# real VK payloads, sources in its README.md
: "${VKPIPE_BIN:=$REPO_DIR/bin}"
: "${VKPIPE_UNIT:=$REPO_DIR/build/unit}"
export PATH="$VKPIPE_BIN:$PATH"

# compact_sample NAME: a VK sample as one NDJSON line.
compact_sample() {
	jq -c . "$SAMPLES/$1"
}

# Debian's python3 (TEST_DEPS) when there, rather than a slower shim first in PATH.
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3

# wait_until SECONDS COMMAND...: run COMMAND until it succeeds; after SECONDS
# of wall-clock time (however slow each try is on a busy machine) give up:
# a line on stderr, status 1. Never a fixed sleep as synchronisation.
wait_until() {
	local end=$((${EPOCHREALTIME/[.,]/} + $1 * 1000000))
	shift
	until "$@"; do
		if [ "${EPOCHREALTIME/[.,]/}" -ge "$end" ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

# lines_at_least N FILE: FILE has N lines or more.
lines_at_least() {
	[ -f "$2" ] && [ "$(wc -l <"$2")" -ge "$1" ]
}

# grep_file PATTERN FILE: FILE has a line matching PATTERN.
grep_file() {
	[ -f "$2" ] && grep -q -- "$1" "$2"
}

# gone PID: the process has exited (a zombie not reaped yet counts as gone).
gone() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "${st%% *}" = Z ]
}

# stop_pid PID...: SIGTERM, then wait (10 s at most) until each is gone.
stop_pid() {
	local p
	for p in "$@"; do
		kill "$p" 2>/dev/null || continue
		wait_until 10 gone "$p"
	done
}

# ids [FILE...]: the event_id of each line of the FILEs (or stdin), on one
# line, space-separated; a vk-poll gap marker shows as gap:REASON:FROM:TO.
ids() {
	jq -r 'if .type == "vkpipe_gap" then "gap:\(.reason):\(.from_ts):\(.to_ts)"
	    else .event_id end' "$@" | paste -sd' ' -
}

# fake_vk_start SCENARIO [LOG]: start tests/fake/fake-vk.py (loopback, a port of
# its choosing) and wait (10 s at most) until it listens. Its port and pid
# files are in $FAKE_DIR (default $BATS_TEST_TMPDIR); requests go to LOG.
# Sets FAKE_PID, FAKE_PORT and API_URL (exported as VK_API_URL too).
fake_vk_start() {
	local d=${FAKE_DIR:=$BATS_TEST_TMPDIR}
	rm -f "$d/fake.port"
	"$PYTHON" "$TESTS_DIR/fake/fake-vk.py" "$1" --port-file "$d/fake.port" \
		${2:+--log "$2"} >/dev/null 2>"$d/fake.err" 3>&- &
	FAKE_PID=$!
	echo "$FAKE_PID" >"$d/fake.pid"
	wait_until 10 fake_vk_settled "$d"
	if [ ! -s "$d/fake.port" ]; then
		echo "fake-vk.py did not start:" >&2
		cat "$d/fake.err" >&2
		return 1
	fi
	FAKE_PORT=$(cat "$d/fake.port")
	API_URL="http://127.0.0.1:$FAKE_PORT/method"
	export VK_API_URL="$API_URL"
}

# fake_vk_settled DIR: the fake listens (its port file is there) or died.
fake_vk_settled() {
	[ -s "$1/fake.port" ] || gone "$(cat "$1/fake.pid")"
}

# fake_vk_running: the fake of $FAKE_DIR is up.
fake_vk_running() {
	[ -s "${FAKE_DIR:-$BATS_TEST_TMPDIR}/fake.port" ] &&
		! gone "$(cat "${FAKE_DIR:-$BATS_TEST_TMPDIR}/fake.pid")"
}

# fake_vk_stop: stop the fake of $FAKE_DIR and wait until it is gone, so
# that no test leaves a server behind.
fake_vk_stop() {
	local d=${FAKE_DIR:-$BATS_TEST_TMPDIR}
	[ -s "$d/fake.pid" ] || return 0
	stop_pid "$(cat "$d/fake.pid")"
	rm -f "$d/fake.pid" "$d/fake.port"
}
