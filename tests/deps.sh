#!/bin/sh
# deps.sh PKG... - make sure the Debian packages vkpipe needs are installed.
# Installs what is missing when run as root (or through sudo without a
# password); otherwise prints the exact apt-get line and fails.
missing=
for p in "$@"; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "vkpipe: missing packages:$missing (this is not a Debian system; install their equivalents)" >&2
	exit 1
fi
if [ "$(id -u)" = 0 ]; then
	run=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	run=sudo
else
	echo "vkpipe: missing Debian packages; as root run:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "vkpipe: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
$run apt-get update -qq && $run apt-get install -y -qq $missing >/dev/null
