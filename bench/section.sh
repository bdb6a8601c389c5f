#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# One benchmark section, run by bench/run.sh under `timeout`: bench/section.sh NAME.
# Its namespaces and processes are removed by the EXIT trap, also when
# the timeout's TERM ends it.
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=bench/lib.sh
. bench/lib.sh
# shellcheck source=/dev/null
. "bench/$1.sh"
trap bench_cleanup EXIT
trap 'exit 143' TERM INT
BENCH_SECTION=$1
"bench_$1"
