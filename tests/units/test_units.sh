#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The system integration as installed: units, man pages, completion, journal catalog,
# sysusers, config example, alert runner, install layout. No root, no running systemd.
#
#   PORTCHECK_BUILD_DIR=BUILD tests/units/test_units.sh
#
# Installs the build twice into a temporary directory: with --prefix TMP/p (the layout of
# `cmake --install --prefix P`; its units name TMP/p/sbin/portcheckd, which exists, so
# systemd-analyze can check them against real files) and with DESTDIR and the prefix
# /usr (the package's layout). Exit 77 (skipped) only when systemd-analyze is missing.
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${PORTCHECK_BUILD_DIR:-}
max_exposure=${PORTCHECK_MAX_EXPOSURE:-2.5}

if ! command -v systemd-analyze >/dev/null; then
	echo "SKIPPED: systemd-analyze not found (package systemd; tests/install-deps.sh)" >&2
	exit 77
fi
if [ -z "$build" ] || [ ! -f "$build/cmake_install.cmake" ]; then
	echo "test_units: set PORTCHECK_BUILD_DIR to a configured and built build directory" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portcheck-units.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
	echo "FAIL: $*" >&2
	failed=1
}
ok() { echo "ok: $*"; }

# --- install layouts ------------------------------------------------------------------

# `cmake --install` writes BUILD/install_manifest.txt, which may belong to root after a
# `sudo cmake --install`: run the install script with the manifest written here instead.
sed "s|file(WRITE \"[^\"]*/\${CMAKE_INSTALL_MANIFEST}\"|file(WRITE \"$tmp/\${CMAKE_INSTALL_MANIFEST}\"|" \
	"$build/cmake_install.cmake" >"$tmp/cmake_install.cmake"
install_to() { # PREFIX [DESTDIR]
	if grep -q "file(WRITE \"$tmp/" "$tmp/cmake_install.cmake"; then
		DESTDIR=${2:-} cmake -DCMAKE_INSTALL_PREFIX="$1" -P "$tmp/cmake_install.cmake"
	else
		DESTDIR=${2:-} cmake --install "$build" --prefix "$1"
	fi
}

p=$tmp/p
if ! install_to "$p" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log" >&2
	echo "FAIL: cmake --install --prefix $p" >&2
	exit 1
fi
outside=$(sed -n 's/^-- \(Installing\|Up-to-date\): //p' "$tmp/install.log" | grep -v "^$p/")
if [ -n "$outside" ]; then
	fail "cmake --install --prefix $p wrote outside the prefix: $outside"
else
	ok "--prefix install stays inside the prefix"
fi
if grep -qi 'warning' "$tmp/install.log"; then
	fail "cmake --install warned: $(grep -i -A3 warning "$tmp/install.log")"
fi

d=$tmp/destdir
if ! install_to /usr "$d" >"$tmp/install-usr.log" 2>&1; then
	cat "$tmp/install-usr.log" >&2
	echo "FAIL: DESTDIR=$d cmake --install --prefix /usr" >&2
	exit 1
fi
units=(portcheckd.service portcheckd.socket portcheck-check.service portcheck-check.timer
	portcheck-alert@.service)
sysunitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
for f in /usr/bin/portcheck /usr/sbin/portcheckd /usr/libexec/portcheck/portcheck-alert \
	/etc/portcheck/portcheck.conf /usr/lib/systemd/catalog/portcheck.catalog \
	/usr/lib/sysusers.d/portcheck.conf /usr/share/bash-completion/completions/portcheck \
	/usr/share/man/man1/portcheck.1 /usr/share/man/man8/portcheckd.8 \
	/usr/share/man/man5/portcheck.conf.5 /usr/share/doc/portcheck/portcheck.conf.example \
	"${units[@]/#/$sysunitdir/}"; do
	[ -e "$d$f" ] || fail "prefix /usr: $f not installed"
