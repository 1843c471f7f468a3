#!/bin/sh
# demo.sh BIN - the quick start: a bundled sample of raw VK updates (real
# payloads captured by other VK libraries, plus generated ones) through
# vk-normalize, shown readably. No token, no network.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../bin}
sample=$here/fixtures/demo/updates.ndjson
out=${TMPDIR:-/tmp}/vkpipe-demo.$$
trap 'rm -f "$out" "$out.err"' EXIT

echo "vkpipe demo: $(wc -l < "$sample") raw VK updates from tests/fixtures/demo/updates.ndjson"
echo "  \$ vk-normalize --offline < updates.ndjson"
echo
status=0
"$bin/vk-normalize" --offline < "$sample" > "$out" 2> "$out.err" || status=$?

printf '%-9s %-13s %-11s %s\n' TYPE PEER USER WHAT
jq -r '[.event_type,
	(if .peer.cid then "chat \(.peer.cid)" else "dm \(.peer.bpid)" end),
	(.user.uuid | tostring),
	(if .message then (.message.text | .[0:40]) + (if .message.attachments != [] then "  [" + (.message.attachments | join(",")) + "]" else "" end)
	 elif .button then "button payload " + (.button.payload | tojson | .[0:40])
	 else "reaction \(.reaction.rid // "removed") on message \(.reaction.cmid)" end)]
	| @tsv' "$out" | awk -F '\t' '{ printf "%-9s %-13s %-11s %s\n", $1, $2, $3, $4 }'
echo
echo "Events by type:"
jq -r .event_type "$out" | sort | uniq -c | awk '{ printf "  %-9s %d\n", $2, $1 }'
echo
echo "What vk-normalize said on stderr (exit status $status):"
sed 's/^/  /' "$out.err"
echo
echo "Each Event is one JSON line, for instance:"
head -n 1 "$out" | sed 's/^/  /'
