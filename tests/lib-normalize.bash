# lib-normalize.bash - shared by tests/1*-normalize*.bats that run online:
# the fake VK API and what reached it. `load lib-normalize` after helper,
# with TOKEN set.

# fake SCENARIO_JSON: the fake VK API, its requests logged in $LOG.
fake() {
	printf '%s\n' "$1" > "$BATS_TEST_TMPDIR/sc.json"
	LOG="$BATS_TEST_TMPDIR/api.log"
	: > "$LOG"
	fake_vk_start "$BATS_TEST_TMPDIR/sc.json" "$LOG"
	export VK_TOKEN="$TOKEN"
}

# requests METHOD: how many calls of METHOD reached the fake, inside execute or not
requests() { jq -r '.calls[]? // .endpoint' "$LOG" | grep -c -x -- "$1" || true; }
# param METHOD KEY: that parameter of each call of METHOD, one a line
param() { jq -r --arg m "$1" --arg k "$2" '[.calls, .call_params] | transpose | .[] | select(.[0] == $m) | .[1][$k]' "$LOG"; }
