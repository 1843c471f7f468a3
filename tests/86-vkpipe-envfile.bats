#!/usr/bin/env bats
# vkpipe --check --env-file: the file read exactly as systemd's
# EnvironmentFile= reads it (systemd 252), checked as the unit's user;
# vkpipe --reload: the rules checked before vk-route is told; the unit.

load helper
load lib-vkpipe

setup() {
	vkpipe_setup
	F="$W/vkpipe.env"
}

teardown() {
	vkpipe_teardown
}

# readme_env: the README's own env file, its paths under $W
readme_env() {
	mkdir -p "$W/etc"
	cp "$REPO_DIR/tools/vkpipe/rules.conf" "$W/etc/rules.conf"
	sed -n '/^    # \/etc\/vkpipe\/vkpipe.env$/,/^$/p' "$REPO_DIR/README.md" |
		sed -e 's/^    //' -e "s|/etc/vkpipe/|$W/etc/|g" > "$F"
	grep -q '^VK_TOKEN=' "$F"	# the block was found
	# what the unit sets beside it (Environment=), here under $W
	echo "VKPIPE_STATE_DIR=$W/state" >> "$F"
}

@test "vkpipe --check --env-file: the README's own env file checks out as systemd reads it; a # after a value does not" {
	readme_env
	run --separate-stderr env -u VK_TOKEN -u VK_GROUP_ID "$VKPIPE" --check --env-file "$F"
	assert_success
	[ ! -e "$W/state" ]
	# The trap the README fell into: the shell drops "# ..." after a value, systemd keeps it.
	sed -i "s|^VKPIPE_RULES=.*|VKPIPE_RULES=$W/etc/rules.conf     # examples: /usr/share/doc/vkpipe/examples/|" "$F"
	line=$(grep -n '^VKPIPE_RULES=' "$F" | cut -d: -f1)
	run --separate-stderr env -u VK_TOKEN -u VK_GROUP_ID "$VKPIPE" --check --env-file "$F"
	assert_failure 3
	[[ "$stderr" == *"vkpipe: $F:$line: VKPIPE_RULES's value goes on to '# examples: "*"systemd keeps a # after a value"* ]]
	[[ "$stderr" == *"vkpipe: $F:$line: VKPIPE_RULES: rules file $W/etc/rules.conf     # examples: /usr/share/doc/vkpipe/examples/ cannot be read"* ]]
	# ...which the shell's way of reading it does not see
	run env -u VK_TOKEN -u VK_GROUP_ID sh -c "set -a; . '$F'; set +a; exec '$VKPIPE' --check"
	assert_success
}

