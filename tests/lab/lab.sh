# shellcheck shell=bash
# lab.sh: the portcheck lab harness, a library to source from bash.
#
# It builds a small, private network out of namespaces and runs a real firewalld
# on it, so tests compare what portcheck says with what a real probe sees:
#
#   client netns ($LAB_CLI)        server netns ($LAB_SRV)           container netns ($LAB_CTR)
#   eth0 192.0.2.2/24      <-veth-> eth0 192.0.2.1/24
#        2001:db8:1::2/64                2001:db8:1::1/64
#                                   veth-ctr 198.51.100.1/24 <-veth-> eth0 198.51.100.2/24
#                                   firewalld, portcheckd,                 (default via .1)
#                                   listeners
#
# Safety rules the functions keep (and callers must keep too):
#   - traffic only between namespaces made here, over veth pairs made here, with
#     documentation addresses only; both veth ends are created directly inside
#     their namespaces, so nothing ever appears in the root namespace;
#   - nft, firewalld and firewall-cmd only ever run inside the server namespace;
#     the D-Bus bus is private (a socket in $LAB_DIR), firewalld's configuration
#     is a private copy of /etc/firewalld in $LAB_DIR;
#   - every wait is bounded in tries and in time;
#   - lab_init installs lab_cleanup on EXIT (and INT/TERM/HUP turn into an exit),
#     which kills every process started here and removes namespaces and $LAB_DIR.
#
# Typical use:
#   . tests/lab/lab.sh
#   lab_require_root nmap          # the tools the test uses beyond lab.sh's own
#   lab_init
#   lab_netns_server_client
#   lab_dbus_start
#   lab_firewalld_start            # nftables backend, default zone public
#   lab_listeners tcp:0.0.0.0:22:sshd 'tcp:[::]:80:nginx:dual'
#   [[ $(lab_probe_tcp 80 ipv6) == reject-admin-prohibited ]]
#
# The library sets no shell options; it works under `set -euo pipefail`.
# Functions report failure with lab_die (message on stderr, exit 1); inside
# $(...) that exits the subshell, and `set -e` in the caller does the rest.
#
# Environment (inputs):
#   PORTCHECKD, PORTCHECK   the built daemon and client (lab_portcheckd_start, lab_portcheck)
#   LAB_LISTENER_LIFETIME   seconds the listener processes live (default 600)
#   LAB_FIREWALLD_ARGS      extra firewalld arguments, e.g. "--debug 2"
# Set by lab_init / the setup functions (outputs):
#   LAB_ID LAB_DIR LAB_SRV LAB_CLI LAB_CTR DBUS_SYSTEM_BUS_ADDRESS LAB_FIREWALLD_PID
#   LAB_SRV_IPV4 LAB_SRV_IPV6 LAB_CLI_IPV4 LAB_CLI_IPV6 LAB_CTR_IPV4

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_PYTHON=/usr/bin/python3
# The tests' Python reads Status replies through tests/lab/srcform.py (status_view).
export PYTHONPATH=$LAB_LIB_DIR${PYTHONPATH:+:$PYTHONPATH}

LAB_SRV_IPV4=192.0.2.1
LAB_CLI_IPV4=192.0.2.2
LAB_SRV_IPV6=2001:db8:1::1
LAB_CLI_IPV6=2001:db8:1::2
LAB_SRV_CTR_IPV4=198.51.100.1
LAB_CTR_IPV4=198.51.100.2
LAB_CTR_IF=veth-ctr # server side of the container link (Docker's docker0)

# --- small helpers -----------------------------------------------------------

lab_log() { printf 'lab: %s\n' "$*" >&2; }

lab_die() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

lab_pass() { printf 'PASS: %s\n' "$*"; }

# lab_wait [--pid PID] SECONDS WHAT CMD...
# Run CMD every 0.1 s until it succeeds. Bounded twice: at most SECONDS*10
# tries and at most SECONDS of wall time (CMD itself must be bounded too).
# With --pid, stop early when that process has died: waiting for a dead
# daemon's socket is pointless and hides the real error.
lab_wait() {
	# Locals are prefixed: bash scoping is dynamic, CMD sees (and could clobber) them.
	local _lw_pid="" _lw_secs _lw_what _lw_tries _lw_deadline _lw_i
	if [[ $1 == --pid ]]; then
		_lw_pid=$2
		shift 2
	fi
	_lw_secs=$1 _lw_what=$2
	shift 2
	_lw_tries=$((_lw_secs * 10)) _lw_deadline=$((SECONDS + _lw_secs))
	for ((_lw_i = 0; _lw_i < _lw_tries && SECONDS <= _lw_deadline; _lw_i++)); do
		"$@" && return 0
		if [[ -n $_lw_pid ]] && ! kill -0 "$_lw_pid" 2>/dev/null; then
			lab_log "gave up waiting for $_lw_what: process $_lw_pid died"
			return 1
		fi
		sleep 0.1
	done
	lab_log "timed out after ${_lw_secs}s waiting for $_lw_what"
	return 1
}

