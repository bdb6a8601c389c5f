#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Install what `make bench` needs beyond scripts/deps.sh: the baselines
# (nftables), the timer (hyperfine) and ethtool (GRO on the receiving veth).
# Idempotent and silent when everything is already there.
set -eu

PKGS="nftables hyperfine ethtool socat jq xdp-tools util-linux iproute2"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "bench deps: missing Debian packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "bench deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# shellcheck disable=SC2086
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	echo "bench deps: apt-get failed" >&2
	exit 1
fi
rm -f "$log"
