#!/usr/bin/env bats
# The Debian package: `make deb` (dpkg-buildpackage -us -uc -b, then
# lintian) in a copy of the tree; what the .deb holds; the systemd unit.

load helper

setup_file() {
	command -v dpkg-buildpackage > /dev/null || return 0
	D="$BATS_FILE_TMPDIR/build"
	mkdir -p "$D/src"
	tar -C "$REPO_DIR" --exclude=./.git --exclude=./bin --exclude=./bin-asan \
		--exclude='./build*' --exclude='./vkpipe*_*' -cf - . | tar -C "$D/src" -xf -
	make -C "$D/src" deb > "$D/log" 2>&1 && echo 0 > "$D/status" || echo $? > "$D/status"
	mkdir "$D/root"
	deb=$(ls "$D"/src/vkpipe_*_*.deb)
	dpkg-deb -x "$deb" "$D/root"
	dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' > "$D/files"
	dpkg-deb -e "$deb" "$D/control"
	export D
}

setup() {
	command -v dpkg-buildpackage > /dev/null ||
		skip "dpkg-buildpackage is missing (apt-get install dpkg-dev debhelper): no package test"
	D="$BATS_FILE_TMPDIR/build"
}

@test "deb: make deb builds vkpipe_VERSION_ARCH.deb, lintian clean at warning level" {
	cat "$D/log" | tail -n 20
	assert_equal "$(cat "$D/status")" 0
	version=$(sed -n 's/^VERSION[[:space:]]*=[[:space:]]*//p' "$REPO_DIR/Makefile")
	ls "$D/src/vkpipe_${version}_$(dpkg --print-architecture).deb"
	run grep -E '^[EW]: ' "$D/log"
	assert_failure
}

@test "deb: every program of tools/ in /usr/bin, every man page, the examples, the unit, the env file" {
	local t m
	for t in $(ls "$REPO_DIR/tools"); do
		grep -qx "/usr/bin/$t" "$D/files" || { echo "no /usr/bin/$t"; return 1; }
		[ -x "$D/root/usr/bin/$t" ]
	done
	for m in "$REPO_DIR"/man/*.[1-8]; do
		m=${m##*/}
		grep -qx "/usr/share/man/man${m##*.}/$m.gz" "$D/files" || { echo "no page $m"; return 1; }
	done
	grep -qx /usr/share/doc/vkpipe/examples/rules.conf.example "$D/files"
	for t in $(ls "$REPO_DIR/examples"); do
		grep -qx "/usr/share/doc/vkpipe/examples/$t" "$D/files"
	done
	grep -qx /lib/systemd/system/vkpipe.service "$D/files"
	grep -qx /etc/vkpipe/vkpipe.env "$D/files"
	grep -qx /etc/vkpipe/vkpipe.env "$D/control/conffiles"
	# the built programs run, and the example rules check out
	"$D/root/usr/bin/vk-route" --check -c "$D/root/usr/share/doc/vkpipe/examples/rules.conf.example"
	run "$D/root/usr/bin/vk-poll" --version
	assert_output --partial "vk-poll "
	# nothing else than what is listed here and in debian/
	run grep -v -e '^/usr/bin/' -e '^/usr/share/man/' -e '^/usr/share/doc/vkpipe/' \
		-e '^/lib/systemd/system/vkpipe.service$' -e '^/lib/systemd/system/vkpipe@.service$' \
		-e '^/etc/vkpipe/' -e '^/etc/logrotate.d/vkpipe$' -e '/$' "$D/files"
	assert_output ""
}

@test "deb: the package makes its system user; the unit runs as it, hardened, restarting but not on 2, 3, 4" {
	grep -q 'adduser --system --group' "$D/control/postinst"
	u="$D/root/lib/systemd/system/vkpipe.service"
	for want in User=vkpipe StateDirectory=vkpipe EnvironmentFile=/etc/vkpipe/vkpipe.env \
	    Restart=always 'RestartPreventExitStatus=2 3 4' 'ExecReload=/usr/bin/vkpipe --reload $MAINPID' \
	    Type=notify WatchdogSec=90 'ExecStartPre=+/usr/bin/vkpipe --check --env-file /etc/vkpipe/vkpipe.env' \
	    KillMode=mixed NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
	    ExecStart=/usr/bin/vkpipe WantedBy=multi-user.target; do
		grep -qxF -- "$want" "$u" || { echo "not in the unit: $want"; return 1; }
	done
}