# The start time (in clock ticks since boot) identifies a process together with
# its pid, so cleanup never signals an unrelated process that reused the pid.
_lab_starttime() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) } # the comm field may contain spaces; skip past it
	# shellcheck disable=SC2086
	set -- $stat
	echo "${20}" # field 22 of the whole line
}

# _lab_track PID: remember a process for lab_cleanup.
_lab_track() {
	LAB_PIDS+=("$1:$(_lab_starttime "$1" || true)")
}

# _lab_alive PID:START: true if that very process still runs (a zombie does not).
_lab_alive() {
	local pid=${1%%:*} start=${1#*:} state
	[[ -n $start && $(_lab_starttime "$pid" || true) == "$start" ]] || return 1
	state=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	state=${state##*) }
	[[ ${state:0:1} != Z ]]
}

# _lab_stop SECONDS ENTRY...: SIGTERM the tracked processes, wait (bounded) for
# them to go, SIGKILL the rest.
_lab_stop() {
	local secs=$1
	shift
	local e left i
	for e in "$@"; do
		_lab_alive "$e" && kill -TERM "${e%%:*}" 2>/dev/null
	done
	for ((i = 0; i < secs * 10; i++)); do
		left=0
		for e in "$@"; do
			_lab_alive "$e" && left=1
		done
		((left)) || return 0
		sleep 0.1
	done
	for e in "$@"; do
		if _lab_alive "$e"; then
			lab_log "process ${e%%:*} ignored SIGTERM for ${secs}s, sending SIGKILL"
			kill -KILL "${e%%:*}" 2>/dev/null
		fi
	done
	return 0
}

# _lab_in NS CMD...: run CMD in a lab namespace with the private bus address.
_lab_in() {
	local ns=$1
	shift
	ip netns exec "$ns" env DBUS_SYSTEM_BUS_ADDRESS="${DBUS_SYSTEM_BUS_ADDRESS:-}" "$@"
}

# _lab_spawn NS LOG CMD...: start CMD in the background in namespace NS ("-":
# where we are) with the private bus address, stdout and stderr to LOG; track
# it and set LAB_SPAWNED to its pid. A simple command put in the background is
# exec'd by the forked shell (ip netns exec, setpriv, env, ... exec in turn), so
# the pid is the daemon's own and SIGTERM reaches it; backgrounding a function
# or a compound command would leave a bash in between that dies alone.
# --pdeathsig: if this shell is SIGKILLed (no trap runs), the daemon dies too.
_lab_spawn() {
	local ns=$1 log=$2
	shift 2
	local run=(setpriv --pdeathsig KILL env DBUS_SYSTEM_BUS_ADDRESS="${DBUS_SYSTEM_BUS_ADDRESS:-}")
	if [[ $ns == - ]]; then
		"${run[@]}" "$@" >"$log" 2>&1 &
	else
		ip netns exec "$ns" "${run[@]}" "$@" >"$log" 2>&1 &
	fi
	LAB_SPAWNED=$!
	_lab_track "$LAB_SPAWNED"
}

# _lab_need_cmds CMD...: SKIP (77) when a tool the lab needs is not installed.
_lab_need_cmds() {
	local c missing=()
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	if ((${#missing[@]})); then
		echo "SKIP: lab tests need ${missing[*]} (install them, see tests/install-deps.sh)" >&2
		exit 77
	fi
}

# --- lifecycle ---------------------------------------------------------------

# lab_require_root [TOOL...]: the lab creates namespaces; without root it cannot
# run at all, which ctest reports as SKIP (SKIP_RETURN_CODE 77). Also SKIP when a
# tool is missing: those every lab needs (ip for the namespaces, setpriv and timeout
# for the processes it starts) and the TOOLs the test names, the ones it uses itself
# or through lab.sh functions that do not check for them: nmap (lab_probe_tcp*),
# nft (lab_nft), python3 ($LAB_PYTHON, lab_connect_tcp), iptables, ... A test asks
# for what it uses, no more: a tool missing elsewhere skips only the tests that need
# it (and tests/run-all.sh fails a CI run with a skip). lab_dbus_start,
# lab_firewalld_start, lab_listeners and lab_docker_dnat check their own tools.
lab_require_root() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "SKIP: lab tests need root (network namespaces, nftables, firewalld); run them as root" >&2
		exit 77
	fi
	_lab_need_cmds ip setpriv timeout "$@"
}

# lab_init: make $LAB_DIR, pick the run's unique names, install the cleanup trap.
lab_init() {
	[[ -z ${LAB_DIR:-} ]] || lab_die "lab_init called twice"
	# /tmp, not $TMPDIR: AF_UNIX paths are limited to 108 bytes and the bus and
	# portcheck sockets live in here.
	LAB_DIR=$(mktemp -d /tmp/pclab.XXXXXX) || lab_die "mktemp failed"
	# Readable by all, so a test can run the client as an unprivileged user
	# against the daemon's socket in here (SO_PEERCRED checks).
	chmod 755 "$LAB_DIR"
	# pid + the mktemp suffix: unique among concurrent runs even across pid
	# namespaces sharing /run/netns.
	LAB_ID="$$-${LAB_DIR##*.}"
	LAB_SRV="pclab-srv-$LAB_ID"
	LAB_CLI="pclab-cli-$LAB_ID"
	LAB_CTR="pclab-ctr-$LAB_ID"
	LAB_PIDS=()
	LAB_NETNS=()
	LAB_FIREWALLD_PID=""
	LAB_MAIN_PID=$BASHPID
	trap lab_cleanup EXIT
	# An exit from a signal trap runs the EXIT trap, so Ctrl-C cleans up too.
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	export LAB_DIR LAB_ID LAB_SRV LAB_CLI LAB_CTR
}

# lab_cleanup: the EXIT trap. Stops every process started here (newest first,
# so portcheckd goes before firewalld before the bus), then anything still
# running in our namespaces (nmap, listener children), deletes the namespaces
# and $LAB_DIR. Idempotent; keeps the script's exit status.
lab_cleanup() {
	local rc=$? ns pid i rev=() rc_in
	# Subshells do not inherit the trap, but be explicit: only the main shell cleans.
	[[ ${LAB_MAIN_PID:-} == "$BASHPID" ]] || return "$rc"
	rc_in=$rc
	set +e
	trap - INT TERM HUP
	# The daemon under test goes first, and must go cleanly: exit status 0 on SIGTERM,
	# and (in the sanitizer build) no report in its log. A test that passed otherwise
	# fails here, with the log shown.
	if [[ -n ${LAB_PORTCHECKD_PID:-} ]] && ! _lab_portcheckd_verdict && ((rc == 0)); then
		rc=1
	fi
	for ((i = ${#LAB_PIDS[@]} - 1; i >= 0; i--)); do
		rev+=("${LAB_PIDS[i]}")
	done
	((${#rev[@]})) && _lab_stop 5 "${rev[@]}"
	LAB_PIDS=()
	for ns in "${LAB_NETNS[@]}"; do
		# Every process in a namespace we made is ours.
		for i in 1 2 3; do
			pid=$(ip netns pids "$ns" 2>/dev/null)
			[[ -z $pid ]] && break
			# shellcheck disable=SC2086
			kill -KILL $pid 2>/dev/null
			sleep 0.1
		done
		ip netns delete "$ns" 2>/dev/null
	done
	LAB_NETNS=()
	# A failed test (not a skip, not an interrupt) shows what the daemons said.
	((rc != 0 && rc != 77 && rc < 128)) && lab_dump_logs
	if [[ -n ${LAB_DIR:-} && -d $LAB_DIR && $LAB_DIR == /tmp/pclab.* ]]; then
		if ((rc != 0)) && [[ -n ${LAB_KEEP_LOGS:-} ]]; then
			lab_log "keeping logs in $LAB_DIR (LAB_KEEP_LOGS)"
		else
			rm -rf "$LAB_DIR"
		fi
	fi
	# An EXIT trap's return status is ignored: only exit changes the script's.
	((rc == rc_in)) || exit "$rc"
	return "$rc"
}

# _lab_portcheckd_verdict: stop the daemon under test (if it still runs) and judge how
# it ended. Returns 1, with a FAIL line, when it exited non-zero (a crash, an abort by a
# sanitizer, LeakSanitizer's exit status, a SIGTERM it did not honour) or its log holds
# a sanitizer report.
_lab_portcheckd_verdict() {
	local pid=$LAB_PORTCHECKD_PID e entry="" st log=$LAB_DIR/portcheckd.log ok=0
	LAB_PORTCHECKD_PID=
	for e in "${LAB_PIDS[@]}"; do
		[[ ${e%%:*} == "$pid" ]] && entry=$e
	done
	[[ -n $entry ]] && _lab_stop 10 "$entry"
	# Our own child: wait gives its exit status (127: already reaped by the test).
	wait "$pid" 2>/dev/null
	st=$?
	if ((st != 0 && st != 127)); then
		printf 'FAIL: portcheckd (pid %s) exited with status %s at teardown\n' "$pid" "$st" >&2
		ok=1
	fi
	if [[ -f $log ]] && grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)' "$log"; then
		printf 'FAIL: portcheckd log holds a sanitizer report:\n' >&2
		grep -E -A30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" | head -60 >&2
		ok=1
	fi
	return $ok
}

# lab_dump_logs: print the tail of every log in $LAB_DIR to stderr (lab_cleanup
# does it when the script fails), so CI output shows what the daemons said.
lab_dump_logs() {
	local f
	[[ -d ${LAB_DIR:-} ]] || return 0
	for f in "$LAB_DIR"/*.log; do
		[[ -s $f ]] || continue
		echo "----- ${f##*/} (last 40 lines) -----" >&2
		tail -n 40 "$f" >&2
	done
}

# --- network -----------------------------------------------------------------

# _lab_ip NS ARGS...: `ip -n NS ARGS`, fatal on failure. Always -n: no ip
# command here ever runs in the root namespace.
_lab_ip() {
	ip -n "$1" "${@:2}" || lab_die "ip -n $*: failed"
}

# _lab_sysctl NS KEY=VALUE...: per-namespace sysctls (net.* is per namespace).
_lab_sysctl() {
	ip netns exec "$1" sysctl -qw "${@:2}" || lab_die "sysctl ${*:2} in $1: failed"
}

_lab_netns_add() {
	ip netns add "$1" || lab_die "cannot create network namespace $1"
	LAB_NETNS+=("$1")
	_lab_ip "$1" link set lo up
	# Interfaces created from now on skip DAD, so IPv6 (link-local too) is
	# usable at once instead of "tentative" for a second or two.
	_lab_sysctl "$1" net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
}

# lab_netns_server_client: the three namespaces and their two veth links.
lab_netns_server_client() {
	[[ -n ${LAB_DIR:-} ]] || lab_die "call lab_init first"
	_lab_netns_add "$LAB_SRV"
	_lab_netns_add "$LAB_CLI"
	_lab_netns_add "$LAB_CTR"

	# Both ends are born inside their namespaces: no name is ever taken in the
	# root namespace, so parallel runs cannot collide there.
	_lab_ip "$LAB_SRV" link add eth0 type veth peer name eth0 netns "$LAB_CLI"
	_lab_ip "$LAB_SRV" link add "$LAB_CTR_IF" type veth peer name eth0 netns "$LAB_CTR"

	_lab_ip "$LAB_SRV" addr add "$LAB_SRV_IPV4/24" dev eth0
	_lab_ip "$LAB_SRV" addr add "$LAB_SRV_IPV6/64" dev eth0 nodad
	_lab_ip "$LAB_SRV" addr add "$LAB_SRV_CTR_IPV4/24" dev "$LAB_CTR_IF"
	_lab_ip "$LAB_SRV" link set eth0 up
	_lab_ip "$LAB_SRV" link set "$LAB_CTR_IF" up

	_lab_ip "$LAB_CLI" addr add "$LAB_CLI_IPV4/24" dev eth0
	_lab_ip "$LAB_CLI" addr add "$LAB_CLI_IPV6/64" dev eth0 nodad
	_lab_ip "$LAB_CLI" link set eth0 up

	_lab_ip "$LAB_CTR" addr add "$LAB_CTR_IPV4/24" dev eth0
	_lab_ip "$LAB_CTR" link set eth0 up
	_lab_ip "$LAB_CTR" route add default via "$LAB_SRV_CTR_IPV4"

	# The server routes between client and container (Docker's DNAT needs it).
	_lab_sysctl "$LAB_SRV" net.ipv4.ip_forward=1
	# Like a real server, it has default routes (towards the client, its "uplink"):
	# replies, ICMP errors included, can reach any source, so a reject is seen on the
	# wire rather than lost for want of a route back.
	_lab_ip "$LAB_SRV" route add default via "$LAB_CLI_IPV4"
	_lab_ip "$LAB_SRV" -6 route add default via "$LAB_CLI_IPV6"

	# A veth only passes packets once the kernel's link watcher has seen its
	# carrier and attached the real qdisc (state UP); until then a first probe
	# can vanish and look "filtered". Wait for all four ends.
	lab_wait 10 "the veth links to come up" _lab_links_up ||
		lab_die "the lab's veth links did not come up"
}

_lab_links_up() {
	local ns_dev
	for ns_dev in "$LAB_SRV eth0" "$LAB_SRV $LAB_CTR_IF" "$LAB_CLI eth0" "$LAB_CTR eth0"; do
		# shellcheck disable=SC2086
		set -- $ns_dev
		[[ $(ip -n "$1" -o link show "$2" 2>/dev/null) == *"state UP"* ]] || return 1
	done
}

# --- private D-Bus system bus ------------------------------------------------

_lab_dbus_config() {
	cat <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- A system-type bus of our own: firewalld and firewall-cmd behave as on the
       real system bus, but only this lab can see it. No <user>: stays root.
       No service dirs: nothing gets bus-activated behind our back. -->
  <type>system</type>
  <listen>unix:path=$LAB_DIR/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <includedir>/usr/share/dbus-1/system.d</includedir>
  <includedir>/etc/dbus-1/system.d</includedir>
  <policy context="default">
    <allow user="*"/>
  </policy>
  <!-- mandatory is applied after every other policy, including the included
       files' deny rules: everything is allowed on this bus. -->
  <policy context="mandatory">
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*" eavesdrop="true"/>
    <allow send_type="method_call"/>
  </policy>
</busconfig>
EOF
}

# lab_dbus_start: a private system bus; exports DBUS_SYSTEM_BUS_ADDRESS.
# The socket is a path (not abstract): abstract AF_UNIX names are per network
# namespace, a path is reachable from every namespace of the lab.
lab_dbus_start() {
	[[ -n ${LAB_DIR:-} ]] || lab_die "call lab_init first"
	_lab_need_cmds dbus-daemon
	_lab_dbus_config >"$LAB_DIR/bus.conf"
	_lab_spawn - "$LAB_DIR/dbus.log" \
		dbus-daemon --config-file="$LAB_DIR/bus.conf" --nofork --nopidfile --nosyslog
	LAB_DBUS_PID=$LAB_SPAWNED
	export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$LAB_DIR/bus.sock"
	lab_wait --pid "$LAB_DBUS_PID" 10 "the private D-Bus socket" test -S "$LAB_DIR/bus.sock" ||
		lab_die "dbus-daemon did not start"
}

# --- firewalld ---------------------------------------------------------------

# _lab_conf_set FILE KEY VALUE: set KEY=VALUE in a firewalld.conf, adding it if absent.
_lab_conf_set() {
	if grep -q "^$2=" "$1"; then
		sed -i "s|^$2=.*|$2=$3|" "$1"
	else
		echo "$2=$3" >>"$1"
	fi
}

# lab_firewalld_start [nftables|iptables]: a real firewalld in the server
# namespace, private config, private bus, default zone public. No interface is
# bound to a zone, so eth0 and veth-ctr both fall to public. (A real Docker host
# puts docker0 in a "docker" zone with target ACCEPT; that would make host ports
# reachable from the container and turn "blocked" into "partial", which the
# incident tests do not want.)
lab_firewalld_start() {
	local backend=${1:-nftables}
	# firewalld silently falls back to nftables on an unknown backend name.
	[[ $backend == nftables || $backend == iptables ]] ||
		lab_die "lab_firewalld_start: backend must be nftables or iptables, not '$backend'"
	[[ -n ${DBUS_SYSTEM_BUS_ADDRESS:-} && ${DBUS_SYSTEM_BUS_ADDRESS} == "unix:path=$LAB_DIR/"* ]] ||
		lab_die "call lab_dbus_start first (never talk to the system bus)"
	[[ ${#LAB_NETNS[@]} -gt 0 ]] || lab_die "call lab_netns_server_client first"
	# unshare: firewalld's private /run/firewalld (below).
	_lab_need_cmds firewalld firewall-cmd unshare
	[[ $backend == nftables ]] || _lab_need_cmds iptables ip6tables

	local conf=$LAB_DIR/fwconf
	rm -rf "$conf"
	cp -a /etc/firewalld "$conf" || lab_die "cannot copy /etc/firewalld"
	_lab_conf_set "$conf/firewalld.conf" FirewallBackend "$backend"
	_lab_conf_set "$conf/firewalld.conf" DefaultZone public

	# firewalld keeps temporary files in /run/firewalld (iptables backend);
	# a tmpfs there, in a mount namespace of its own, keeps the host's /run
	# clean. (ip netns exec already enters a new mount namespace, slave to the
	# host's; unshare -m makes it explicit and private.) The mount point must
	# exist: this empty directory is the one trace left on the host. Never
	# remove it: another lab's firewalld may have its tmpfs mounted there.
	[[ -d /run/firewalld ]] || mkdir -m 0750 /run/firewalld || lab_die "cannot create /run/firewalld"
	_lab_firewalld_spawn "$LAB_DIR/firewalld.log"
}

# _lab_firewalld_spawn LOG: start firewalld on the private config $LAB_DIR/fwconf
# as it is (lab_firewalld_start made it) and wait until it is running.
_lab_firewalld_spawn() {
	# shellcheck disable=SC2086,SC2016
	_lab_spawn "$LAB_SRV" "$1" unshare -m --propagation private \
		sh -c 'mount -t tmpfs -o mode=0750 pclab-firewalld /run/firewalld && exec "$@"' sh \
		firewalld --nofork --nopid --system-config "$LAB_DIR/fwconf" --log-target console \
		${LAB_FIREWALLD_ARGS:-}
	LAB_FIREWALLD_PID=$LAB_SPAWNED

	lab_wait --pid "$LAB_FIREWALLD_PID" 30 "firewalld to report running" _lab_firewalld_running ||
		lab_die "firewalld did not start"
}

# lab_firewalld_restart: stop firewalld and start it again on the same private
# configuration (not a fresh copy of /etc/firewalld, unlike lab_firewalld_start),
# as a reboot or `systemctl restart firewalld` would: the permanent configuration
# is all that survives. The new instance logs to firewalld-restartN.log.
lab_firewalld_restart() {
	[[ -d ${LAB_DIR:-}/fwconf ]] || lab_die "call lab_firewalld_start first"
	lab_firewalld_stop
	LAB_FIREWALLD_RESTARTS=$((${LAB_FIREWALLD_RESTARTS:-0} + 1))
	_lab_firewalld_spawn "$LAB_DIR/firewalld-restart$LAB_FIREWALLD_RESTARTS.log"
}

_lab_firewalld_running() {
	[[ $(lab_fwcmd --state 2>/dev/null) == running ]]
}

# lab_firewalld_stop: SIGTERM (firewalld then removes its rules, CleanupOnExit),
# bounded wait, SIGKILL if it hangs.
lab_firewalld_stop() {
	[[ -n ${LAB_FIREWALLD_PID:-} ]] || return 0
	local e
	for e in "${LAB_PIDS[@]}"; do
		[[ ${e%%:*} == "$LAB_FIREWALLD_PID" ]] && _lab_stop 15 "$e"
	done
	LAB_FIREWALLD_PID=""
}

# lab_fwcmd ARGS...: firewall-cmd against the lab's firewalld (private bus,
# server namespace). Bounded: firewall-cmd can block on a wedged bus.
lab_fwcmd() {
	_lab_in "$LAB_SRV" timeout 30 firewall-cmd "$@"
}

# lab_nft ARGS...: nft inside the server namespace (never in the root one).
lab_nft() {
	ip netns exec "$LAB_SRV" nft "$@"
}

# --- Docker-style published port -------------------------------------------

# lab_docker_dnat: what `docker run -p 8000:8000` leaves in the kernel, in
# nft form: DNAT of tcp/8000 arriving from outside to the container, and
# masquerade for the container's own outbound traffic. Plus the container
# process itself (comm "python-app") listening in the container namespace.
lab_docker_dnat() {
	_lab_need_cmds nft
	lab_nft -f - <<EOF || lab_die "cannot load the Docker-style nft table"
table ip portcheck_lab_docker {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname != "$LAB_CTR_IF" tcp dport 8000 dnat to $LAB_CTR_IPV4:8000
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 198.51.100.0/24 oifname != "$LAB_CTR_IF" masquerade
	}
}
EOF
	_lab_listeners_in "$LAB_CTR" ctr tcp:0.0.0.0:8000:python-app
}

# --- listeners ---------------------------------------------------------------

_lab_listeners_in() {
	local ns=$1 tag=$2
	shift 2
	local log
	_lab_need_cmds "$LAB_PYTHON"
	log=$(mktemp "$LAB_DIR/listeners-$tag-XXXX.log")
	_lab_spawn "$ns" "$log" "$LAB_PYTHON" "$LAB_LIB_DIR/listeners.py" \
		--lifetime "${LAB_LISTENER_LIFETIME:-600}" "$@"
	lab_wait --pid "$LAB_SPAWNED" 15 "listeners $* in $ns" grep -qx ready "$log" ||
		lab_die "listeners did not start: $*"
}

# lab_listeners SPEC...: listening sockets in the server namespace owned by
# processes with realistic names (see listeners.py for SPEC), ready on return.
lab_listeners() {
	_lab_listeners_in "$LAB_SRV" srv "$@"
}

# --- the incident ------------------------------------------------------------

# lab_incident: the box of the firewalld incident (the README's first example), as the
# demo and test_incident.sh use it: firewalld
# (nftables backend) with default zone public, sshd on 0.0.0.0:22, nginx on
# [::]:80 dual-stack, postgres on 127.0.0.1:5432, and a container publishing
# 8000 (Docker's DNAT plus docker-proxy, Docker's userland proxy, listening on
# the host as Docker does by default).
lab_incident() {
	lab_netns_server_client
	lab_dbus_start
	lab_firewalld_start nftables
	lab_listeners tcp:0.0.0.0:22:sshd 'tcp:[::]:80:nginx:dual' tcp:127.0.0.1:5432:postgres \
		tcp:0.0.0.0:8000:docker-proxy
	lab_docker_dnat
}

# --- portcheck ---------------------------------------------------------------

# lab_binaries: unless set, point PORTCHECK and PORTCHECKD at the build tree of
# this checkout: build/client/portcheck and build/daemon/portcheckd, or
# build/portcheck and build/portcheckd (CMake's default output layout) if
# those exist. Returns 1 if either is not an executable. (ctest passes both.)
lab_binaries() {
	local build
	build=$(cd "$LAB_LIB_DIR/../.." && pwd)/build
	if [[ -z ${PORTCHECK:-} ]]; then
		PORTCHECK=$build/client/portcheck
		[[ -x $PORTCHECK || ! -x $build/portcheck ]] || PORTCHECK=$build/portcheck
	fi
	if [[ -z ${PORTCHECKD:-} ]]; then
		PORTCHECKD=$build/daemon/portcheckd
		[[ -x $PORTCHECKD || ! -x $build/portcheckd ]] || PORTCHECKD=$build/portcheckd
	fi
	export PORTCHECK PORTCHECKD
	[[ -x $PORTCHECK && -x $PORTCHECKD ]]
}

# lab_portcheckd_start [ARGS...]: the daemon under test, in the server namespace, on the
# private bus, listening on $LAB_DIR/pc.sock; returns once the socket exists. Its
# configuration is looked up under $LAB_DIR/confroot (empty unless the test writes
# $LAB_DIR/confroot/etc/portcheck/...), never the host's /etc/portcheck.
lab_portcheckd_start() {
	[[ -n ${PORTCHECKD:-} && -x ${PORTCHECKD} ]] ||
		lab_die "PORTCHECKD must name the built portcheckd (got '${PORTCHECKD:-}')"
	mkdir -p "$LAB_DIR/confroot"
	_lab_spawn "$LAB_SRV" "$LAB_DIR/portcheckd.log" env PORTCHECK_CONFIG_ROOT="$LAB_DIR/confroot" \
		"$PORTCHECKD" --socket "$LAB_DIR/pc.sock" "$@"
	LAB_PORTCHECKD_PID=$LAB_SPAWNED
	lab_wait --pid "$LAB_PORTCHECKD_PID" 20 "portcheckd's socket" test -S "$LAB_DIR/pc.sock" ||
		lab_die "portcheckd did not start"
	# The daemon runs without transparent huge pages (portcheckd(8), GLIBC_TUNABLES): the
	# kernel says so in THP_enabled (Linux 5.0+; absent before, then nothing to check).
	local thp
	thp=$(awk '/^THP_enabled:/ {print $2}' "/proc/$LAB_PORTCHECKD_PID/status" 2>/dev/null) || true
	[[ -z $thp || $thp == 0 ]] ||
		lab_die "portcheckd runs with transparent huge pages (THP_enabled: $thp), see pc_huge_pages_daemon"
}

# lab_portcheck ARGS...: the client against the lab daemon. Returns the client's
# exit status (0 ok, 1 findings, 2 usage, 3 no answer; 124 if it hung 30 s).
lab_portcheck() {
	[[ -n ${PORTCHECK:-} && -x ${PORTCHECK} ]] ||
		lab_die "PORTCHECK must name the built portcheck client (got '${PORTCHECK:-}')"
	mkdir -p "$LAB_DIR/confroot"
	_lab_in "$LAB_SRV" env PORTCHECK_CONFIG_ROOT="$LAB_DIR/confroot" \
		timeout 30 "$PORTCHECK" --socket "$LAB_DIR/pc.sock" "$@"
}

# lab_pc NAME ARGS...: the client as root against the lab daemon; stdout in
# $LAB_DIR/NAME.out, stderr in $LAB_DIR/NAME.err, exit status in RC.
lab_pc() {
	local name=$1
	shift
	RC=0
	lab_portcheck "$@" >"$LAB_DIR/$name.out" 2>"$LAB_DIR/$name.err" || RC=$?
	PC_CMD="portcheck $*"
}

# lab_shown NAME: what the last lab_pc run said, for failure messages.
lab_shown() {
	printf '"%s": exit %s; stdout: %s; stderr: %s' "$PC_CMD" "$RC" \
		"$(head -c 1500 "$LAB_DIR/$1.out")" "$(head -c 1000 "$LAB_DIR/$1.err")"
}

# lab_expect_rc NAME WANT...: the last lab_pc run's exit status is one of WANT.
lab_expect_rc() {
	local name=$1 w
	shift
	for w in "$@"; do
		((RC == w)) && return 0
	done
	lab_die "exit status $RC, want $*: $(lab_shown "$name")"
}

# --- probes --------------------------------------------------------------------

# lab_connect_tcp NS HOST PORT: what an application (curl, say) sees when it
# connects from namespace NS: "connected", or the error text, e.g. "No route to
# host" (ICMP admin-prohibited), "Connection refused" (RST), "timed out".
lab_connect_tcp() {
	ip netns exec "$1" "$LAB_PYTHON" -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print("connected")
except socket.timeout:
    print("timed out")
except OSError as e:
    print(e.strerror or e)
' "$2" "$3"
}

# _lab_nmap_probe PORT FAMILY [SOURCE]: one SYN probe from the client namespace to the
# server (from SOURCE, one of the client's addresses, if given); prints "REASON
# TYPE/CODE" where REASON is nmap's reason word and TYPE/CODE the ICMP error received
# ("-" if none).
_lab_nmap_probe() {
	local port=$1 family=${2:-ipv4} src=${3:-} target args=()
	case $family in
	ipv4) target=$LAB_SRV_IPV4 ;;
	ipv6) target=$LAB_SRV_IPV6 args=(-6) ;;
	*) lab_die "lab_probe_tcp: family must be ipv4 or ipv6, not '$family'" ;;
	esac
	[[ $port =~ ^[0-9]+$ ]] || lab_die "lab_probe_tcp: bad port '$port'"
	[[ -z $src ]] || args+=(-S "$src" -e eth0)
	# Here (usually inside $(...)) a missing tool cannot become a SKIP: the test must
	# name nmap to lab_require_root; one that forgot fails rather than passes.
	command -v nmap >/dev/null 2>&1 || lab_die "nmap is not installed, and this test did not ask for it (lab_require_root nmap)"
	# -n no DNS, -Pn no host discovery; one retry keeps a silent drop to ~2 s;
	# --packet-trace shows the ICMP type/code, which nmap's reason folds together
	# for IPv6; -oX gives a stable place to read the reason from. timeout bounds
	# the whole run.
	local trace=$LAB_DIR/nmap-$port-$family${src:+-$src} reason icmp
	ip netns exec "$LAB_CLI" timeout 60 nmap -n -Pn -sS --reason --packet-trace \
		--max-retries 1 --host-timeout 30s -p "$port" "${args[@]}" -oX "$trace.xml" "$target" \
		>"$trace.out" 2>&1 || lab_die "nmap failed: $(cat "$trace.out")"
	# <port protocol="tcp" portid="80"><state state="filtered" reason="admin-prohibited" ...
	reason=$(sed -n "s/.*<port protocol=\"tcp\" portid=\"$port\"><state state=\"[^\"]*\" reason=\"\([^\"]*\)\".*/\1/p" "$trace.xml")
	[[ -n $reason ]] || lab_die "cannot read nmap's answer for port $port ($family): $(cat "$trace.out")"
	# RCVD lines look like "... ICMP [192.0.2.1 > 192.0.2.2 ... (type=3/code=13) ] ..."
	# and "... ICMPv6 (58) 2001:db8:1::1 > 2001:db8:1::2 (type=1/code=1) ...".
	icmp=$(sed -n 's/^RCVD .*ICMP.*(type=\([0-9]*\)\/code=\([0-9]*\)).*/\1\/\2/p' "$trace.out" | head -n 1)
	echo "$reason ${icmp:--}"
}

# lab_probe_tcp PORT [ipv4|ipv6 [SOURCE]]: what a real client sees when it connects to
# the server's PORT (from the client's address SOURCE, when it has several); prints one
# word. Mapping from nmap's reason:
#   syn-ack          -> open       (SYN-ACK: the connection would be accepted)
#   reset            -> closed     (TCP RST: reachable, nothing listening, or reject with tcp reset)
#   no-response      -> filtered   (silence: dropped)
#   admin-prohibited -> reject-admin-prohibited
#                       IPv4 ICMP 3/13 "communication administratively prohibited";
#                       IPv6 ICMPv6 1/1 (or 1/5). firewalld's nftables backend:
#                       `reject with icmpx admin-prohibited`.
#   host-prohibited  -> reject-host-prohibited  (ICMP 3/10; iptables' icmp-host-prohibited,
#                       what the original incident's (older) firewalld sent)
#   net-prohibited   -> reject-net-prohibited   (ICMP 3/9)
#   port-unreach     -> reject-port-unreach     (ICMP 3/3, ICMPv6 1/4; plain REJECT, which is
#                       what firewalld 1.3's *iptables* backend sends from its zone chains)
#   host-unreach     -> reject-host-unreach     (ICMP 3/1, ICMPv6 1/3)
#   net-unreach      -> reject-net-unreach      (ICMP 3/0)
#   no-route         -> reject-no-route         (ICMPv6 1/0)
#   proto-unreach    -> reject-proto-unreach    (ICMP 3/2)
#   anything else    -> unknown-REASON
# Use lab_probe_tcp_icmp for the exact ICMP type/code.
lab_probe_tcp() {
	local out reason
	out=$(_lab_nmap_probe "$@") || exit 1
	reason=${out%% *}
	case $reason in
	syn-ack) echo open ;;
	reset) echo closed ;;
	no-response) echo filtered ;;
	admin-prohibited | host-prohibited | net-prohibited | port-unreach | host-unreach | \
		net-unreach | no-route | proto-unreach)
		echo "reject-$reason" ;;
	*) echo "unknown-$reason" ;;
	esac
}

# lab_probe_tcp_icmp PORT [ipv4|ipv6]: the ICMP error a SYN to PORT gets, as
# TYPE/CODE as seen on the wire (ICMPv6 for ipv6), e.g. 3/13 or 1/1; "-" when
# the answer was not an ICMP error (SYN-ACK, RST or silence).
lab_probe_tcp_icmp() {
	local out
	out=$(_lab_nmap_probe "$@") || exit 1
	echo "${out#* }"
}

# --- more links ----------------------------------------------------------------

# lab_netns_peer TAG SRV_IF SRV_ADDR/LEN PEER_ADDR/LEN: one more namespace,
# pclab-TAG-$LAB_ID (its name in LAB_PEER on return), linked to the server by a
# new veth pair: SRV_IF in the server, eth0 in the new namespace, both addressed
# and up. Like the others, both ends are born in their namespaces and
# lab_cleanup deletes the namespace. Call it directly, not in $(...).
lab_netns_peer() {
	[[ $# -eq 4 ]] || lab_die "usage: lab_netns_peer TAG SRV_IF SRV_ADDR/LEN PEER_ADDR/LEN"
	if [[ -z ${LAB_SRV:-} ]] || ! ip netns pids "$LAB_SRV" >/dev/null 2>&1; then
		lab_die "call lab_netns_server_client first"
	fi
	local ns="pclab-$1-$LAB_ID"
	_lab_netns_add "$ns"
	_lab_ip "$LAB_SRV" link add "$2" type veth peer name eth0 netns "$ns"
	_lab_ip "$LAB_SRV" addr add "$3" dev "$2"
	_lab_ip "$ns" addr add "$4" dev eth0
	_lab_ip "$LAB_SRV" link set "$2" up
	_lab_ip "$ns" link set eth0 up
	lab_wait 10 "the veth link $2 to come up" _lab_link_pair_up "$LAB_SRV" "$2" "$ns" eth0 ||
		lab_die "the veth link $2 did not come up"
	export LAB_PEER=$ns
}

_lab_link_pair_up() {
	[[ $(ip -n "$1" -o link show "$2" 2>/dev/null) == *"state UP"* &&
		$(ip -n "$3" -o link show "$4" 2>/dev/null) == *"state UP"* ]]
}
