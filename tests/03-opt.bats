#!/usr/bin/env bats
# common/opt.h: every number option of every program is parsed one way,
# and a bad one gets one message shape and exit status 2.

load helper

bad() { # expected-message program args...
	local want=$1
	shift
	run --separate-stderr "$@" </dev/null
	assert_equal "$status" 2
	assert_equal "$stderr" "$want"
}

@test "opt: a number out of range, or not one, names the option, the range and the value" {
	bad "vk-poll: --wait takes a whole number from 1 to 90, not '91'" vk-poll --group-id 42 --wait 91
	bad "vk-normalize: --rate takes a whole number from 1 to 1000, not '5x'" vk-normalize --rate 5x
	bad "vk-route: --queue takes a whole number from 1 to 1000000000, not '-1'" \
		vk-route --queue -1 -e '* -> stdout'
	bad "vk-route: --drain-timeout takes a number of seconds from 0 to 86400, not '1e3'" \
		vk-route --drain-timeout 1e3 -e '* -> stdout'
}

@test "opt: only the plain spelling of a number: no sign, space, leading zero or suffix" {
	for v in +5 ' 5' 05 5s '' 0x10 99999999999999999999; do
		bad "vk-poll: --wait takes a whole number from 1 to 90, not '$v'" \
			vk-poll --group-id 42 --wait "$v"
	done
	for v in .5 5. 0.5.1 -1; do
		bad "vk-route: --drain-timeout takes a number of seconds from 0 to 86400, not '$v'" \
			vk-route --drain-timeout "$v" -e '* -> stdout'
	done
}

@test "opt: the first bad option is the one reported, and nothing starts" {
	bad "vk-normalize: --tries takes a whole number from 1 to 100, not '0'" \
		vk-normalize --tries 0 --rate 0
	assert_equal "$output" ""
}