done
[ -d "$d/etc/portcheck/alert.d" ] || fail "prefix /usr: /etc/portcheck/alert.d not installed"
grep -qx 'ExecStart=/usr/sbin/portcheckd' "$d$sysunitdir/portcheckd.service" ||
	fail "prefix /usr: portcheckd.service does not run /usr/sbin/portcheckd"
grep -qx 'ExecStart=/usr/bin/portcheck check' "$d$sysunitdir/portcheck-check.service" ||
	fail "prefix /usr: portcheck-check.service does not run /usr/bin/portcheck check"
grep -qx 'ExecStart=/usr/libexec/portcheck/portcheck-alert %i' \
	"$d$sysunitdir/portcheck-alert@.service" ||
	fail "prefix /usr: portcheck-alert@.service does not run /usr/libexec/portcheck/portcheck-alert"
ok "prefix /usr layout ($sysunitdir, /etc, /usr/lib/...)"

# --- units ----------------------------------------------------------------------------

# systemd-analyze verify exits 0 on settings it ignores (unknown keys, bad values):
# any output at all is a failure. The prefix install's units point at binaries that
# exist, MANPATH lets it check Documentation=man:..., SYSTEMD_UNIT_PATH (":" appends the
# default path, for sockets.target and friends) lets it resolve our units by name.
u=$p/lib/systemd/system
verify() {
	MANPATH=$p/share/man: SYSTEMD_UNIT_PATH=$u: systemd-analyze verify "$@" >"$tmp/verify.out" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] || [ -s "$tmp/verify.out" ]; then
		cat "$tmp/verify.out" >&2
		return 1
	fi
}
for unit in portcheckd.service portcheckd.socket portcheck-check.service portcheck-check.timer; do
	if verify "$u/$unit"; then ok "verify $unit"; else fail "systemd-analyze verify $unit"; fi
done
# A template is verified as an instance, the one OnFailure= starts.
if verify portcheck-alert@portcheck-check.service.service; then
	ok "verify portcheck-alert@portcheck-check.service.service"
else
	fail "systemd-analyze verify portcheck-alert@.service"
fi

# The checker must catch a broken unit, or the passes above mean nothing.
cp "$u/portcheckd.service" "$tmp/portcheckd.service.good"
for breakage in 's/^Type=notify/Typ=notify/' 's/^ProtectSystem=strict/ProtectSystem=stric/' \
	's|^ExecStart=.*|ExecStart=/nonexistent/portcheckd|'; do
	sed "$breakage" "$tmp/portcheckd.service.good" >"$u/portcheckd.service"
	if verify "$u/portcheckd.service" 2>/dev/null; then
		fail "systemd-analyze verify did not catch a broken unit ($breakage)"
	fi
done
cp "$tmp/portcheckd.service.good" "$u/portcheckd.service"
ok "verify catches broken units"

# The sandbox: the overall exposure of portcheckd.service.
for unit in portcheckd.service portcheck-check.service; do
	level=$(systemd-analyze security --offline=yes "$u/$unit" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -z "$level" ]; then
		fail "systemd-analyze security $unit: no overall exposure level"
	elif awk -v l="$level" -v m="$max_exposure" 'BEGIN { exit !(l > m) }'; then
		fail "$unit: exposure $level > $max_exposure"
		systemd-analyze security --offline=yes "$u/$unit" 2>&1 | grep '✗' >&2
	else
		ok "$unit exposure $level (<= $max_exposure)"
	fi
done

# The socket: the path and access the client and the contract expect (anyone connects,
# the daemon decides per call: one access model with the socket portcheckd makes itself).
for line in 'ListenStream=/run/portcheck/portcheck.sock' 'SocketMode=0666'; do
	grep -qx "$line" "$u/portcheckd.socket" || fail "portcheckd.socket: no $line"
done
! grep -q '^SocketGroup=' "$u/portcheckd.socket" || fail "portcheckd.socket: a SocketGroup= would suggest the group decides"
# Memory is bounded for the daemon and its child processes.
for line in 'MemoryMax=2G' 'TasksMax=64'; do
	grep -qx "$line" "$u/portcheckd.service" || fail "portcheckd.service: no $line"
