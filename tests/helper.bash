# helper.bash - loaded by every tests/NN-*.bats file.
# VKPIPE_BIN is where the programs under test are (bin/ or bin-asan/),
# VKPIPE_UNIT where the unit drivers are; `make check` sets both.
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$TESTS_DIR")"
FIXTURES="$TESTS_DIR/fixtures"
SAMPLES="$REPO_DIR/../shared/data/vk-samples"
: "${VKPIPE_BIN:=$REPO_DIR/bin}"
: "${VKPIPE_UNIT:=$REPO_DIR/build/unit}"
export PATH="$VKPIPE_BIN:$PATH"

# compact_sample NAME: a shared VK sample as one NDJSON line.
compact_sample() {
	jq -c . "$SAMPLES/$1"
}
