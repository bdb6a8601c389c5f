#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make install / uninstall, the man page and the completion.
. "$(dirname "$0")/lib.sh"

case_install_and_uninstall() {
	local tmp f
	casetmp tmp
	make -s -C "$E2E_ROOT" install DESTDIR="$tmp" PREFIX=/usr >/dev/null
	for f in usr/sbin/portier usr/share/man/man8/portier.8 \
		usr/share/bash-completion/completions/portier usr/lib/systemd/system/portier.service \
		usr/share/doc/portier/portier.conf.example usr/share/doc/portier/SYSTEMD.md \
		usr/lib/systemd/system/portier-watch.service usr/share/doc/portier/FLEET.md; do
		[ -f "$tmp/$f" ] || fail "$f not installed"
	done
	expect_eq "$(stat -c %a "$tmp/usr/sbin/portier")" 755 "binary mode"
	expect_eq "$(grep -c '^ExecStart=/usr/sbin/portier ' "$tmp/usr/lib/systemd/system/portier.service")" 2 "unit ExecStart lines"
	expect_eq "$(grep '^ExecStart=' "$tmp/usr/lib/systemd/system/portier-watch.service")" \
		"ExecStart=/usr/sbin/portier apply --watch /etc/portier/portier.conf" "agent unit ExecStart"
	"$tmp/usr/sbin/portier" version | grep -q '^portier ' || fail "installed binary does not run"
	make -s -C "$E2E_ROOT" uninstall DESTDIR="$tmp" PREFIX=/usr >/dev/null
	expect_eq "$(find "$tmp" -type f | wc -l)" 0 "files left after uninstall"
}

case_man_page_covers_every_command() {
	local cmd warn
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$E2E_ROOT/docs/portier.8" 2>&1 >/dev/null)
	expect_eq "$warn" "" "man page warnings"
	for cmd in $("$PORTIER" help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1}'); do
		[ "$cmd" = help ] || [ "$cmd" = version ] && continue
		grep -q "^\.B $cmd\b\|^\.B $cmd\$\|^\.B $cmd " "$E2E_ROOT/docs/portier.8" ||
			fail "command '$cmd' not in docs/portier.8"
	done
}

case_completion_parses() {
	bash -n "$E2E_ROOT/dist/portier.bash" || fail "dist/portier.bash does not parse"
	# every command of the binary is offered
	local cmd
	for cmd in $("$PORTIER" help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1}'); do
		grep -q "\b$cmd\b" "$E2E_ROOT/dist/portier.bash" || fail "completion lacks '$cmd'"
	done
}

run_cases