done
# The malloc tunables the README's performance figures were measured with (bench/run.sh's
# default): the unit and the bench must not drift apart.
bench_tunables=$(sed -n 's/^tunables=\(.*\)$/\1/p' "$src/bench/run.sh")
[[ -n $bench_tunables ]] || fail "bench/run.sh: no tunables= default"
grep -qx "Environment=GLIBC_TUNABLES=$bench_tunables" "$u/portcheckd.service" ||
	fail "portcheckd.service: no Environment=GLIBC_TUNABLES=$bench_tunables (bench/run.sh's)"

# --- man pages ------------------------------------------------------------------------

if command -v man >/dev/null; then
	for page in "$src"/man/*.[0-9]; do
		out=$(cd "$tmp" && LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
			man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
		if [ $? -ne 0 ] || [ -n "$out" ]; then
			fail "man --warnings ${page##*/}: $out"
		else
			ok "man ${page##*/}"
		fi
		# groff's default device too: a glyph only UTF-8 has (U+2591) warns there.
		out=$(groff -man -ww "$page" 2>&1 >/dev/null)
		if [ $? -ne 0 ] || [ -n "$out" ]; then
			fail "groff -man -ww ${page##*/}: $out"
		else
			ok "groff -man -ww ${page##*/}"
		fi
		for section in NAME SYNOPSIS DESCRIPTION OPTIONS FILES EXAMPLES 'SEE ALSO'; do
			grep -q "^\.SH \"\?$section\"\?\$" "$page" || fail "${page##*/}: no $section section"
		done
	done
	# The MESSAGE_IDs of the contract, documented where the journal entries are.
	for id in $(grep -o '`[0-9a-f]\{32\}`' "$src/docs/system-service.md" | tr -d '`'); do
		grep -q "$id" "$src/man/portcheckd.8" || fail "portcheckd.8 does not list MESSAGE_ID $id"
	done
else
	echo "SKIPPED (part): man not found (package man-db), man pages not checked" >&2
fi

# --- completion -----------------------------------------------------------------------

comp=$d/usr/share/bash-completion/completions/portcheck
if ! bash -n "$comp"; then
	fail "completion: bash -n"
