# shellcheck shell=bash
# container.sh: boot a Debian 12 tree (tests/system/rootfs.sh) as a container with
# systemd-nspawn, run commands in it, probe it from outside, tear it all down. A library
# to source from bash.
#
#   client netns $SYS_CLI                  container netns $SYS_NETNS (the container's own)
#   eth0 198.51.100.2/24     <-- veth -->  eth0 198.51.100.1/24  2001:db8:51::1/64
#        2001:db8:51::2/64                 default via 198.51.100.2, 2001:db8:51::2
#                                          systemd, dbus, firewalld, portcheckd, ...
#
# Safety rules the functions keep (callers must keep them too):
#   - the container runs in a network namespace made here, never the machine's own;
#     both veth ends are created directly inside their namespaces, so nothing ever
#     appears in the machine's namespace; documentation addresses only;
#   - the cached tree is never written: nspawn boots it with --volatile=overlay (a
#     tmpfs upper layer, gone with the container); the package directory is bound
#     read-only; no journal linking to the host (--link-journal=no);
#   - every wait is bounded in tries and in time; sys_exec bounds every command
#     (SYS_EXEC_TIMEOUT, default 120 s);
#   - sys_init installs sys_teardown on EXIT (INT/TERM/HUP turn into an exit): it
#     powers the container off (bounded), then kills it, and removes the namespaces,
#     the cgroups and the temporary directory made here.
#
# Typical use:
#   . tests/system/container.sh
#   sys_require_root
#   sys_init
#   sys_boot "$(tests/system/rootfs.sh)" /path/to/debs     # debs at /srv/debs inside
#   sys_exec systemctl is-system-running
#   sys_probe_tcp 80          # "accept -", "icmp 3/13", "rst -", "none -" (ground truth)
#
# This machine may not run systemd as PID 1 (then nspawn cannot ask systemd for a
# scope): sys_boot then makes the container's cgroups itself, a group of its own in the
# name=systemd and the unified hierarchies, runs nspawn in it with --keep-unit, and
# asks nspawn for a cgroup v2 (unified) container like a real Debian 12 host
# (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1; PORTCHECK_SYSTEST_UNIFIED=0 for a v1 one).
#
# Outputs: SYS_ID SYS_DIR SYS_NETNS SYS_CLI SYS_NSPAWN_PID SYS_LEADER SYS_MACHINE
#          SYS_SRV_IPV4 SYS_SRV_IPV6 SYS_CLI_IPV4 SYS_CLI_IPV6
# The library sets no shell options; it works under `set -euo pipefail`.

SYS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SYS_PROBER=$SYS_LIB_DIR/../lab/prober.py

SYS_SRV_IPV4=198.51.100.1
SYS_CLI_IPV4=198.51.100.2
SYS_SRV_IPV6=2001:db8:51::1
SYS_CLI_IPV6=2001:db8:51::2

SYS_ID=""
SYS_DIR=""
SYS_NETNS=""
SYS_CLI=""
SYS_NSPAWN_PID=""
SYS_LEADER=""
SYS_MACHINE=""
SYS_CGROUPS=() # cgroup directories made here, to remove at teardown
SYS_PROBE_SPORT=30000

sys_log() { printf 'system: %s\n' "$*" >&2; }

sys_die() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# sys_skip MESSAGE: exit 77 (ctest: skipped), loudly.
sys_skip() {
	printf '\n*** SKIPPED: %s ***\n\n' "$*" >&2
	exit 77
}

sys_require_root() {
	[[ $(id -u) -eq 0 ]] || sys_skip "the system tier needs root (it boots a container with systemd-nspawn)"
	local t
	for t in systemd-nspawn debootstrap nsenter unshare ip python3 flock; do
		command -v "$t" >/dev/null ||
			sys_skip "the system tier needs '$t' (packages systemd-container debootstrap util-linux iproute2 python3; tests/install-deps.sh)"
	done
}

# sys_wait SECONDS WHAT CMD...: run CMD every 0.2 s until it succeeds; at most
# SECONDS*5 tries and SECONDS of wall time (CMD must be bounded itself).
sys_wait() {
	local _sw_secs=$1 _sw_what=$2 _sw_i _sw_deadline
	shift 2
	_sw_deadline=$((SECONDS + _sw_secs))
	for ((_sw_i = 0; _sw_i < _sw_secs * 5; _sw_i++)); do
		"$@" >/dev/null 2>&1 && return 0
		((SECONDS < _sw_deadline)) || break
		sleep 0.2
	done
	sys_log "timed out after ${_sw_secs} s waiting for $_sw_what"
	return 1
}

