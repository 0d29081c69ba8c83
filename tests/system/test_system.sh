#!/usr/bin/env bash
# test_system.sh: portcheck's Debian package under a real systemd. A Debian 12 container
# (tests/system/rootfs.sh, cached) boots with systemd-nspawn in a network namespace of
# its own (tests/system/container.sh), installs the .deb that `cpack -G DEB` makes from
# PORTCHECK_BUILD_DIR, and checks the contract of docs/system-service.md for real: units,
# socket activation, journal entries, the check timer's service and its alert hooks,
# metrics, reload, a firewalld restart, the sandbox, removal. Probes from a client
# namespace over a veth pair are the ground truth.
#
# Needs root, systemd-nspawn (systemd-container), debootstrap, and the Debian archive
# the first time (to build the tree). Exits 77 (skipped) without them. Each check prints
# "ok N - ..." or "FAIL N - ..."; the test fails if any check failed.
#
# Environment:
#   PORTCHECK_BUILD_DIR      the configured and built tree to package (required)
#   PORTCHECK_SOURCE_DIR     the source tree (default: two levels up from here)
#   PORTCHECK_SYSTEST_DEB    use this .deb instead of running cpack (debugging)
#   PORTCHECK_SYSTEST_NO_BUILD=1  do not run `cmake --build` before cpack
#   PORTCHECK_SYSTEST_CACHE  where rootfs.sh keeps the tree (/var/cache/portcheck-systest)
#   PORTCHECK_SYSTEST_VERBOSE=1  show the output of passing checks too
set -euo pipefail
shopt -s extglob

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=container.sh
. "$HERE/container.sh"

sys_require_root
command -v cpack >/dev/null || sys_skip "the system tier needs cpack (cmake)"
command -v dpkg-deb >/dev/null || sys_skip "the system tier needs dpkg-deb"

BUILD=${PORTCHECK_BUILD_DIR:-}
SRC=${PORTCHECK_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
[[ -n $BUILD && -d $BUILD ]] || sys_die "PORTCHECK_BUILD_DIR must name the build directory (ctest sets it)"

MSGID_BLOCKED=4317287bbb3645e2b3654e9a218952ea
MSGID_OPEN=c678b7e3ca9d4173bdec8161ba977cb6
MSGID_FIREWALLD=96410ddda46044c4874e476c05520118
DROPIN=/etc/portcheck/portcheck.conf.d/50-systest.conf
HOOK=/etc/portcheck/alert.d/50-systest
T0=$SECONDS

# --- checks --------------------------------------------------------------------------

# shellcheck source-path=SCRIPTDIR source=checks.sh
. "$HERE/checks.sh"

# expect_rc WANT CMD...: CMD exits with WANT (its output is shown).
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[[ $rc -eq $want ]] || {
		echo "exit status $rc, expected $want"
		return 1
	}
}

# in_container_wait SECONDS WHAT CMD...: poll CMD inside the container (bounded).
in_container_wait() {
	local secs=$1 what=$2
	shift 2
	sys_wait "$secs" "$what" sys_exec "$@"
}

# now_usec: the container's clock, for journalctl --since.
since_now() { sys_exec date '+@%s'; }

# journal_has SINCE SECONDS PYTHON_CONDITION MATCH...: wait (bounded) until the journal
# since SINCE holds an entry matching MATCH... for which the Python condition on the
# entry e (a dict of the JSON fields) is true; prints that entry.
journal_has() {
	local since=$1 secs=$2 cond=$3 i deadline
	shift 3
	deadline=$((SECONDS + secs))
	for ((i = 0; i < secs * 2; i++)); do
		if sys_exec journalctl --no-pager -o json --since "$since" "$@" 2>/dev/null |
			python3 -c '
import json, sys
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if '"$cond"':
        print(json.dumps(e, indent=1, sort_keys=True))
        sys.exit(0)
sys.exit(1)'; then
			return 0
		fi
		((SECONDS < deadline)) || break
		sleep 0.5
	done
	echo "no journal entry with $* and $cond since $since within $secs s; what there is:"
	sys_exec journalctl --no-pager --since "$since" -o short-precise "$@" | tail -n 20
	return 1
}

