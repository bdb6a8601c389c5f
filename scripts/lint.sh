#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Static analysis of user space: cppcheck, then clang-tidy (.clang-tidy at
# the top of the tree), both with the build's own flags, over user/*.c and core/*.c.
# Any finding fails the run. A false positive is suppressed where it is,
# with a comment that says why: `// cppcheck-suppress ID` on the line
# before it, or `// NOLINT(check)` / `// NOLINTNEXTLINE(check)`.
#
#   scripts/lint.sh [FILE.c...]      (default: user/*.c core/*.c)
#
# Environment: OUT (build output with the generated skeleton headers,
# default build; `make lint` builds it first), JOBS (parallel clang-tidy
# runs, default: the number of CPUs).
set -u
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-build}
JOBS=${JOBS:-$(nproc)}
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)

files=("$@")
[ ${#files[@]} -eq 0 ] && files=(user/*.c core/*.c)

# the tools, from Debian, when missing (as deps.sh does for the build)
need=()
command -v cppcheck >/dev/null || need+=(cppcheck)
command -v clang-tidy >/dev/null || need+=(clang-tidy)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "lint: missing ${need[*]} (run as root to install them)" >&2
		exit 1
	fi
	echo "lint: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
		>/dev/null 2>&1 || { echo "lint: apt-get install ${need[*]} failed" >&2; exit 1; }
fi
for h in "$OUT/dispatch.skel.h" "$OUT/guard.skel.h"; do
	[ -f "$h" ] || { echo "lint: $h missing: run make first (or make lint)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

# the compiler's view: the Makefile's defines and include paths
# shellcheck disable=SC2207 # pkg-config's words
PKG=($(pkg-config --cflags libbpf libxdp json-c libmicrohttpd ncursesw 2>/dev/null))
DEFS=(-D_GNU_SOURCE "-DPORTIER_VERSION=\"$VERSION\"")
INCS=(-Iinclude -Icore -Iuser "-I$OUT")
# the generated skeletons are bpftool's code: system headers for clang-tidy
TIDY_INCS=(-Iinclude -Icore -Iuser -isystem "$OUT")

# ---- cppcheck ----
# libbpf's and libxdp's option macros, which cppcheck cannot see through
# without the system headers (parsing those would be slow and noisy)
cat >"$tmp/portier.cfg" <<'EOF'
<?xml version="1.0"?>
<def format="2">
  <define name="DECLARE_LIBBPF_OPTS(TYPE, NAME, ...)" value="struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }"/>
  <define name="LIBBPF_OPTS(TYPE, NAME, ...)" value="struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }"/>
  <define name="DECLARE_LIBXDP_OPTS(TYPE, NAME, ...)" value="struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }"/>
</def>
EOF
echo "  LINT     cppcheck ${#files[@]} files"
cppcheck --enable=warning,performance,portability --error-exitcode=1 --inline-suppr -q \
	--std=c11 --library="$tmp/portier.cfg" --suppress=missingIncludeSystem \
	"${DEFS[@]}" "${INCS[@]}" --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
	"${files[@]}" >"$tmp/cppcheck.log" 2>&1
cppcheck_rc=$?

# ---- clang-tidy ----
# a compilation database with the build's flags, one entry per file
jstr() { # a JSON string
	local v=${1//\\/\\\\}
	printf '"%s"' "${v//\"/\\\"}"
}
{
	echo "["
	sep=""
	for f in "${files[@]}"; do
		printf '%s{"directory": %s, "file": %s, "arguments": ["cc", "-c", "-std=gnu11"' \
			"$sep" "$(jstr "$PWD")" "$(jstr "$f")"
		for a in "${DEFS[@]}" "${TIDY_INCS[@]}" "${PKG[@]}" "$f"; do
			printf ', %s' "$(jstr "$a")"
		done
		printf ']}\n'
		sep=","
	done
	echo "]"
} >"$tmp/compile_commands.json"
jq -e 'length > 0' "$tmp/compile_commands.json" >/dev/null ||
	{ echo "lint: could not write the compilation database" >&2; exit 1; }
echo "  LINT     clang-tidy ${#files[@]} files, $JOBS at a time"
# shellcheck disable=SC2016 # expanded by the inner sh
printf '%s\0' "${files[@]}" | TMPD=$tmp xargs -0 -n 1 -P "$JOBS" sh -c \
	'clang-tidy --quiet -p "$TMPD" "$0" >"$TMPD/$(basename "$0").tidy" 2>&1 || true'
# (clang-tidy's exit status also counts the findings filtered out below, in
# the generated skeletons: judge by the findings, and by compile errors)

status=0
if [ "$cppcheck_rc" -ne 0 ] || grep -q ': \(error\|warning\|performance\|portability\):' "$tmp/cppcheck.log"; then
	echo "cppcheck:"
	sed 's/^/  /' "$tmp/cppcheck.log"
	status=1
fi
# (not in the generated skeletons: the analyzer follows a path from our
# code into bpftool's and does not know that bpf_object__destroy_skeleton()
# frees what it is given)
findings=$(cat "$tmp"/*.tidy 2>/dev/null | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' |
	grep -v -E "^([^ ]*/)?$OUT/[^/ ]*\.skel\.h:" | sort -u)
# clang-tidy that could not compile a file, or found no command for it
if grep -l -E '^(Error|error:)|Skipping .*Compile command not found' "$tmp"/*.tidy >/dev/null 2>&1; then
	grep -l -E '^(Error|error:)|Skipping .*Compile command not found' "$tmp"/*.tidy >>"$tmp/tidy.failed"
fi
if [ -n "$findings" ] || [ -s "$tmp/tidy.failed" ]; then
	echo "clang-tidy:"
	if [ -n "$findings" ]; then
		printf '%s\n' "$findings" | sed "s|^$PWD/||; s/^/  /"
	else
		cat "$tmp"/*.tidy | sed 's/^/  /'
	fi
	status=1
fi
n_cpp=$(grep -c ': \(error\|warning\|performance\|portability\):' "$tmp/cppcheck.log")
n_tidy=$(printf '%s' "$findings" | grep -c . || true)
echo "lint: cppcheck $n_cpp, clang-tidy $n_tidy findings"
exit $status
