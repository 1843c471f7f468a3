#!/usr/bin/env bats
# Differential test: vk-normalize and the contract written as a jq program
# (tests/bench/normalize.jq) agree byte for byte on generated updates.

load helper

GEN="$REPO_DIR/tests/bench/gen-updates.py"
JQ="$REPO_DIR/tests/bench/normalize.jq"

@test "jq agrees: 4000 generated updates, two seeds, byte for byte" {
	for seed in 1 2; do
		python3 "$GEN" 2000 "$seed" > "$BATS_TEST_TMPDIR/in"
		vk-normalize "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/ours" 2>/dev/null
		jq -c -f "$JQ" "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/theirs"
		[ "$(wc -l < "$BATS_TEST_TMPDIR/ours")" -gt 1800 ]
		cmp "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/theirs"
	done
}

@test "jq agrees on the hand-written contract cases too (but for what jq 1.6 cannot read: ints beyond 2^53, lone surrogates; and where jq re-spells a number or DEL)" {
	grep -v '9007199254740993' "$FIXTURES/normalize/contract.in.ndjson" | grep -v '"legacy1"' | grep -v failed | grep -v 'lone surrogate' | grep -v -e '"e13"' -e '"b4"' > "$BATS_TEST_TMPDIR/in"
	vk-normalize "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/ours" 2>/dev/null
	jq -c -f "$JQ" "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/theirs"
	diff -u "$BATS_TEST_TMPDIR/theirs" "$BATS_TEST_TMPDIR/ours"
}

@test "jq agrees on the additions: date, payload, action, cmid null, commands after a mention (but the bad lines and a lone surrogate)" {
	grep -v -e '"k4"' -e '"m99"' -e '"y9"' "$FIXTURES/normalize/additions.in.ndjson" > "$BATS_TEST_TMPDIR/in"
	vk-normalize "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/ours" 2>/dev/null
	jq -c -f "$JQ" "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/theirs"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/ours")" -eq 36 ]
	diff -u "$BATS_TEST_TMPDIR/theirs" "$BATS_TEST_TMPDIR/ours"
}

@test "jq agrees on every other VK type (contract v3): 4000 generated updates with odd actors, two seeds" {
	for seed in 1 2; do
		python3 "$REPO_DIR/tests/gen-types.py" 2000 "$seed" > "$BATS_TEST_TMPDIR/in"
		vk-normalize "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/ours"
		jq -c -f "$JQ" "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/theirs"
		[ "$(wc -l < "$BATS_TEST_TMPDIR/ours")" -eq 2000 ]
		# the generator's odd cases are there: null users, null peers, no event_id
		[ "$(jq -c 'select(.user == null)' "$BATS_TEST_TMPDIR/ours" | wc -l)" -gt 100 ]
		[ "$(jq -c 'select(.peer != null)' "$BATS_TEST_TMPDIR/ours" | wc -l)" -gt 100 ]
		[ "$(jq -c 'select(.event_id == null)' "$BATS_TEST_TMPDIR/ours" | wc -l)" -gt 10 ]
		cmp "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/theirs"
	done
}

@test "jq agrees on the golden v3 fixtures: each of VK's types, and the odd ones (but int64's largest, beyond jq's doubles)" {
	cat "$FIXTURES/normalize/types.in.ndjson" "$FIXTURES/normalize/types-edge.in.ndjson" |
		grep -v '"x19"' > "$BATS_TEST_TMPDIR/in"
	vk-normalize "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/ours" 2>/dev/null || true
	jq -c -f "$JQ" "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/theirs"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/ours")" -eq 79 ]
	diff -u "$BATS_TEST_TMPDIR/theirs" "$BATS_TEST_TMPDIR/ours"
}
