#!/usr/bin/env bats
# make install / uninstall with PREFIX and DESTDIR.

load helper

@test "install: programs, entrypoint, man pages and the example rules land under DESTDIR/PREFIX, and the pages render" {
	d="$BATS_TEST_TMPDIR/root"
	run make -s -C "$REPO_DIR" install DESTDIR="$d" PREFIX=/opt/vkpipe BIN="$VKPIPE_BIN"
	assert_success
	for f in bin/vk-poll bin/vk-normalize bin/vk-route bin/vkpipe; do
		[ -x "$d/opt/vkpipe/$f" ]
	done
	[ -f "$d/opt/vkpipe/share/vkpipe/rules.conf.example" ]
	"$d/opt/vkpipe/bin/vk-route" --check -c "$d/opt/vkpipe/share/vkpipe/rules.conf.example"
	for page in man1/vk-poll.1 man1/vk-normalize.1 man1/vk-route.1 man1/vkpipe.1 man5/vk-route.conf.5 man7/vk-event.7; do
		[ -f "$d/opt/vkpipe/share/man/$page" ]
		run env MANWIDTH=80 man -l "$d/opt/vkpipe/share/man/$page"
		assert_success
		assert_output --partial "SEE ALSO"
	done
	run env MANWIDTH=80 man -l "$d/opt/vkpipe/share/man/man1/vkpipe.1"
	assert_output --partial "vkpipe — run the VK events service"
	run make -s -C "$REPO_DIR" uninstall DESTDIR="$d" PREFIX=/opt/vkpipe
	assert_success
	assert_equal "$(find "$d" -type f | wc -l)" 0
}

@test "install: every man page lints clean" {
	run mandoc -Tlint -W warning "$REPO_DIR"/man/*.[1-8]
	assert_success
	assert_output ""
}

@test "install: the Dockerfile takes its package lists from the Makefile and runs vkpipe under tini" {
	df="$REPO_DIR/Dockerfile"
	grep -q 'make -s print-build-deps' "$df"
	grep -q 'make -s print-run-deps print-image-deps' "$df"
	grep -q '^ENTRYPOINT \["/usr/bin/tini", "--", "vkpipe"\]$' "$df"
	grep -q '^FROM debian:bookworm-slim$' "$df"
	grep -q '^USER vkpipe$' "$df"
	grep -q '^WORKDIR /var/lib/vkpipe$' "$df"
	grep -q '^HEALTHCHECK ' "$df"
	grep -q 'CMD .*find .*vk-poll.ts' "$df"
	run grep -qiE '^(ARG|ENV) +VK_TOKEN' "$df"
	assert_failure
	# every runtime package the Makefile names exists in Debian's lists
	for p in $(make -s -C "$REPO_DIR" print-run-deps print-image-deps); do
		apt-cache show "$p" > /dev/null 2>&1 || dpkg -s "$p" > /dev/null
	done
	# the build context leaves out the host's binaries and the history
	for d in .git bin build bin-asan build-asan; do
		grep -qx "$d" "$REPO_DIR/.dockerignore" || grep -qx "${d%%-*}-*" "$REPO_DIR/.dockerignore"
	done
}

@test "install: the image's health check passes on a fresh state file and fails on a stale one" {
	cmd=$(sed -n '/^HEALTHCHECK/,/CMD/p' "$REPO_DIR/Dockerfile" | sed -n 's/.*CMD //p')
	export VKPIPE_STATE_DIR="$BATS_TEST_TMPDIR"
	unset VKPIPE_SOURCE
	run sh -c "$cmd"
	assert_failure	# no state yet
	echo '{}' > "$BATS_TEST_TMPDIR/vk-poll.ts"
	run sh -c "$cmd"
	assert_success
	touch -d '10 minutes ago' "$BATS_TEST_TMPDIR/vk-poll.ts"
	run sh -c "$cmd"
	assert_failure
}