# value SYNTAX: the value systemd gives VK_GROUP_ID written as SYNTAX (shown
# by vkpipe's message for a group id that is not a number)
value() {
	printf 'VK_TOKEN=t0k3n\n%b' "$1" > "$F"
	run --separate-stderr "$VKPIPE" --check --env-file "$F"
	[ "$status" -eq 3 ] || { echo "status $status: $stderr"; return 1; }
	if [[ "$stderr" == *"VK_GROUP_ID is not set"* ]]; then
		got="(unset)"
	else
		got=${stderr#*not \'}
		got=${got%\'}
	fi
}

@test "vkpipe --check --env-file: comments, quotes, escapes and continuation lines as systemd 252 reads them" {
	value 'VK_GROUP_ID=42 # a note\n';		assert_equal "$got" "42 # a note"
	value 'VK_GROUP_ID=  a  b  \n';			assert_equal "$got" "a  b"
	value '  VK_GROUP_ID  =  x\n';			assert_equal "$got" "x"
	value 'VK_GROUP_ID="4 2"\n';			assert_equal "$got" "4 2"
	value 'VK_GROUP_ID="a\\"b\\\\c\\d\\$e"\n';	assert_equal "$got" 'a"b\c\d$e'
	# after a quoted part, unquoted text is added on; a quote inside it is kept
	value "VK_GROUP_ID='a\\\\b'c\"d\"\n";		assert_equal "$got" 'a\bc"d"'
	value 'VK_GROUP_ID=a\\ b\\#c\n';		assert_equal "$got" "a b#c"
	value 'VK_GROUP_ID=4\\\n2x\n';			assert_equal "$got" "42x"
	value 'VK_GROUP_ID="4\\\n2y"\n';		assert_equal "$got" "42y"
	value '#VK_GROUP_ID=1\n;VK_GROUP_ID=2\n';	assert_equal "$got" "(unset)"
	value 'VK_GROUP_ID\n';				assert_equal "$got" "(unset)"
	# systemd 252: a comment ending in a backslash goes on to the next line
	value '# note \\\nVK_GROUP_ID=7x\n';		assert_equal "$got" "(unset)"
	value 'VK_GROUP_ID=1\nVK_GROUP_ID=2z';		assert_equal "$got" "2z"
	# CR is a line end too; a good value passes
	printf 'VK_TOKEN=t0k3n\r\nVK_GROUP_ID=42\r\nVKPIPE_STATE_DIR="%s/state"\r\n' "$W" > "$F"
	run --separate-stderr "$VKPIPE" --check --env-file "$F"
	assert_success
	# a name systemd ignores is named
	printf 'VK_TOKEN=t0k3n\nVK_GROUP_ID=42\nVKPIPE_STATE_DIR=%s/state\n1BAD=x\n' "$W" > "$F"
	run --separate-stderr "$VKPIPE" --check --env-file "$F"
	assert_success
	[[ "$stderr" == *"$F:4: '1BAD' is not a variable name: systemd ignores the line"* ]]
}

@test "vkpipe --check --env-file: the file's variables alone, not the caller's; an unquoted value with a space is one value" {
	printf 'VK_TOKEN=t0k3n\nVK_GROUP_ID=42\nVKPIPE_STATE_DIR=%s/state\n' "$W" > "$F"
	VK_GROUP_ID=club42 VKPIPE_DEDUP=lots run --separate-stderr "$VKPIPE" --check --env-file "$F"
	assert_success
	# valid for systemd, one value: vk-route is given --spill /nonexistent (the shell would run it)
	printf 'VKPIPE_ROUTE_ARGS=--spill %s/none\n' "$W" >> "$F"
	run --separate-stderr "$VKPIPE" --check --env-file "$F"
	assert_failure 3
	[[ "$stderr" == *"vk-route does not accept its settings (see above); nothing was started (its settings: "*"VKPIPE_ROUTE_ARGS)"* ]]
	run --separate-stderr "$VKPIPE" --check --env-file "$W/none.env"
	assert_failure 3
	[[ "$stderr" == "vkpipe: cannot read the environment file $W/none.env: No such file or directory" ]]
	run --separate-stderr "$VKPIPE" --env-file "$F"
	assert_failure 2
}

@test "vkpipe --check --user: checked as that user, after the env file is read as root" {
	[ "$(id -u)" = 0 ] || skip "checking as another user needs root"
	id nobody > /dev/null 2>&1 || skip "no user nobody"
	mkdir -m 700 "$W/private"
	printf 'VK_TOKEN=t0k3n\nVK_GROUP_ID=42\nVKPIPE_STATE_DIR=%s/private/state\n' "$W" > "$F"
	chmod 600 "$F"	# as /etc/vkpipe/vkpipe.env: root's
	run --separate-stderr "$VKPIPE" --check --env-file "$F"
	assert_success
	run --separate-stderr "$VKPIPE" --check --env-file "$F" --user nobody
	assert_failure 3
	assert_equal "$stderr" "vkpipe: $F:3: VKPIPE_STATE_DIR: state directory $W/private/state is not writable: set VKPIPE_STATE_DIR or mount a volume there"
	run --separate-stderr "$VKPIPE" --check --user no-such-user-here
	assert_failure 3
	[[ "$stderr" == "vkpipe: --user no-such-user-here: no such user"* ]]
}

@test "vkpipe --reload PID: good rules reach vk-route (SIGHUP); bad ones fail visibly and the old rules stay" {
	fake 10
	echo "* -> file:$W/a.ndjson" > "$W/rules.conf"
	export VKPIPE_RULES="$W/rules.conf" VKPIPE_POLL_ARGS="--wait 1"
	"$VKPIPE" > "$W/out" 2> "$W/err" &
	PIPE_PID=$!
	wait_until 20 all_stages_up
	wait_until 30 lines_at_least 10 "$W/a.ndjson"
	echo '.event_type == -> stdout' > "$W/rules.conf"
	run --separate-stderr "$VKPIPE" --reload "$PIPE_PID"
	assert_failure 3
	[[ "$stderr" == *"vk-route: $W/rules.conf:1:"* ]]
	[[ "$stderr" == *"vkpipe: not reloaded: the service keeps the rules it runs with" ]]
	run ! grep -q SIGHUP "$W/err"
	echo "* -> file:$W/b.ndjson" > "$W/rules.conf"
	run --separate-stderr "$VKPIPE" --reload "$PIPE_PID"
	assert_success
	wait_until 10 grep_file "vk-route: rules reloaded: 1 rule" "$W/err"
	kill -TERM "$PIPE_PID"
	wait "$PIPE_PID"
	PIPE_PID=
}

@test "vkpipe.service: Type=notify, a watchdog, the env file checked before the start, the rules before a reload; systemd-analyze verify" {
	u="$REPO_DIR/debian/vkpipe.service"
	for want in Type=notify WatchdogSec= \
	    "ExecStartPre=+/usr/bin/vkpipe --check --env-file /etc/vkpipe/vkpipe.env" \
	    'ExecReload=/usr/bin/vkpipe --reload $MAINPID' EnvironmentFile=/etc/vkpipe/vkpipe.env; do
		grep -qF -- "$want" "$u" || { echo "missing: $want"; return 1; }
	done
	command -v systemd-analyze > /dev/null || skip "systemd-analyze is not installed"
	sed "s|/usr/bin/vkpipe|$VKPIPE_BIN/vkpipe|" "$u" > "$W/vkpipe.service"
	run systemd-analyze verify "$W/vkpipe.service"
	echo "$output"
	run ! grep -i -e 'unknown' -e 'invalid' -e 'failed to parse' <<<"$output"
}