elif [ -r /usr/share/bash-completion/bash_completion ]; then
	# Complete `portcheck ` and `portcheck check --` as bash would, with bash-completion's
	# helpers loaded.
	got=$(bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"
		complete_words() {
			COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
			COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
			_portcheck portcheck "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
			echo "${COMPREPLY[*]}"
		}
		complete_words portcheck ""
		complete_words portcheck ex
		complete_words portcheck check --
		complete_words portcheck open 80/tcp --
	' _ "$comp" 2>&1)
	expected='status explain open close check
explain
--quiet --textfile --nagios --config --socket --json
--zone --permanent --timeout --dry-run --socket --json'
	if [ "$got" = "$expected" ]; then
		ok "completion"
	else
		fail "completion: got
$got
expected
$expected"
	fi
else
	echo "SKIPPED (part): bash-completion not installed, completion only syntax-checked" >&2
fi

# --- journal catalog ------------------------------------------------------------------

# journalctl --root compiles the catalogs under ROOT/usr/lib/systemd/catalog into
# ROOT/var/lib/systemd/catalog/database: no journald needed.
if journalctl --root="$d" --update-catalog >"$tmp/catalog.out" 2>&1 && [ ! -s "$tmp/catalog.out" ]; then
	listed=$(journalctl --root="$d" --list-catalog 2>&1)
	for id in $(grep -o '`[0-9a-f]\{32\}`' "$src/docs/system-service.md" | tr -d '`'); do
		entry=$(journalctl --root="$d" --dump-catalog "$id" 2>/dev/null)
		if ! grep -q "^$id portcheck: " <<<"$listed"; then
			fail "catalog: no entry for $id"
		elif ! grep -q '^Defined-By: portcheck$' <<<"$entry" ||
			! grep -q '^Documentation: man:portcheckd(8)$' <<<"$entry" ||
			! grep -q '^Subject: ' <<<"$entry"; then
			fail "catalog: $id lacks Subject, Defined-By: portcheck or Documentation: man:portcheckd(8)"
		fi
	done
	ok "catalog"
else
	fail "catalog: journalctl --update-catalog: $(cat "$tmp/catalog.out")"
fi

# --- sysusers -------------------------------------------------------------------------

if command -v systemd-sysusers >/dev/null; then
	if systemd-sysusers --root="$d" --dry-run >"$tmp/sysusers.out" 2>&1 &&
		grep -q "Creating group 'portcheck'" "$tmp/sysusers.out"; then
		ok "sysusers"
	else
		fail "sysusers: $(cat "$tmp/sysusers.out")"
	fi
fi

# --- the config example ---------------------------------------------------------------

# portcheck check parses the configuration before it connects: exit 3 (no answer) means
# the file is valid, 2 that it is not. The example as shipped, and with every commented
# example setting switched on.
conf=$d/etc/portcheck/portcheck.conf
sed 's/^#\([A-Z][A-Za-z]*=\)/\1/' "$conf" >"$tmp/all-on.conf"
for c in "$conf" "$tmp/all-on.conf"; do
	"$p/bin/portcheck" --socket "$tmp/nothing.sock" check --quiet --config "$c" >/dev/null 2>"$tmp/check.err"
	rc=$?
	if [ $rc -ne 3 ]; then
		fail "config example ${c##*/}: portcheck check exit $rc: $(cat "$tmp/check.err")"
	fi
done
ok "config example parses"

# --- alert runner ---------------------------------------------------------------------

alert=$p/libexec/portcheck/portcheck-alert
hooks=$tmp/alert.d
mkdir -p "$hooks"
printf 'finding one\nfinding two\n' >"$tmp/journal"
printf '#!/bin/sh\n{ echo "$PORTCHECK_FAILED_UNIT"; cat; } >"%s/ran-10"\n' "$tmp" >"$hooks/10-record"
printf '#!/bin/sh\nexit 4\n' >"$hooks/20-fail"
printf '#!/bin/sh\nexec sleep 60\n' >"$hooks/30-hang"
printf '#!/bin/sh\ntouch "%s/ran-40"\n' "$tmp" >"$hooks/40-after"
printf '#!/bin/sh\ntouch "%s/ran-backup"\n' "$tmp" >"$hooks/50-old.dpkg-old"
printf '#!/bin/sh\ntouch "%s/ran-noexec"\n' "$tmp" >"$hooks/60-noexec"
chmod 755 "$hooks"/*
chmod 644 "$hooks/60-noexec"
start=$SECONDS
PORTCHECK_ALERT_DIR=$hooks PORTCHECK_ALERT_JOURNAL=$tmp/journal PORTCHECK_ALERT_TIMEOUT=1 \
	timeout 30 "$alert" portcheck-check.service >"$tmp/alert.out" 2>&1
rc=$?
if [ $rc -ne 1 ]; then
	fail "alert runner: exit $rc with a failing hook, expected 1: $(cat "$tmp/alert.out")"
elif [ "$(cat "$tmp/ran-10" 2>/dev/null)" != "$(printf 'portcheck-check.service\nfinding one\nfinding two')" ]; then
	fail "alert runner: a hook did not get PORTCHECK_FAILED_UNIT and the journal lines"
elif [ ! -e "$tmp/ran-40" ]; then
	fail "alert runner: hooks after a failing and a hanging one did not run"
elif [ -e "$tmp/ran-backup" ] || [ -e "$tmp/ran-noexec" ]; then
	fail "alert runner: ran a backup or a non-executable file"
elif [ $((SECONDS - start)) -gt 15 ]; then
	fail "alert runner: a hanging hook was not bounded"
else
	ok "alert runner"
fi

if [ $failed -ne 0 ]; then
	echo "test_units: FAILED" >&2
	exit 1
fi
echo "test_units: all passed"
