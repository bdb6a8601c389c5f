#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make image: the OCI image NAME:VERSION, built offline with podman (or
# buildah): FROM scratch, the binary as /usr/sbin/portier, exactly the
# shared libraries ldd names for it (the loader included) at their paths,
# and the empty directories a node agent mounts over (/etc/portier,
# /sys/fs/bpf, /proc, /tmp). The BPF objects are inside the binary
# (skeletons), so nothing else is needed. Nothing is pulled: scratch is no
# image, and the build runs no command in a container.
# Usage: scripts/image.sh BINARY VERSION NAME WORKDIR
# Leaves WORKDIR/image/files (the image's files, one path a line).
set -eu
BIN=$1
VERSION=$2
NAME=$3
WORK=$4/image

if command -v podman >/dev/null 2>&1; then
	ENGINE="podman build --pull=never --network=none"
elif command -v buildah >/dev/null 2>&1; then
	ENGINE="buildah bud --pull-never --network=none"
else
	echo "image: neither podman nor buildah is installed (scripts/deps.sh installs podman)" >&2
	exit 1
fi

rm -rf "$WORK"
mkdir -p "$WORK/rootfs/usr/sbin" "$WORK/rootfs/etc/portier" "$WORK/rootfs/sys/fs/bpf" \
	"$WORK/rootfs/proc" "$WORK/rootfs/tmp"
chmod 1777 "$WORK/rootfs/tmp"
install -m 0755 "$BIN" "$WORK/rootfs/usr/sbin/portier"
# "libx.so.1 => /lib/.../libx.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
libs=$(ldd "$BIN" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
[ -n "$libs" ] || { echo "image: ldd names no library for $BIN" >&2; exit 1; }
for lib in $libs; do
	mkdir -p "$WORK/rootfs$(dirname "$lib")"
	cp -L "$lib" "$WORK/rootfs$lib"
done
(cd "$WORK/rootfs" && find . -type f | sed 's|^\.||' | sort) >"$WORK/files"

cat >"$WORK/Containerfile" <<EOF
FROM scratch
COPY rootfs/ /
LABEL org.opencontainers.image.title="portier" \\
      org.opencontainers.image.description="kernel-accelerated port dispatcher (sk_lookup + XDP): load, apply --watch, exporter" \\
      org.opencontainers.image.version="$VERSION" \\
      org.opencontainers.image.licenses="GPL-2.0-only OR BSD-2-Clause"
ENTRYPOINT ["/usr/sbin/portier"]
CMD ["help"]
EOF
# shellcheck disable=SC2086
$ENGINE --quiet -t "$NAME:$VERSION" -f "$WORK/Containerfile" "$WORK" >/dev/null
echo "image: $NAME:$VERSION ($(wc -l <"$WORK/files") files: portier and $(echo "$libs" | wc -l) libraries)"
