#!/usr/bin/env bats
# vk-normalize as a Unix filter: files and stdin, options, exit statuses,
# adaptive buffering, a reader that goes away.

load helper

F="$FIXTURES/normalize"
GEN="$REPO_DIR/tests/bench/gen-updates.py"

msg() { printf '{"type":"message_new","event_id":"%s","object":{"message":{"from_id":1,"peer_id":1,"conversation_message_id":1,"text":"%s"}}}\n' "$1" "$2"; }

@test "io: files in order, '-' for stdin among them, line numbers per file" {
	msg a one > "$BATS_TEST_TMPDIR/1"
	{ echo 'bad'; msg c three; } > "$BATS_TEST_TMPDIR/3"
	run --separate-stderr vk-normalize "$BATS_TEST_TMPDIR/1" - "$BATS_TEST_TMPDIR/3" < <(msg b two)
	assert_failure 1
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_id | paste -sd,)" "a,b,c"
	assert_equal "$(printf '%s\n' "$stderr" | head -n 1)" "vk-normalize: $BATS_TEST_TMPDIR/3: line 1: not JSON: invalid literal at byte 1"
}

@test "io: a missing file is reported, the others are still read, exit 1" {
	msg a one > "$BATS_TEST_TMPDIR/1"
	run --separate-stderr vk-normalize "$BATS_TEST_TMPDIR/nope" "$BATS_TEST_TMPDIR/1"
	assert_failure 1
	assert_equal "$stderr" "vk-normalize: $BATS_TEST_TMPDIR/nope: No such file or directory"
	assert_equal "$(printf '%s\n' "$output" | jq -r .event_id)" "a"
}

@test "io: --help on stdout exits 0; a bad option gives the usage on stderr and exit 2" {
	run --separate-stderr vk-normalize --help
	assert_success
	assert_output --partial "usage: vk-normalize"
	assert_output --partial "--keep-unknown"
	assert_equal "$stderr" ""
	run --separate-stderr vk-normalize --bogus
	assert_failure 2
	assert_equal "$output" ""
	assert_equal "$(printf '%s\n' "$stderr" | grep -c '^usage: vk-normalize \[--offline\]')" 1
	run --separate-stderr vk-normalize --max-line 0
	assert_failure 2
	assert_equal "$stderr" "vk-normalize: --max-line takes a whole number from 1 to 1073741824, not '0'"
	run vk-normalize --version
	assert_success
	assert_output --regexp '^vk-normalize [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "io: an unwritable reject file is a configuration error (exit 3) before anything is read" {
	run --separate-stderr vk-normalize --reject /nonexistent/dir/rej < <(msg a one)
	assert_failure 3
	assert_equal "$output" ""
	assert_equal "$stderr" "vk-normalize: cannot open reject file /nonexistent/dir/rej: No such file or directory"
}

@test "io: a live pipe: each event comes out as soon as its line went in, while stdin stays open" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	vk-normalize < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" &
	pid=$!
	exec 7> "$BATS_TEST_TMPDIR/in"
	for i in 1 2 3; do
		msg "live$i" "hello" >&7
		# event i arrives while stdin is still open
		wait_until 10 lines_at_least "$i" "$BATS_TEST_TMPDIR/out"
		assert_equal "$(grep -c . "$BATS_TEST_TMPDIR/out")" "$i"
	done
	exec 7>&-
	wait "$pid"
	assert_equal "$(jq -r .event_id "$BATS_TEST_TMPDIR/out" | paste -sd,)" "live1,live2,live3"
}

@test "io: replaying a file writes in large blocks; --unbuffered writes each event at once" {
	command -v strace >/dev/null || skip "strace is not installed"
	python3 "$GEN" 3000 > "$BATS_TEST_TMPDIR/in"
	# LeakSanitizer cannot run under ptrace: no leak check for these two runs
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	strace -f -e trace=write -o "$BATS_TEST_TMPDIR/trace" vk-normalize "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" 2>/dev/null
	events=$(wc -l < "$BATS_TEST_TMPDIR/out")
	writes=$(grep -c '^[0-9]* *write(1,' "$BATS_TEST_TMPDIR/trace")
	[ "$events" -gt 2500 ]
	[ "$writes" -lt $((events / 50)) ]
	strace -f -e trace=write -o "$BATS_TEST_TMPDIR/trace" vk-normalize --unbuffered "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out2" 2>/dev/null
	assert_equal "$(grep -c '^[0-9]* *write(1,' "$BATS_TEST_TMPDIR/trace")" "$events"
	cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/out2"
}

@test "io: a reader that goes away (head) ends it quietly with status 0" {
	python3 "$GEN" 20000 > "$BATS_TEST_TMPDIR/in"
	run bash -c 'set -o pipefail; vk-normalize "$1" 2>"$2" | head -n 1 >/dev/null' _ "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/err"
	assert_success
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" ""
}

@test "io: a big replay loses nothing: one event per update, of every type, in input order" {
	python3 "$GEN" 20000 > "$BATS_TEST_TMPDIR/in"
	vk-normalize "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" 2>/dev/null
	jq -r .event_id "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/want"
	jq -r .event_id "$BATS_TEST_TMPDIR/out" | diff -u "$BATS_TEST_TMPDIR/want" -
}

@test "io: a token given as an argument is refused and never printed, abbreviated or not" {
	for opt in --token --tok; do
		run vk-normalize "$opt" secret-token-9f1e < /dev/null
		assert_failure 2
		refute_output --partial secret-token-9f1e
	done
}