sys_init() {
	SYS_ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	SYS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pcsys-$SYS_ID.XXXXXX")
	SYS_NETNS=pcsys-$SYS_ID
	SYS_CLI=pcsys-$SYS_ID-cli
	SYS_MACHINE=pcsys-$SYS_ID
	trap sys_teardown EXIT
	trap 'exit 130' INT TERM HUP
}

# sys_netns: the container's namespace and the client's, joined by a veth pair.
sys_netns() {
	ip netns add "$SYS_NETNS" || sys_die "cannot create netns $SYS_NETNS"
	ip netns add "$SYS_CLI" || sys_die "cannot create netns $SYS_CLI"
	ip -n "$SYS_NETNS" link set lo up
	ip -n "$SYS_CLI" link set lo up
	# Both ends are born inside their namespaces: nothing touches the machine's own.
	ip -n "$SYS_NETNS" link add eth0 type veth peer name eth0 netns "$SYS_CLI" ||
		sys_die "cannot create the veth pair"
	ip -n "$SYS_NETNS" addr add "$SYS_SRV_IPV4/24" dev eth0
	ip -n "$SYS_NETNS" addr add "$SYS_SRV_IPV6/64" dev eth0 nodad
	ip -n "$SYS_CLI" addr add "$SYS_CLI_IPV4/24" dev eth0
	ip -n "$SYS_CLI" addr add "$SYS_CLI_IPV6/64" dev eth0 nodad
	ip -n "$SYS_NETNS" link set eth0 up
	ip -n "$SYS_CLI" link set eth0 up
	# Like a real server, the container has a default route (towards the client side).
	# Without one, firewalld's IPv6 reverse-path filter (fib saddr ... oif missing drop)
	# rightly drops every source outside the link's /64, and portcheck says so.
	ip -n "$SYS_NETNS" route add default via "$SYS_CLI_IPV4" dev eth0
	ip -n "$SYS_NETNS" -6 route add default via "$SYS_CLI_IPV6" dev eth0
}

# sys_cgroup_setup: on a machine whose PID 1 is not systemd, a cgroup of our own in the
# hierarchies systemd needs (recorded in SYS_CGROUPS, for nspawn to join and for
# sys_teardown to remove).
sys_cgroup_setup() {
	local root=/sys/fs/cgroup h d dirs=()
	if [[ -e $root/cgroup.controllers ]]; then # pure cgroup v2
		dirs=("$root/$SYS_MACHINE")
	else
		for h in unified systemd; do
			[[ -d $root/$h ]] && dirs+=("$root/$h/$SYS_MACHINE")
		done
	fi
	for d in "${dirs[@]}"; do
		mkdir "$d" || sys_die "cannot create cgroup $d"
		SYS_CGROUPS+=("$d")
	done
}