@test "deb: systemd-analyze verify finds nothing wrong with the unit" {
	command -v systemd-analyze > /dev/null || skip "systemd-analyze is missing"
	# the unit as installed, but with the package's vkpipe where it is unpacked
	sed "s|/usr/bin/vkpipe|$D/root/usr/bin/vkpipe|" "$D/root/lib/systemd/system/vkpipe.service" \
		> "$BATS_TEST_TMPDIR/vkpipe.service"
	MANPATH="$D/root/usr/share/man" run systemd-analyze verify "$BATS_TEST_TMPDIR/vkpipe.service"
	assert_success
	assert_output ""
}

@test "deb: debian/control builds with the Makefile's BUILD_DEPS (less build-essential's)" {
	want=$(make -s -C "$REPO_DIR" print-build-deps | tr ' ' '\n' | grep -vx -e gcc -e libc6-dev -e make | sort)
	got=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$REPO_DIR/debian/control" | tr ',' '\n' |
		sed 's/^Build-Depends://; s/^[[:space:]]*//; s/[[:space:]]*$//' | grep -v -e '^debhelper-compat' -e '^[A-Z]' -e '^$' | sort)
	assert_equal "$got" "$want"
}

@test "deb: vkpipe@NAME, one per community: its env file, state and run directory; systemd-analyze verify" {
	command -v systemd-analyze > /dev/null || skip "systemd-analyze is missing"
	u="$D/root/lib/systemd/system/vkpipe@.service"
	for want in EnvironmentFile=/etc/vkpipe/%i.env StateDirectory=vkpipe/%i \
	    RuntimeDirectory=vkpipe/%i RuntimeDirectoryMode=0750 Group=vkpipe \
	    Environment=VKPIPE_STATE_DIR=/var/lib/vkpipe/%i WorkingDirectory=/var/lib/vkpipe/%i \
	    'ExecStartPre=+/usr/bin/vkpipe --check --env-file /etc/vkpipe/%i.env'; do
		grep -qxF -- "$want" "$u" || { echo "not in the template: $want"; return 1; }
	done
	# the run directory is the group's (handlers reach vk-call's socket there)
	grep -qx RuntimeDirectoryMode=0750 "$D/root/lib/systemd/system/vkpipe.service"
	sed "s|/usr/bin/vkpipe|$D/root/usr/bin/vkpipe|" "$u" > "$BATS_TEST_TMPDIR/vkpipe@two.service"
	MANPATH="$D/root/usr/share/man" run systemd-analyze verify "$BATS_TEST_TMPDIR/vkpipe@two.service"
	assert_success
	assert_output ""
}

@test "deb: Suggests jq (the examples); restarted after an upgrade; logrotate reloads through the check; purge keeps the rules' files" {
	grep -q '^Suggests:.*\<jq\>' "$D/control/control"
	# debhelper's restart after upgrade, and the instances
	grep -q 'deb-systemd-invoke.*restart' "$D/control/postinst" ||
		grep -q '_dh_action=.*restart' "$D/control/postinst"
	grep -q "try-restart" "$D/control/postinst"
	grep -qx /etc/logrotate.d/vkpipe "$D/control/conffiles"
	grep -q "systemctl reload vkpipe.service 'vkpipe@\*.service'" "$D/root/etc/logrotate.d/vkpipe"
	# purge (the script as written, its /var/lib/vkpipe a directory of the
	# test's): vkpipe's own state goes, for the instances too; outputs stay
	mkdir -p "$BATS_TEST_TMPDIR/lib/two" "$BATS_TEST_TMPDIR/lib/three"
	for d in "$BATS_TEST_TMPDIR/lib" "$BATS_TEST_TMPDIR/lib/two" "$BATS_TEST_TMPDIR/lib/three"; do
		: > "$d/vk-poll.ts"; : > "$d/vk-route.dedup"; : > "$d/vk-callback.alive"
	done
	echo '{}' > "$BATS_TEST_TMPDIR/lib/events.ndjson"
	echo '{}' > "$BATS_TEST_TMPDIR/lib/two/commands.ndjson"
	sed "s|/var/lib/vkpipe|$BATS_TEST_TMPDIR/lib|g; /#DEBHELPER#/d" "$REPO_DIR/debian/vkpipe.postrm" \
		> "$BATS_TEST_TMPDIR/postrm"
	sh "$BATS_TEST_TMPDIR/postrm" purge
	assert_equal "$(cd "$BATS_TEST_TMPDIR/lib" && find . | sort | tr '\n' ' ')" \
		". ./events.ndjson ./two ./two/commands.ndjson "
}
