#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Boot one of Debian's kernels under qemu (TCG) with this machine's root
# filesystem (read-only over 9p, writes to a tmpfs overlay) and run e2e
# test files inside it.
#
# Usage: tests/vm/kernel.sh KERNEL OUTDIR TEST...
#   KERNEL  a Debian kernel series: 6.1 takes the newest
#           linux-image-6.1.0-N-amd64-unsigned that apt knows
#   OUTDIR  where the results go: NAME.tap and NAME.rc per test,
#           console.log (the guest's serial console)
#   TEST    an e2e file's name without test_ and .sh (guard_attach), or
#           NAME:case_a,case_b for some of its cases (E2E_CASES)
# Everything comes from Debian packages through apt: qemu-system-x86,
# busybox-static, kmod (scripts/deps.sh installs them) and the kernel
# package, downloaded (apt-get download) and unpacked into
# build/vm/PACKAGE/ — never installed, the host's kernel and /boot do
# not change. The initramfs is made here from busybox and the package's
# 9p, virtio and overlay modules.
# Exit status: 0 when the guest ran and reported every test (whatever
# their results), 1 when the VM could not boot or did not finish.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
KERNEL=${1:?usage: tests/vm/kernel.sh KERNEL OUTDIR TEST...}
OUTDIR=${2:?usage: tests/vm/kernel.sh KERNEL OUTDIR TEST...}
shift 2
# seconds for the whole guest run: the boot, and 10 minutes per e2e file
# (TCG runs them 5 to 20 times slower than the host)
VM_TIMEOUT=${VM_TIMEOUT:-$((300 + 600 * $#))}
VM_MEM=${VM_MEM:-2048}
VM_CPUS=${VM_CPUS:-2}

die() {
	echo "vm: $*" >&2
	exit 1
}

# no result of an earlier run may pass for this one's
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
rm -f "$OUTDIR"/*.tap "$OUTDIR"/*.rc "$OUTDIR"/console.log "$OUTDIR"/qemu.log "$OUTDIR"/done

case $KERNEL in
*[!0-9.]* | "") die "KERNEL '$KERNEL' is not a version like 6.1" ;;
esac
for x in qemu-system-x86_64 busybox depmod modprobe apt-get dpkg-deb; do
	command -v "$x" >/dev/null || die "$x missing (scripts/deps.sh installs it)"
done
# busybox-static, not the dynamic busybox: it runs in the initramfs alone
BUSYBOX=/bin/busybox
case $(ldd "$BUSYBOX" 2>&1) in
*"not a dynamic"*) ;;
*) die "$BUSYBOX is not static (apt-get install busybox-static)" ;;
esac

# ---- the kernel package: the newest ABI of the series ----
pkg=$(apt-cache search --names-only "^linux-image-${KERNEL//./\\.}\.0-[0-9]+-amd64-unsigned\$" |
	awk '{print $1}' | sort -V | tail -1)
# offline: the newest one already unpacked
if [ -z "$pkg" ]; then
	pkg=$(find build/vm -maxdepth 1 -name "linux-image-$KERNEL.0-*-amd64-unsigned" -printf '%f\n' 2>/dev/null | sort -V | tail -1)
fi
[ -n "$pkg" ] || die "no linux-image-$KERNEL.0-N-amd64-unsigned package known to apt (apt-get update?)"
KDIR=$ROOT/build/vm/$pkg
KREL=${pkg#linux-image-}
KREL=${KREL%-unsigned}
if [ ! -e "$KDIR/.unpacked" ]; then
	echo "vm: fetching $pkg (apt-get download, unpacked into build/vm/)" >&2
	rm -rf "$KDIR"
	mkdir -p "$KDIR/deb"
	(cd "$KDIR/deb" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
		die "apt-get download $pkg failed"
	dpkg-deb -x "$KDIR"/deb/*.deb "$KDIR/root"
	rm -rf "$KDIR/deb"
	# the package ships no modules.dep (its postinst makes it)
	depmod -b "$KDIR/root" "$KREL"
	touch "$KDIR/.unpacked"
fi
VMLINUZ=$KDIR/root/boot/vmlinuz-$KREL
[ -r "$VMLINUZ" ] || die "$VMLINUZ missing"

# ---- the initramfs: busybox, /init, the modules to reach the root ----
INITRD=$KDIR/initrd.cpio.gz
if [ ! -e "$INITRD" ] || [ tests/vm/init -nt "$INITRD" ]; then
	stage=$(mktemp -d)
	mkdir -p "$stage"/{bin,dev,proc,sys,lower,tree,up,newroot,modules}
	cp "$BUSYBOX" "$stage/bin/busybox"
	ln -s busybox "$stage/bin/sh"
	cp tests/vm/init "$stage/init"
	chmod 0755 "$stage/init"
	# in load order, dependencies first
	: >"$stage/modules/order"
	for m in virtio_pci 9pnet_virtio 9p overlay; do
		modprobe -d "$KDIR/root" -S "$KREL" --show-depends "$m" |
			awk '$1 == "insmod" {print $2}' | while read -r ko; do
			b=$(basename "$ko")
			grep -qx "$b" "$stage/modules/order" && continue
			cp "$ko" "$stage/modules/$b"
			echo "$b" >>"$stage/modules/order"
		done
	done
	(cd "$stage" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
	rm -rf "$stage"
fi

# ---- the run ----
cp tests/vm/guest.sh "$OUTDIR/guest.sh"
{
	echo "ROOT=$ROOT"
	echo "KREL=$KREL"
	echo "MODULES=$KDIR/root/lib/modules/$KREL"
	echo "PORTIER=${PORTIER:-$ROOT/build/portier}"
	echo "TESTS='$*'"
	echo "VM_XTRACE=${VM_XTRACE:-}"
} >"$OUTDIR/env"

echo "vm: booting $pkg under qemu (TCG, $VM_CPUS CPUs, $VM_MEM MiB): $*" >&2
rc=0
timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 \
	-machine q35 -accel tcg,thread=multi -cpu max -smp "$VM_CPUS" -m "$VM_MEM" \
	-nographic -no-reboot -nodefaults -serial "file:$OUTDIR/console.log" \
	-kernel "$VMLINUZ" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init ptroot=$ROOT" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$ROOT,mount_tag=tree,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$OUTDIR,mount_tag=out,security_model=none,multidevs=remap" \
	</dev/null >"$OUTDIR/qemu.log" 2>&1 || rc=$?
if [ ! -e "$OUTDIR/done" ]; then
	if [ "$rc" -eq 124 ]; then
		echo "vm: the guest did not finish within $VM_TIMEOUT s" >&2
	else
		echo "vm: qemu exited $rc before the guest finished" >&2
	fi
	tail -30 "$OUTDIR/qemu.log" "$OUTDIR/console.log" >&2 2>/dev/null || true
	exit 1
fi
exit 0