# sys_boot TREE DEBDIR: boot TREE (read-only, under a tmpfs overlay) in $SYS_NETNS with
# DEBDIR bound read-only at /srv/debs; wait until the system is up (bounded).
sys_boot() {
	local tree=$1 debdir=$2 args=() st p
	[[ -x $tree/usr/lib/systemd/systemd ]] || sys_die "not a bootable tree: $tree"
	[[ -d $debdir ]] || sys_die "no package directory: $debdir"
	[[ -n $SYS_DIR ]] || sys_die "sys_init first"
	sys_netns
	# shellcheck disable=SC2054 # --capability= takes a comma-separated list
	args=(
		--directory="$tree" --volatile=overlay --boot
		--machine="$SYS_MACHINE" --register=no
		--network-namespace-path="/run/netns/$SYS_NETNS"
		# nspawn drops CAP_NET_ADMIN by default: firewalld (and portcheckd) need it;
		# without it firewalld exits quietly and the system still says "running".
		--capability=CAP_NET_ADMIN,CAP_NET_RAW,CAP_SYS_PTRACE,CAP_DAC_READ_SEARCH
		--bind-ro="$debdir:/srv/debs"
		--link-journal=no --resolv-conf=off --timezone=off
		--console=read-only
	)
	if [[ -d /run/systemd/system ]]; then
		: # systemd on the machine: nspawn gets a scope from it
	else
		sys_cgroup_setup
		args+=(--keep-unit)
	fi
	sys_log "booting $tree as $SYS_MACHINE in netns $SYS_NETNS (console: $SYS_DIR/console.log)"
	(
		for p in "${SYS_CGROUPS[@]}"; do echo "$BASHPID" >"$p/cgroup.procs"; done
		export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=${PORTCHECK_SYSTEST_UNIFIED:-1}
		exec systemd-nspawn "${args[@]}"
	) </dev/null >"$SYS_DIR/console.log" 2>&1 &
	SYS_NSPAWN_PID=$!
	# The container's PID 1: nspawn's child that lives in another PID namespace.
	sys_wait 30 "the container's init" sys_find_leader ||
		{ tail -n 20 "$SYS_DIR/console.log" >&2; sys_die "the container did not start"; }
	SYS_LEADER=$(sys_find_leader)
	# Its manager needs a moment before its bus answers; is-system-running --wait then
	# waits for the boot to finish. Both bounded. "offline" is not final here:
	# systemctl prints it without asking anyone while /run/systemd/system does not
	# exist yet (sd_booted()), which is the case for the first moments of PID 1. A CI
	# run failed on that race ("did not come up (state 'offline')" right after
	# "Initializing machine ID"), so it is retried like no answer until the deadline.
	local i deadline=$((SECONDS + 120))
	for ((i = 0; i < 120; i++)); do
		kill -0 "$SYS_NSPAWN_PID" 2>/dev/null ||
			{ tail -n 30 "$SYS_DIR/console.log" >&2; sys_die "the container died while booting"; }
		st=$(SYS_EXEC_TIMEOUT=60 sys_exec systemctl is-system-running --wait 2>/dev/null) || true
		case $st in
		running | degraded | maintenance | stopping) break ;;
		esac
		((SECONDS < deadline)) || break
		sleep 0.5
	done
	case $st in
	running) sys_log "container up ($SECONDS s into the test): $st" ;;
	degraded)
		sys_log "container up but degraded; failed units:"
		sys_exec systemctl --failed --no-pager >&2 || true
		;;
	*)
		tail -n 30 "$SYS_DIR/console.log" >&2
		sys_die "the container did not come up (state '${st:-no answer}')"
		;;
	esac
}

sys_find_leader() {
	local c mine
	mine=$(readlink /proc/self/ns/pid)
	for c in $(pgrep -P "$SYS_NSPAWN_PID" 2>/dev/null); do
		if [[ $(readlink "/proc/$c/ns/pid" 2>/dev/null) != "$mine" && $(cat "/proc/$c/comm" 2>/dev/null) == systemd ]]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# sys_exec CMD...: run CMD inside the container (all its namespaces and its root) as
# root, with a clean environment; stdin, stdout, stderr and the exit status pass
# through. Bounded by SYS_EXEC_TIMEOUT seconds (default 120; exit 124 on timeout).
sys_exec() {
	[[ -n $SYS_LEADER ]] || sys_die "sys_exec: no container"
	timeout -k 5 "${SYS_EXEC_TIMEOUT:-120}" \
		nsenter --target "$SYS_LEADER" --mount --uts --ipc --net --pid --cgroup --root --wd -- \
		/usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# sys_copy_out PATH_INSIDE PATH_OUTSIDE: copy a file out of the container.
sys_copy_out() {
	sys_exec cat "$1" >"$2"
}

# sys_write PATH_INSIDE [MODE]: write stdin to a file inside the container.
sys_write() {
	local path=$1 mode=${2:-0644}
	# shellcheck disable=SC2016 # expanded by the shell inside
	sys_exec sh -c 'mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"' sh "$path" "$mode"
}

# sys_probe_tcp PORT [ipv4|ipv6]: a real new TCP connection from the client namespace
# to the container; prints what came back (tests/lab/prober.py): "accept -",
# "rst -", "icmp T/C" (3/13 is IPv4 admin-prohibited, 1/1 its ICMPv6 twin), "none -".
sys_probe_tcp() {
	local port=$1 family=${2:-ipv4} src dst out
	case $family in
	ipv4) src=$SYS_CLI_IPV4 dst=$SYS_SRV_IPV4 ;;
	ipv6) src=$SYS_CLI_IPV6 dst=$SYS_SRV_IPV6 ;;
	*) sys_die "sys_probe_tcp: family must be ipv4 or ipv6" ;;
	esac
	# A new source port each time: conntrack must not remember an earlier probe.
	SYS_PROBE_SPORT=$((SYS_PROBE_SPORT + 10))
	out=$(echo "1 $family tcp $src $dst $port" |
		ip netns exec "$SYS_CLI" timeout 20 python3 "$SYS_PROBER" --timeout 2 \
			--sport-base "$SYS_PROBE_SPORT") || sys_die "prober failed"
	# "1<TAB>RESULT<TAB>DETAIL"
	awk -F'\t' '{print $2, $3}' <<<"$out"
}

