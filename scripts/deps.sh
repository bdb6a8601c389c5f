#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Install what portier needs to build, test and demo on Debian (qemu,
# busybox-static and kmod boot Debian's other kernels for make test-kernel).
# Idempotent and silent when everything is already there.
set -eu

PKGS="clang llvm make gcc pkg-config libbpf-dev libxdp-dev bpftool libelf-dev ethtool
zlib1g-dev libjson-c-dev libcmocka-dev iproute2 socat curl dnsutils
netcat-openbsd tmux jq xdp-tools libmicrohttpd-dev libncurses-dev prometheus
python3 python3-scapy python3-yaml man-db util-linux valgrind strace qemu-system-x86
busybox-static kmod nettle-dev podman"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# shellcheck disable=SC2086
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	echo "deps: apt-get failed" >&2
	exit 1
fi
rm -f "$log"
