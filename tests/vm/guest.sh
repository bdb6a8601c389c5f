#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# PID 1 of the test VM, in the host's root filesystem (overlay): mount
# what a system has, make the kernel package's modules loadable, run the
# e2e test files named in /run/ptvm/env, one NAME.tap and NAME.rc each in
# /run/ptvm, then power off.
OUT=/run/ptvm
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
off() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 30
}
trap off EXIT
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
# what udev would make: bash's <(...) needs /dev/fd
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
# shellcheck source=/dev/null
. "$OUT/env"
# the package's modules where modprobe (and the kernel's request_module)
# looks for them
mkdir -p "/lib/modules/$KREL"
mount --bind "$MODULES" "/lib/modules/$KREL"
hostname ptvm
ip link set lo up
sysctl -qw kernel.panic_on_oops=1
echo "vm: kernel $(uname -r), tests: $TESTS"
export PORTIER
cd "$ROOT" || exit 1
for t in $TESTS; do
	name=${t%%:*}
	cases=
	[ "$name" != "$t" ] && cases=${t#*:}
	f=tests/e2e/test_$name.sh
	if [ ! -f "$f" ]; then
		echo "not ok 1 - no such e2e file $f" >"$OUT/$name.tap"
		echo 1 >"$OUT/$name.rc"
		continue
	fi
	echo "vm: $f ${cases:+($cases)}"
	start=$(date +%s)
	sel=
	for c in ${cases//,/ }; do sel="$sel case_${c#case_}"; done
	# VM_XTRACE=1: every command of the test, timed, in NAME.tap
	E2E_CASES=$sel PS4='+ ${EPOCHREALTIME} ' bash ${VM_XTRACE:+-x} "$f" >"$OUT/$name.tap" 2>&1
	echo $? >"$OUT/$name.rc"
	echo "vm: $f done in $(($(date +%s) - start)) s"
done
: >"$OUT/done"
