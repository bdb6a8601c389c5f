#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# fake_build.sh PIN_DIR [BUILD_ID] [ABI]: rewrite config's build id (and ABI)
# in the pins, so that the next `portier load` sees "another build" (and,
# with an ABI, "another layout"). A test tool: it edits only config[0].
set -euo pipefail
dir=$1
build=${2:-0x0123456789abcdef}
abi=${3:-}
mapfile -t bytes < <(bpftool -j map dump pinned "$dir/config" | jq -r '.[0].value[]')
le64() { local v=$(($1)) i; for i in 0 1 2 3 4 5 6 7; do printf '0x%02x\n' $(((v >> (8 * i)) & 255)); done; }
mapfile -t b < <(le64 "$build")
for i in 0 1 2 3 4 5 6 7; do bytes[$((8 + i))]=${b[$i]}; done
if [ -n "$abi" ]; then
	for i in 0 1 2 3; do bytes[$i]=$(printf '0x%02x' $(((abi >> (8 * i)) & 255))); done
fi
bpftool map update pinned "$dir/config" key 0 0 0 0 value "${bytes[@]}"
