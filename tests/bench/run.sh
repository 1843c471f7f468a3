#!/bin/sh
# run.sh BIN - run every benchmark in tests/bench/ (bench-*.sh) against the
# programs in BIN. Benchmarks print numbers; they assert nothing.
here=$(dirname "$0")
bin=${1:-$(cd "$here/../.." && pwd)/bin}
status=0
for b in "$here"/bench-*.sh; do
	[ -f "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	sh "$b" "$bin" || status=1
	echo
done
exit $status
