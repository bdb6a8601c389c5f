#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make image: the OCI image, built offline by podman (or buildah) from this
# build. Its configuration (entry point, labels) and its files (the binary
# and exactly the libraries ldd names) are checked; then the image runs
# load, apply, apply --watch, exporter, status, dump and unload. Where
# `podman run` works it runs them; where it does not (this sandbox: crun
# cannot set RLIMIT_NPROC without CAP_SYS_RESOURCE) they run from the
# image's exported root filesystem, chrooted inside a fresh mount and
# network namespace with /proc, /sys and a bpffs of its own. The TAP
# output says which.
. "$(dirname "$0")/lib.sh"

ENGINE=
command -v buildah >/dev/null 2>&1 && ENGINE=buildah
command -v podman >/dev/null 2>&1 && ENGINE=podman
VERSION=$("$PORTIER" --json version | jq -r .version)
NAME=localhost/portier-e2e-$$

# The commands run inside the image's root filesystem ($1), from a fresh
# mount and network namespace. Prints what each printed; exits non-zero at
# the first failure.
INSIDE='
set -eu
R=$1
trap '"'"'kill $agent $ex 2>/dev/null || true'"'"' EXIT
agent=
ex=
mount --rbind /sys "$R/sys"
mount -t bpf bpf "$R/sys/fs/bpf"
mount -t proc proc "$R/proc"
ip link set lo up
ip addr add 198.18.0.2/32 dev lo
pt() { chroot "$R" /usr/sbin/portier "$@"; }
pt version
pt load
pt apply /etc/portier/portier.conf
pt --json status | jq -c "{loaded, bindings, services, config_sha256}"
# the agent: apply --watch, then a new file renamed over the old one
chroot "$R" /usr/sbin/portier apply --watch /etc/portier/portier.conf >"$R/tmp/agent.out" 2>&1 &
agent=$!
for i in $(seq 1 50); do [ -s "$R/tmp/agent.out" ] && break; sleep 0.1; done
printf "service add irene\nbind tcp 198.18.0.2/32 8080 irene\n" >"$R/etc/portier/new.conf"
mv "$R/etc/portier/new.conf" "$R/etc/portier/portier.conf"
for i in $(seq 1 50); do pt dump | grep -q " 8080 " && break; sleep 0.1; done
kill -TERM "$agent"
wait "$agent" || { echo "agent exit status $?"; exit 1; }
agent=
grep -c "^applied " "$R/tmp/agent.out"
# the exporter, scraped from outside the chroot in the same namespace
chroot "$R" /usr/sbin/portier exporter --listen 127.0.0.1:9469 >/dev/null 2>&1 &
ex=$!
for i in $(seq 1 50); do curl -sf --max-time 2 http://127.0.0.1:9469/metrics >"$R/tmp/m" && break; sleep 0.1; done
kill -TERM "$ex"
wait "$ex" || { echo "exporter exit status $?"; exit 1; }
ex=
grep -E "^portier_(loaded|bindings|config_info)[{ ]" "$R/tmp/m"
pt dump | grep -v "^#"
pt unload
'

case_image_built_offline_holds_a_working_portier() {
	local tmp root cid out want got how rc
	[ -n "$ENGINE" ] || skip "neither podman nor buildah is installed (scripts/deps.sh installs podman)"
	casetmp tmp
	on_teardown "$ENGINE" rmi -f "$NAME:$VERSION"
	# make image, from the build PORTIER belongs to
	case $PORTIER in
	"$E2E_ROOT"/*/portier) ;;
	*) skip "PORTIER ($PORTIER) is not a build of this tree: make image builds from one" ;;
	esac
	out=$(dirname "${PORTIER#"$E2E_ROOT"/}")
	make -s -C "$E2E_ROOT" image OUT="$out" IMAGE="$NAME" >"$tmp/make.out" 2>&1 ||
		{ fail "make image: $(cat "$tmp/make.out")"; return 1; }
	expect_eq "$("$ENGINE" image inspect "$NAME:$VERSION" --format '{{json .Config.Entrypoint}}')" \
		'["/usr/sbin/portier"]' "entry point"
	expect_eq "$("$ENGINE" image inspect "$NAME:$VERSION" \
		--format '{{index .Config.Labels "org.opencontainers.image.version"}}')" "$VERSION" "version label"

	# the root filesystem, exported from a container that is created, never run
	root=$tmp/root
	mkdir "$root"
	cid=$(podman create "$NAME:$VERSION" 2>"$tmp/create.err") ||
		{ fail "podman create: $(cat "$tmp/create.err")"; return 1; }
	on_teardown podman rm -f "$cid"
	podman export "$cid" | tar -x -C "$root"
	# exactly the binary and the libraries ldd names (the loader included)
	want=$( {
		echo /usr/sbin/portier
		ldd "$PORTIER" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
	} | sort -u)
	got=$(cd "$root" && find . -type f | sed 's|^\.||' | sort)
	expect_eq "$got" "$want" "the image's files"
	cmp -s "$root/usr/sbin/portier" "$PORTIER" || fail "the image's portier is not this build's"

	# podman run, where it works
	rc=0
	podman run --rm --network=none "$NAME:$VERSION" version >"$tmp/run.out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		how="podman run"
		expect_eq "$(cat "$tmp/run.out")" "$("$PORTIER" version)" "podman run IMAGE version"
	else
		how="chroot into the exported root filesystem (podman run fails here: $(grep -o 'setrlimit[^"]*' "$tmp/run.out" | head -1 || head -c 120 "$tmp/run.out"))"
	fi
	echo "# the image's portier runs by: $how"
	# load, apply, apply --watch, exporter, status, dump, unload from the
	# image's files (podman run cannot reach bpffs and namespaces here)
	printf 'service add irene\nbind tcp 198.18.0.2/32 80 irene\n' >"$root/etc/portier/portier.conf"
	local sha
	sha=$(sha256sum <"$root/etc/portier/portier.conf" | cut -d' ' -f1)
	rc=0
	unshare -m -n --propagation private bash -c "$INSIDE" inside "$root" >"$tmp/inside.out" 2>&1 || rc=$?
	expect_eq "$rc" 0 "the commands in the image's root (output: $(tr '\n' '|' <"$tmp/inside.out"))"
	expect_eq "$(cat "$tmp/inside.out")" "$("$PORTIER" version)
loaded: dispatch attached to network namespace $(sed -n 's/.*network namespace \([0-9]*\),.*/\1/p' "$tmp/inside.out" | head -1), state in /sys/fs/bpf/portier/$(sed -n 's/.*network namespace \([0-9]*\),.*/\1/p' "$tmp/inside.out" | head -1)
applied /etc/portier/portier.conf: bindings +1 -0 ~0, policies +0 -0 ~0, watches +0 -0, services +1
{\"loaded\":true,\"bindings\":1,\"services\":1,\"config_sha256\":\"$sha\"}
2
portier_loaded 1
portier_config_info{sha256=\"$(printf 'service add irene\nbind tcp 198.18.0.2/32 8080 irene\n' | sha256sum | cut -d' ' -f1)\"} 1
portier_bindings 1
service add irene
bind tcp 198.18.0.2/32 8080 irene
unloaded: /sys/fs/bpf/portier/$(sed -n 's/.*network namespace \([0-9]*\),.*/\1/p' "$tmp/inside.out" | head -1) removed" \
		"what the image's portier printed"
}

run_cases
