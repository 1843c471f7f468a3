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

@test "install: the Dockerfile takes its package lists from the Makefile and runs vkpipe" {
	df="$REPO_DIR/Dockerfile"
	grep -q 'make -s print-build-deps' "$df"
	grep -q 'make -s print-run-deps' "$df"
	grep -q '^ENTRYPOINT \["vkpipe"\]$' "$df"
	grep -q '^FROM debian:bookworm-slim$' "$df"
	grep -q '^USER vkpipe$' "$df"
	! grep -qiE '^(ARG|ENV) +VK_TOKEN' "$df"
	# every runtime package the Makefile names exists in Debian's lists
	for p in $(make -s -C "$REPO_DIR" print-run-deps); do
		apt-cache show "$p" > /dev/null 2>&1 || dpkg -s "$p" > /dev/null
	done
}