# sys_journal_dump [N]: the container's journal of this boot, last N lines, on stderr.
sys_journal_dump() {
	[[ -n $SYS_LEADER ]] && kill -0 "$SYS_LEADER" 2>/dev/null || return 0
	printf '\n----- container journal (last %s lines) -----\n' "${1:-200}" >&2
	SYS_EXEC_TIMEOUT=30 sys_exec journalctl -b --no-pager -n "${1:-200}" >&2 || true
	printf -- '----- end of journal -----\n' >&2
}

# sys_teardown: poweroff (bounded), then kill; namespaces, cgroups, temp dir. Safe to
# call more than once and at any stage of sys_boot.
sys_teardown() {
	local rc=$? i pid d
	set +e # from an EXIT trap under errexit: one failing step must not skip the rest
	trap - EXIT
	if [[ -n $SYS_NSPAWN_PID ]] && kill -0 "$SYS_NSPAWN_PID" 2>/dev/null; then
		if [[ -n $SYS_LEADER ]]; then
			SYS_EXEC_TIMEOUT=10 sys_exec systemctl poweroff --no-block >/dev/null 2>&1 || true
		fi
		for ((i = 0; i < 150; i++)); do # 30 s
			kill -0 "$SYS_NSPAWN_PID" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$SYS_NSPAWN_PID" 2>/dev/null; then
			sys_log "the container did not power off in 30 s: killing it"
			# Killing the container's PID 1 kills everything in its PID namespace.
			[[ -n $SYS_LEADER ]] && kill -KILL "$SYS_LEADER" 2>/dev/null
			kill -KILL "$SYS_NSPAWN_PID" 2>/dev/null
			for ((i = 0; i < 50; i++)); do
				kill -0 "$SYS_NSPAWN_PID" 2>/dev/null || break
				sleep 0.2
			done
		fi
	fi
	wait "$SYS_NSPAWN_PID" 2>/dev/null || true
	# Whatever the test started in the client namespace (probes are bounded anyway).
	if [[ -n $SYS_CLI && -e /run/netns/$SYS_CLI ]]; then
		for pid in $(ip netns pids "$SYS_CLI" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	fi
	if [[ -n $SYS_NETNS && -e /run/netns/$SYS_NETNS ]]; then
		for pid in $(ip netns pids "$SYS_NETNS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	fi
	for d in "$SYS_CLI" "$SYS_NETNS"; do
		[[ -n $d && -e /run/netns/$d ]] && ip netns del "$d" 2>/dev/null
	done
	# The cgroups made here, deepest first (nspawn leaves its payload/ below them). A
	# cgroup empties a moment after its last process is gone: a few bounded tries.
	for d in "${SYS_CGROUPS[@]}"; do
		for ((i = 0; i < 25; i++)); do
			[[ -d $d ]] || break
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
			[[ -d $d ]] || break
			sleep 0.2
		done
		[[ -d $d ]] && sys_log "could not remove cgroup $d"
	done
	SYS_CGROUPS=()
	if [[ -n $SYS_DIR && -d $SYS_DIR ]]; then
		if [[ $rc -ne 0 && -s $SYS_DIR/console.log && -n ${SYS_KEEP_CONSOLE:-} ]]; then
			cp "$SYS_DIR/console.log" "$SYS_KEEP_CONSOLE" 2>/dev/null
		fi
		rm -rf --one-file-system "$SYS_DIR"
	fi
	SYS_NSPAWN_PID="" SYS_LEADER="" SYS_DIR=""
	return 0 # from the EXIT trap, the script keeps its own exit status
}