# probe_is PORT FAMILY WANT: a real connection from the client namespace gets WANT.
probe_is() {
	local r
	r=$(sys_probe_tcp "$1" "$2")
	echo "$1/tcp $2: $r"
	[[ $r == "$3" ]]
}

main_pid() { sys_exec systemctl show -p MainPID --value portcheckd.service; }

JOURNAL_LINES=200

sys_init
trap on_exit EXIT
CHECK_OUT=$SYS_DIR/check.out

# --- the package ---------------------------------------------------------------------

stage "package"
DEBDIR=$SYS_DIR/debs
mkdir -p "$DEBDIR"
if [[ -n ${PORTCHECK_SYSTEST_DEB:-} ]]; then
	cp "$PORTCHECK_SYSTEST_DEB" "$DEBDIR/"
else
	[[ -f $BUILD/CPackConfig.cmake ]] ||
		sys_die "no CPack configuration in $BUILD (CPackConfig.cmake is missing): the Debian packaging (include(CPack) with the DEB generator in CMakeLists.txt) is not there yet, so there is no .deb to test"
	if [[ -z ${PORTCHECK_SYSTEST_NO_BUILD:-} ]]; then
		timeout 900 cmake --build "$BUILD" -j"$(nproc)" >"$SYS_DIR/build.log" 2>&1 ||
			{ tail -n 30 "$SYS_DIR/build.log" >&2; sys_die "cmake --build $BUILD failed"; }
	fi
	timeout 600 cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$SYS_DIR/cpack" \
		>"$SYS_DIR/cpack.log" 2>&1 || { tail -n 30 "$SYS_DIR/cpack.log" >&2; sys_die "cpack -G DEB failed"; }
	cp "$SYS_DIR"/cpack/*.deb "$DEBDIR/" 2>/dev/null || sys_die "cpack made no .deb (see above)"
fi
mapfile -t DEBS < <(find "$DEBDIR" -maxdepth 1 -name 'portcheck_*.deb')
[[ ${#DEBS[@]} -eq 1 ]] || sys_die "expected one portcheck_*.deb, found: $(ls "$DEBDIR")"
DEB=${DEBS[0]}
DEB_NAME=$(basename "$DEB")
PKG=$(dpkg-deb -f "$DEB" Package)
DEPENDS="$(dpkg-deb -f "$DEB" Pre-Depends), $(dpkg-deb -f "$DEB" Depends)"
sys_log "package $DEB_NAME ($PKG); Depends: $DEPENDS"

# --- the tree, the container ---------------------------------------------------------

stage "tree"
# The tree must already hold every dependency: the container has no network.
TREE=$(bash "$HERE/rootfs.sh" "$DEPENDS") || sys_die "cannot build the Debian 12 tree"
stage "boot"
sys_boot "$TREE" "$DEBDIR"
sys_wait 30 "firewalld in the container" sys_exec firewall-cmd --state ||
	sys_die "firewalld is not running in the container (CAP_NET_ADMIN? see the journal)"

stage "install"
sys_exec dpkg -i "/srv/debs/$DEB_NAME" >"$SYS_DIR/dpkg.log" 2>&1 ||
	{ cat "$SYS_DIR/dpkg.log" >&2; sys_die "dpkg -i $DEB_NAME failed"; }
sed -e 's/^/    | /' "$SYS_DIR/dpkg.log"

# --- a. units after installation -----------------------------------------------------

stage "a. units after installation"
check "portcheckd.socket and portcheck-check.timer are enabled" \
	sys_exec systemctl is-enabled portcheckd.socket portcheck-check.timer
check "portcheckd.socket is active (listening)" sys_exec systemctl is-active portcheckd.socket
not_active() {
	local st
	st=$(sys_exec systemctl is-active "$1") || true
	echo "$1: $st"
	[[ $st == inactive ]]
}
check "portcheckd.service is not active before the first client" not_active portcheckd.service
socket_is_right() {
	local st
	st=$(sys_exec stat -c '%F %a %G' /run/portcheck/portcheck.sock) || return 1
	echo "$st"
	[[ $st == "socket 666 root" ]]
}
check "/run/portcheck/portcheck.sock is a socket, mode 0666 (the daemon authorises each call)" socket_is_right

# The test's settings, before the first client: a quick rescan; an alert hook that
# leaves a marker.
printf '[Daemon]\nRescanIntervalSec=2\n' | sys_write "$DROPIN"
# shellcheck disable=SC2016 # expanded in the container
printf '#!/bin/sh\nmkdir -p /run/pc-test\n{ echo "unit=$PORTCHECK_FAILED_UNIT"; cat; } >/run/pc-test/alert.tmp\nmv /run/pc-test/alert.tmp /run/pc-test/alert-ran\n' |
	sys_write "$HOOK" 0755
sys_exec mkdir -p /run/pc-test

# --- b. a blocked web server, socket activation ----------------------------------------

stage "b. a blocked listener on port 80"
SINCE_START=$(since_now)
sys_exec systemd-run --quiet --unit=pc-web -p StandardError=null python3 -m http.server 80 --bind :: ||
	sys_die "cannot start the test's web server"
in_container_wait 15 "the web server on port 80" sh -c 'ss -Hltn "sport = :80" | grep -q .' ||
	sys_die "the test's web server does not listen"
check "ground truth: a connection from the client namespace to $SYS_SRV_IPV4:80 is rejected (ICMP 3/13)" \
	probe_is 80 ipv4 "icmp 3/13"
check "ground truth: a connection to [$SYS_SRV_IPV6]:80 is rejected (ICMPv6 1/1)" probe_is 80 ipv6 "icmp 1/1"
check "portcheck status exits 1 (findings)" expect_rc 1 sys_exec portcheck status
status_80_blocked() {
	sys_exec portcheck status --json >"$SYS_DIR/status.json" || true
	python3 - "$SYS_DIR/status.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
hits = [l for l in s["listeners"] if l["port"] == 80 and l["protocol"] == "tcp"]
print(json.dumps(hits, indent=1))
sys.exit(0 if hits and all(l["exposure"] == "blocked" for l in hits) else 1)
EOF
}
check "portcheck status --json shows 80/tcp blocked" status_80_blocked
check "portcheckd.service is active after the first client (socket activation)" \
	sys_exec systemctl is-active portcheckd.service
status_text() {
	local t
	t=$(sys_exec systemctl show -p StatusText --value portcheckd.service) || return 1
	echo "StatusText=$t"
	[[ $t =~ ^[0-9]+\ listeners?:.*blocked ]]
}
check "systemctl status shows the daemon's one-line summary (STATUS=)" \
	sys_wait 15 "StatusText" status_text
# The daemon applies the read rule: a member of group portcheck reads the status,
# anyone else reaches the daemon and is told why not.
sys_exec useradd --no-create-home --groups portcheck pcreader
sys_exec useradd --no-create-home pcstranger
check "a member of group portcheck may read the status (exit 1: findings)" \
	expect_rc 1 sys_exec runuser -u pcreader -- portcheck status
stranger_refused() {
	local out rc=0
	out=$(sys_exec runuser -u pcstranger -- portcheck status 2>&1) || rc=$?
	echo "exit $rc: $out"
	((rc == 3)) && grep -q "permission denied: only root and members of the read group" <<<"$out"
}
check "anyone else gets exit 3 and the daemon's 'permission denied'" stranger_refused

# --- c. the journal entry ------------------------------------------------------------

stage "c. journal"
check "journal: MESSAGE_ID=$MSGID_BLOCKED with PORTCHECK_PORT=80 from portcheckd" \
	journal_has "$SINCE_START" 30 \
	'e.get("PORTCHECK_PORT") == "80" and e.get("_SYSTEMD_UNIT") == "portcheckd.service" and e.get("PRIORITY") == "4"' \
	"MESSAGE_ID=$MSGID_BLOCKED"
catalog_shown() {
	local out subject
	# The Subject of the entry in the source's catalog, with this entry's fields.
	subject=$(awk -v id="-- $MSGID_BLOCKED" '$0 == id {f = 1; next} f && /^Subject: / {print; exit}' \
		"$SRC/systemd/portcheck.catalog" | sed -e 's/@PORTCHECK_PORT@/80/g' -e 's/@PORTCHECK_PROTO@/tcp/g')
	[[ -n $subject ]] || subject="Subject: " # no catalog in the source: any catalog text
	out=$(sys_exec journalctl --no-pager -x -n 1 "MESSAGE_ID=$MSGID_BLOCKED" PORTCHECK_PORT=80) || return 1
	echo "$out"
	echo "expected: ░░ $subject"
	grep -qF "░░ $subject" <<<"$out"
}
check "journalctl -x shows the catalog text for it" catalog_shown

# --- d. the check service, the alert hooks, the fix ----------------------------------

stage "d. portcheck-check.service, alert hooks, portcheck open"
check "systemctl start portcheck-check.service fails while 80 is blocked" \
	expect_rc 1 sys_exec systemctl start portcheck-check.service
check_result_is() {
	local out
	out=$(sys_exec systemctl show -p Result -p ExecMainStatus portcheck-check.service) || return 1
	echo "$out"
	[[ $out == *"Result=$1"* && $out == *"ExecMainStatus=$2"* ]]
}
check "its result is exit-code, status 1" check_result_is exit-code 1
alert_ran() {
	in_container_wait 30 "the alert hook's marker" test -s /run/pc-test/alert-ran || {
		sys_exec systemctl status --no-pager 'portcheck-alert@portcheck-check.service.service'
		return 1
	}
	sys_exec cat /run/pc-test/alert-ran
	sys_exec grep -qx 'unit=portcheck-check.service' /run/pc-test/alert-ran
}
check "portcheck-alert@portcheck-check.service.service ran the hook in /etc/portcheck/alert.d/" alert_ran
check "portcheck open 80/tcp --permanent exits 0" sys_exec portcheck open 80/tcp --permanent
check "ground truth: the client connects to $SYS_SRV_IPV4:80 now" probe_is 80 ipv4 "accept -"
check "ground truth: the client connects to [$SYS_SRV_IPV6]:80 now" probe_is 80 ipv6 "accept -"
permanent_80() {
	sys_exec firewall-cmd --permanent --query-port=80/tcp || sys_exec firewall-cmd --permanent --query-service=http
}
check "portcheck open's change is in firewalld's permanent configuration" permanent_80
check "journal: MESSAGE_ID=$MSGID_OPEN (reachable again) for port 80" \
	journal_has "$SINCE_START" 30 'e.get("PORTCHECK_PORT") == "80"' "MESSAGE_ID=$MSGID_OPEN"
check "systemctl start portcheck-check.service succeeds now" \
	sys_exec systemctl start portcheck-check.service

# --- e. metrics ----------------------------------------------------------------------

stage "e. metrics"
# The timer's service, sandboxed as shipped, writes TextfilePath= in node_exporter's dir.
sys_exec mkdir -p /var/lib/prometheus/node-exporter
printf '[Check]\nTextfilePath=/var/lib/prometheus/node-exporter/portcheck.prom\n' |
	sys_write /etc/portcheck/portcheck.conf.d/60-systest-textfile.conf
check "portcheck-check.service (as shipped) writes TextfilePath= and succeeds" \
	sys_exec systemctl start portcheck-check.service
service_textfile() {
	sys_exec grep -E '^portcheck_last_check_success 1$' /var/lib/prometheus/node-exporter/portcheck.prom &&
		sys_exec grep -E '^portcheck_listener_blocked\{.*port="80".*\} 0$' \
			/var/lib/prometheus/node-exporter/portcheck.prom
}
check "its metrics file says success 1 and 80/tcp not blocked" service_textfile
sys_exec rm -f /etc/portcheck/portcheck.conf.d/60-systest-textfile.conf
check "portcheck check --textfile /run/pc-test/portcheck.prom exits 0" \
	sys_exec portcheck check --textfile /run/pc-test/portcheck.prom
metrics_valid() {
	sys_copy_out /run/pc-test/portcheck.prom "$SYS_DIR/portcheck.prom" || return 1
	cat "$SYS_DIR/portcheck.prom"
	if command -v promtool >/dev/null; then
		promtool check metrics <"$SYS_DIR/portcheck.prom" || return 1
	else
		echo "promtool is missing on this machine (package prometheus)"
		return 1
	fi
	grep -qx 'portcheck_last_check_success 1' "$SYS_DIR/portcheck.prom"
}
check "the metrics pass promtool check metrics and say portcheck_last_check_success 1" metrics_valid

# --- f. reload -----------------------------------------------------------------------

stage "f. systemctl reload portcheckd"
PID_BEFORE=$(main_pid)
SINCE=$(since_now)
printf '[Daemon]\nRescanIntervalSec=2\n\n[Findings]\nIgnorePorts=8081/tcp\n' | sys_write "$DROPIN"
check "systemctl reload portcheckd exits 0" sys_exec systemctl reload portcheckd.service
check "portcheckd logs that it reloaded its configuration" \
	journal_has "$SINCE" 20 '"reloaded configuration" in str(e.get("MESSAGE", ""))' _SYSTEMD_UNIT=portcheckd.service
# A daemon-side effect of the new settings: an ignored blocked listener gets no entry,
# while a control listener started with it does.
sys_exec systemd-run --quiet --unit=pc-ign -p StandardError=null python3 -m http.server 8081 --bind :: || true
sys_exec systemd-run --quiet --unit=pc-ctl -p StandardError=null python3 -m http.server 8082 --bind :: || true
check "journal: the control listener 8082 (not ignored) is reported blocked" \
	journal_has "$SINCE" 30 'e.get("PORTCHECK_PORT") == "8082"' "MESSAGE_ID=$MSGID_BLOCKED"
# The positive control for the silence below: 8081 is listening, and portcheckd's status
# lists it blocked (so it would be reported, were it not ignored). Without this a
# listener that never came up would pass the check as well.
listening_8081() {
	local rc=0
	sys_exec ss -Hltn 'sport = :8081' | grep -q . || {
		echo "nothing listens on 8081/tcp in the container"
		return 1
	}
	sys_exec portcheck status --json >"$SYS_DIR/status-8081.json" || rc=$?
	[[ $rc -eq 0 || $rc -eq 1 ]] || {
		echo "portcheck status --json: exit $rc"
		return 1
	}
	python3 - "$SYS_DIR/status-8081.json" <<'PY'
import json, sys
ls = [l for l in json.load(open(sys.argv[1]))["listeners"]
      if l["protocol"] == "tcp" and l["port"] == 8081]
assert ls and all(l["exposure"] == "blocked" for l in ls), ls
print("8081/tcp:", [(l["address"], l["exposure"]) for l in ls])
PY
}
listening_8081_soon() {
	# Bounded wait; then once more, so that a failure shows why.
	sys_wait 30 "8081/tcp in portcheck status" listening_8081 || {
		listening_8081
		return 1
	}
	listening_8081
}
check "the listener on 8081 is up, and status lists it blocked (the control for the next check)" \
	listening_8081_soon
no_entry_8081() {
	# The control's entry is there: the rescan that saw both listeners is done.
	! journal_has "$SINCE" 1 'e.get("PORTCHECK_PORT") == "8081"' "MESSAGE_ID=$MSGID_BLOCKED" >/dev/null
}
check "journal: the listener on 8081 (IgnorePorts=8081/tcp after the reload) is not reported" no_entry_8081
SINCE=$(since_now)
printf '[Daemon]\nRescanIntervalSec=2\nRescanIntervalSex=5\n' | sys_write "$DROPIN"
sys_exec systemctl reload portcheckd.service >/dev/null 2>&1 || true
check "a bad config on reload: portcheckd logs $DROPIN:3" \
	journal_has "$SINCE" 20 '"'"$DROPIN"':3" in str(e.get("MESSAGE", ""))' _SYSTEMD_UNIT=portcheckd.service
same_daemon() {
	local pid
	pid=$(main_pid) || return 1
	echo "MainPID before $PID_BEFORE, now $pid"
	sys_exec systemctl is-active portcheckd.service && [[ $pid == "$PID_BEFORE" && $pid != 0 ]]
}
check "portcheckd stays active, same MainPID, after the bad reload" same_daemon
# Back to a good config for the rest.
printf '[Daemon]\nRescanIntervalSec=2\n\n[Findings]\nIgnorePorts=8081/tcp\n' | sys_write "$DROPIN"
sys_exec systemctl reload portcheckd.service >/dev/null 2>&1 || true

# --- g. firewalld restart ------------------------------------------------------------

stage "g. systemctl restart firewalld"
SINCE=$(since_now)
check "systemctl restart firewalld exits 0" sys_exec systemctl restart firewalld.service
sys_wait 30 "firewalld after its restart" sys_exec firewall-cmd --state || true
check "portcheckd stays active with the same MainPID" same_daemon
check "journal: MESSAGE_ID=$MSGID_FIREWALLD (firewalld went away / came back) from portcheckd" \
	journal_has "$SINCE" 30 'e.get("_SYSTEMD_UNIT") == "portcheckd.service"' "MESSAGE_ID=$MSGID_FIREWALLD"
status_answers() {
	local rc=0
	sys_exec portcheck status || rc=$?
	[[ $rc -eq 0 || $rc -eq 1 ]]
}
check "portcheck status still answers (exit 0 or 1)" status_answers

# --- h. the sandbox ------------------------------------------------------------------

stage "h. systemd-analyze security"
exposure_ok() {
	local out level
	out=$(sys_exec systemd-analyze security --no-pager portcheckd.service) || true
	echo "$out" | tail -n 3
	level=$(sed -n 's/.*Overall exposure level for portcheckd.service: \([0-9.]*\).*/\1/p' <<<"$out")
	[[ -n $level ]] && python3 -c "import sys; sys.exit(0 if float('$level') <= 2.5 else 1)"
}
check "systemd-analyze security portcheckd.service: exposure <= 2.5" exposure_ok

