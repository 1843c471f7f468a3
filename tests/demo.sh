#!/bin/sh
# demo.sh BIN - the quick start: the whole pipeline, vkpipe =
# vk-poll | vk-normalize | vk-route, against the fake VK server of the tests
# on 127.0.0.1, fed with a bundled sample of VK updates (real payloads
# captured by other VK libraries, and generated ones), routed by the
# example rules. No token, no network.
#
# However it ends (done, ^C, SIGTERM, the reader gone as in
# `make demo | head -1`), it stops what it started, waits for it, and
# removes its directory. DEMO_PIDS=FILE: the pids of what it starts are
# appended to FILE (for the tests, which check they are gone).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../bin}
repo=$(dirname "$here")
sample=$here/fixtures/demo/updates.ndjson
rules=$repo/tools/vkpipe/rules.conf
work=$(mktemp -d "${TMPDIR:-/tmp}/vkpipe-demo.XXXXXX")
fake='' pipe=''
cleanup() {
	set +e	# every step, whatever the one before said
	trap '' PIPE	# nothing is written from here on: no reader is needed
	for p in $pipe $fake; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE	# then the EXIT trap: SIGPIPE too, or head -1 leaves all behind
started() { [ -z "${DEMO_PIDS:-}" ] || echo "$1" >> "$DEMO_PIDS"; }

n=$(wc -l < "$sample")
printf '{"token":"demo-token","group_id":42,"batch":8,"updates_file":"%s"}\n' "$sample" > "$work/scenario.json"
python3 "$here/fake/fake-vk.py" "$work/scenario.json" --port-file "$work/port" > /dev/null &
fake=$!
started "$fake"
i=0
while [ ! -s "$work/port" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "demo: the fake VK server did not start" >&2; exit 1; }
	sleep 0.05
done
port=$(cat "$work/port")

PATH=$bin:$repo/tools/vkpipe:$PATH
VK_API_URL=http://127.0.0.1:$port/method
VK_TOKEN=demo-token VK_GROUP_ID=42
VKPIPE_STATE_DIR=$work/state VKPIPE_RULES=$rules
VKPIPE_POLL_ARGS="--max-events $n --wait 1"
export PATH VK_API_URL VK_TOKEN VK_GROUP_ID VKPIPE_STATE_DIR VKPIPE_RULES VKPIPE_POLL_ARGS

echo "vkpipe demo: $n VK updates from a fake VK server on 127.0.0.1:$port (no token, no network)"
echo "  \$ vkpipe        # vk-poll | vk-normalize | vk-route tools/vkpipe/rules.conf"
echo
echo "The rules:"
grep -v '^#' "$rules" | sed 's/^/  /'
echo
mkdir "$work/out"
status=0
(cd "$work/out" && exec vkpipe) 2> "$work/stderr" &
pipe=$!
started "$pipe"
wait "$pipe" || status=$?
pipe=

echo "What went where:"
for f in "$work"/out/*.ndjson; do
	[ -f "$f" ] || continue
	printf '  %-22s %3d events\n' "$(basename "$f")" "$(wc -l < "$f")"
	jq -r '"      \(.event_type | .[0:8])  \(.user.name // .user.uuid | tostring | .[0:28]): " +
		(if .message then .message.text | .[0:38]
		 elif .button then "pressed, payload \(.button.payload | tojson | .[0:30])"
		 else "reaction \(.reaction.rid // "removed") on message \(.reaction.cmid)" end)' "$f" | head -n 2
done
echo
echo "Events by type (an event can go to more than one file):"
cat "$work"/out/*.ndjson | sort -u | jq -r .event_type |
	sort | uniq -c | awk '{ printf "  %-9s %d\n", $2, $1 }'
echo
echo "What the programs said on stderr (vkpipe exit status $status):"
sed 's/^/  /' "$work/stderr"
echo "(The sample holds two bad lines on purpose: each is named with its line"
echo "number and reason, the stream goes on, and the exit status 1 says some"
echo "lines were rejected. Nothing is wrong with your set-up.)"
echo
echo "Each Event is one JSON line, names filled from the (fake) VK API:"
head -n 1 "$work/out/commands.ndjson" | sed 's/^/  /'
