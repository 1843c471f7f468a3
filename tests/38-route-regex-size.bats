#!/usr/bin/env bats
# vk-route: a regular expression that would take regcomp() gigabytes or
# minutes is refused when the rules are loaded (found by tests/fuzz/fuzz-rules).
load helper

# refused PATTERN MESSAGE: --check fails at once, exit 3, saying why.
refused() {
	run timeout 10 vk-route --check -e ".t =~ \"$1\" -> stdout"
	assert_failure 3
	assert_output "vk-route: -e:1:7: $2"
}

@test "stacked repetitions, deep nesting and huge expansions are refused at once, with what to do" {
	refused 'c*********************************************+****x' \
		"regular expression too costly to compile: a repetition of a repetition (such as ** or *+), which POSIX leaves undefined: write one"
	refused '((((((a)*)+)*)+)*)+' \
		"regular expression too costly to compile: repetitions nested more than 5 deep"
	refused '((a{99}){99}){99}' \
		"regular expression too large once its repetitions are expanded (more than 2000 atoms): simplify it"
	refused 'a{1,10000}' \
		"regular expression too large once its repetitions are expanded (more than 2000 atoms): simplify it"
	refused "$(printf 'a*%.0s' $(seq 1500))" \
		"regular expression too large once its repetitions are expanded (more than 2000 atoms): simplify it"
	# ordinary bounds and nesting still work
	run vk-route --check -e '.t =~ "^(a|b){100}[[:alpha:]]{3,}x{2,5}(y(z+)?)*$" -> stdout'
	assert_success
}