# --- i. removal ----------------------------------------------------------------------

stage "i. removal"
sys_exec systemctl stop pc-web.service pc-ign.service pc-ctl.service >/dev/null 2>&1 || true
# The test's own files in /etc/portcheck, which dpkg does not know about.
sys_exec rm -f "$DROPIN" "$HOOK"
sys_exec systemctl reset-failed >/dev/null 2>&1 || true
check "dpkg -r $PKG exits 0" sys_exec dpkg -r "$PKG"
PC_UNITS=(portcheckd.service portcheckd.socket portcheck-check.service portcheck-check.timer
	portcheck-alert@.service)
# units_gone LOADSTATE_PATTERN: no unit file left, every unit inactive and in that state.
# After `dpkg -r` the Debian way (deb-systemd-helper) masks the enabled units until the
# purge, so "masked" is as good as "not-found" there.
units_gone() {
	local u bad=0 st
	for u in "${PC_UNITS[@]}"; do
		if sys_exec test -e "/lib/systemd/system/$u"; then
			echo "/lib/systemd/system/$u is still there"
			bad=1
		fi
		[[ $u == *@.service ]] && u=${u/@/@x}
		st=$(sys_exec systemctl show -p LoadState -p ActiveState "$u" | tr '\n' ' ')
		echo "$u: $st"
		# shellcheck disable=SC2053 # a pattern on purpose
		[[ $st == *LoadState=$1\ * && $st == *ActiveState=inactive* ]] || bad=1
	done
	return $bad
}
check "the units are gone (no unit files, not-found or masked, inactive)" units_gone '@(not-found|masked)'
no_failed_units() {
	local out
	out=$(sys_exec systemctl list-units --failed --plain --no-legend) || return 1
	echo "$out"
	[[ -z $out ]]
}
check "no failed units left" no_failed_units
check "the socket is gone" expect_rc 1 sys_exec test -e /run/portcheck/portcheck.sock
check "portcheckd is not running" expect_rc 1 sys_exec pgrep -x portcheckd
check "dpkg --purge $PKG exits 0" sys_exec dpkg --purge "$PKG"
check "/etc/portcheck is gone after the purge" expect_rc 1 sys_exec test -e /etc/portcheck
check "after the purge every unit is not-found (no masks left)" units_gone not-found
check "no failed units left after the purge" no_failed_units

# --- result --------------------------------------------------------------------------

stage "done"
if [[ ${#FAILED[@]} -gt 0 ]]; then
	printf '\n%d of %d checks FAILED:\n' "${#FAILED[@]}" "$N"
	printf '  %s\n' "${FAILED[@]}"
	exit 1
fi
printf '\nall %d checks passed in %d s\n' "$N" $((SECONDS - T0))
