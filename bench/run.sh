#!/usr/bin/env bash
# bench/run.sh: build portcheck optimised and measure it on a large host (root).
#
# The host lives in a network namespace made here: 5,000 TCP listeners, 50,000 rules in 500
# chains, an interval set and a concatenated interval set of N elements each, a verdict
# map (bench/genhost.py says exactly what). For each N in --sizes (ascending; the last is
# the host of the targets) it loads the ruleset, runs portcheck-bench inside the namespace
# (sources, analysis, per-evaluation cost) and times `nft list ruleset`, `ss -ltn` and
# `ss -ltnp` there for comparison. It times one `portcheck status` round trip against a
# portcheckd started in the namespace (and reads the daemon's peak memory) twice: with the
# listeners and an empty ruleset, and on the last host. About 4 minutes on 2 cores; the
# summary at the end is the table of the README's "Performance" section.
#
# Safety, as in tests/lab/lab.sh (whose helpers it uses): nothing happens outside the
# namespace, which gets a veth pair born inside it and documentation addresses only
# (192.0.2.1/24, 2001:db8:1::1/64, default routes via .254 / ::fe); nft, ss, the
# listeners and the daemon run only inside it; the daemon gets a D-Bus address that
# does not exist (no firewalld, and never the host's bus); every wait is bounded; on any
# exit (failure and Ctrl-C included) every process started here is stopped and the
# namespace and the temporary directory are removed.
#
# portcheck-bench and portcheckd run with the glibc tunables portcheckd.service sets
# (GLIBC_TUNABLES=glibc.malloc.hugetlb=1: malloc's heap in transparent huge pages); nft
# and ss with the environment as it is. --malloc-tunables '' measures without them.
#
# usage: sudo bench/run.sh [--sizes "2000 20000 200000"] [--reps N] [--budget SECONDS]
#                          [--status-timeout SECONDS] [--build-dir DIR] [--no-build]
#                          [--malloc-tunables GLIBC_TUNABLES]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lab/lab.sh
. "$top/tests/lab/lab.sh"

sizes="2000 20000 200000"
reps=3
budget=60       # seconds of analysis runs on the last size
small_budget=15 # on the others
status_timeout=70 # the client gives up by itself after 60 s
build_dir=$top/build-bench
build=1
# What systemd/portcheckd.service.in sets (tests/units/test_units.sh checks they agree).
tunables=glibc.malloc.hugetlb=1

usage() {
	sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

while (($#)); do
	case $1 in
	--sizes) sizes=$2 && shift 2 ;;
	--reps) reps=$2 && shift 2 ;;
	--budget) budget=$2 && shift 2 ;;
	--status-timeout) status_timeout=$2 && shift 2 ;;
	--build-dir) build_dir=$2 && shift 2 ;;
	--no-build) build=0 && shift ;;
	--malloc-tunables) tunables=$2 && shift 2 ;;
	-h | --help) usage && exit 0 ;;
	*) usage >&2 && exit 2 ;;
	esac
done
for v in $sizes $reps $budget $status_timeout; do
	[[ $v =~ ^[0-9]+$ ]] || lab_die "not a number: $v"
done
((reps >= 1 && reps <= 100)) || lab_die "--reps: 1..100"
((status_timeout >= 1 && status_timeout <= 3600)) || lab_die "--status-timeout: 1..3600"

[[ $(id -u) -eq 0 ]] || lab_die "run as root: it makes a network namespace and loads nftables there"
_lab_need_cmds ip nft ss cmake setpriv timeout "$LAB_PYTHON"

# --- build ----------------------------------------------------------------------------

if ((build)); then
	lab_log "building (RelWithDebInfo: -O2 -g) in $build_dir"
	cmake -S "$top" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
		>/dev/null
	cmake --build "$build_dir" -j"$(nproc)" --target portcheck-bench portcheckd portcheck \
		>/dev/null
fi
bench=$build_dir/portcheck-bench
PORTCHECKD=$build_dir/portcheckd
PORTCHECK=$build_dir/portcheck
for b in "$bench" "$PORTCHECKD" "$PORTCHECK"; do
	[[ -x $b ]] || lab_die "not built: $b"
done

# --- the host -------------------------------------------------------------------------

lab_init
NS="pcbench-$LAB_ID"
# A bus address that does not exist: the daemon finds no firewalld at once, and never
# talks to the host's system bus.
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$LAB_DIR/no-such-bus"

_lab_netns_add "$NS"
# The peer stays down: only eth0 counts as an interface connections arrive on.
_lab_ip "$NS" link add eth0 type veth peer name uplink
_lab_ip "$NS" addr add 192.0.2.1/24 dev eth0
_lab_ip "$NS" addr add 2001:db8:1::1/64 dev eth0 nodad
_lab_ip "$NS" link set uplink up
_lab_ip "$NS" link set eth0 up
_lab_ip "$NS" route add default via 192.0.2.254
_lab_ip "$NS" -6 route add default via 2001:db8:1::fe
_lab_ip "$NS" link set uplink down

in_ns() { ip netns exec "$NS" "$@"; }

# Milliseconds of wall time of one run of CMD (output discarded).
ms_of() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || return 1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# "median max" of REPS runs of CMD, in ms.
med_max() {
	local n=$1 i v=()
	shift
	for ((i = 0; i < n; i++)); do
		v+=("$(ms_of "$@")") || return 1
	done
	printf '%s\n' "${v[@]}" | sort -n | awk '{a[NR]=$1} END {
		m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%s ms median, %s ms max", m, a[NR] }'
}

lab_log "starting 5,000 listeners"
_lab_spawn "$NS" "$LAB_DIR/listeners.log" "$LAB_PYTHON" "$top/bench/genhost.py" listen \
	--lifetime 1800 --ready-file "$LAB_DIR/listeners.ready"
listeners_pid=$LAB_SPAWNED
lab_wait --pid "$listeners_pid" 60 "the listeners" test -e "$LAB_DIR/listeners.ready" ||
	lab_die "the listeners did not start"

# status_round_trip LABEL: start portcheckd in the namespace, time one `portcheck status
# --json`, read the daemon's peak RSS, then ask once more with --fresh (a second analysis
# forked from a daemon that has handled a report), stop it.
status_round_trip() {
	local label=$1 t0 t1 rc=0 hwm entry child child2
	rm -f "$LAB_DIR/pc.sock"
	# At debug level the daemon logs each analysis' time and its process' peak memory.
	_lab_spawn "$NS" "$LAB_DIR/portcheckd.log" env PORTCHECKD_LOG_LEVEL=debug \
		GLIBC_TUNABLES="$tunables" "$PORTCHECKD" \
		--socket "$LAB_DIR/pc.sock"
	local daemon_pid=$LAB_SPAWNED
	entry=${LAB_PIDS[${#LAB_PIDS[@]} - 1]}
	lab_wait --pid "$daemon_pid" 20 "portcheckd's socket" test -S "$LAB_DIR/pc.sock" ||
		lab_die "portcheckd did not start"
	t0=$(date +%s%N)
	in_ns timeout "$status_timeout" "$PORTCHECK" --socket "$LAB_DIR/pc.sock" status --json \
		>"$LAB_DIR/status.json" 2>"$LAB_DIR/status.err" || rc=$?
	t1=$(date +%s%N)
	hwm=$(awk '/^VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$daemon_pid/status" 2>/dev/null ||
		true)
	# The analysis runs in a child of the daemon: its peak is the collection's cost.
	child=$(sed -n 's/.*analysis took \([0-9]*\) ms, its process peaked at \([0-9]*\) MiB.*/\1 ms, \2 MiB/p' \
		"$LAB_DIR/portcheckd.log" | tail -n 1)
	# A second child starts from the daemon's pages after the first report. (The watcher
	# may start analyses of its own: only one logged after this call is its.)
	if ((rc == 0 || rc == 1)); then
		local before
		before=$(grep -c 'its process peaked at' "$LAB_DIR/portcheckd.log" || true)
		in_ns timeout "$status_timeout" "$PORTCHECK" --socket "$LAB_DIR/pc.sock" status \
			--fresh --json >/dev/null 2>&1 || true
		child2=$(sed -n 's/.*analysis took \([0-9]*\) ms, its process peaked at \([0-9]*\) MiB.*/\1 ms, \2 MiB/p' \
			"$LAB_DIR/portcheckd.log" | tail -n 1)
		(($(grep -c 'its process peaked at' "$LAB_DIR/portcheckd.log" || true) > before)) ||
			child2=""
	fi
	if ((rc == 0 || rc == 1)); then
		status_line="$label: answered in $(((t1 - t0) / 1000000)) ms, reply $(($(stat -c %s \
			"$LAB_DIR/status.json") / 1024)) KiB, daemon peak RSS $hwm, the analysis \
process (snapshot, analysis, reply) ${child:-not logged}; a second one (--fresh) on the \
same daemon ${child2:-not logged}"
	else
		status_line="$label: no answer, the client gave up after $(((t1 - t0) / 1000000)) ms \
(exit $rc$(head -c 120 "$LAB_DIR/status.err" | tr '\n' ' ' | sed 's/^./: &/')); daemon peak RSS $hwm by then"
	fi
	echo "  $status_line"
	# Busy in a collection, it does not look at SIGTERM: the stop ends with SIGKILL. Reap
	# it here, so the shell does not report the kill later.
	_lab_stop 1 "$entry" 2>/dev/null
	wait "$daemon_pid" 2>/dev/null || true
}

# Flows for the per-evaluation cost; the last one meets every set (bench_eval.c).
flows=(
	--flow "blocked=240.0.0.5,10001"     # in block4: dropped by the blocklist rule
	--flow "allowed=198.18.0.0,10000"    # in allow4 (198.18.0.0 . 10000): accepted
	--flow "ipv6=2001:db8:ffff::7,14999" # IPv6: past the IPv4 lookups, to svc499
	--flow "chain=203.0.113.7,14999"     # in no set: vmap to svc499, 100 rules walked
)

# --- the runs -------------------------------------------------------------------------

echo
echo "== portcheck status round trips (daemon started in the namespace; no firewalld) =="
status_lines=()
status_round_trip "5,000 listeners, empty ruleset"
status_lines+=("$status_line")

read -ra size_list <<<"$sizes"
last=${size_list[${#size_list[@]} - 1]}
results=()
for n in "${size_list[@]}"; do
	# The whole table, replaced in one transaction (faster than refilling the sets).
	"$LAB_PYTHON" "$top/bench/genhost.py" ruleset --elements "$n" >"$LAB_DIR/ruleset.nft"
	load_ms=$(ms_of in_ns nft -f "$LAB_DIR/ruleset.nft") || lab_die "nft -f ruleset failed"
	lab_log "sets of $n elements loaded in $load_ms ms"
	((n == last)) && b=$budget || b=$small_budget

	echo
	in_ns env GLIBC_TUNABLES="$tunables" "$bench" --label "sets of $n elements" \
		--reps "$reps" --analysis-budget "$b" \
		"${flows[@]}" | tee "$LAB_DIR/bench-$n.txt"
	nft_list=$(med_max 3 in_ns nft list ruleset) || lab_die "nft list ruleset failed"
	ss_ltn=$(med_max "$reps" in_ns ss -ltn) || lab_die "ss -ltn failed"
	ss_ltnp=$(med_max "$reps" in_ns ss -ltnp) || lab_die "ss -ltnp failed"
	echo "for comparison, on the same host:"
	echo "  nft list ruleset: $nft_list"
	echo "  ss -ltn:          $ss_ltn"
	echo "  ss -ltnp:         $ss_ltnp"
	results+=("n=$n nft_list=${nft_list%% ms*} ss_ltn=${ss_ltn%% ms*} ss_ltnp=${ss_ltnp%% ms*} $(
		sed -n 's/^RESULT //p' "$LAB_DIR/bench-$n.txt")")
done

echo
echo "== portcheck status round trip on the largest host =="
status_round_trip "5,000 listeners, 50,000 rules, sets of $last elements"
status_lines+=("$status_line")

# --- summary ----------------------------------------------------------------------------

# get KEY LINE: the value of KEY=... in LINE.
get() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" <<<"$2"; }

echo
echo "== summary (median of $reps runs; times in ms unless marked; portcheck-bench and portcheckd with GLIBC_TUNABLES='$tunables') =="
echo
echo "| elements per big set | pc_nft_read | nft list ruleset | pc_listeners_read | ss -ltn | ss -ltnp | IPv4 source pieces | eval µs: blocked / allowed / chain / IPv6 | index build | analysis, whole host | reply | snapshot peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in "${results[@]}"; do
	m=$(get measured "$r")
	an=$(get analysis_ms "$r")
	if [[ $m != 1 ]]; then
		an="~$(awk -v a="$an" 'BEGIN {printf "%.0f s", a / 1000}') (extrapolated from $(get analysed "$r") listeners)"
	fi
	echo "| $(get n "$r") | $(get snapshot_ms "$r") | $(get nft_list "$r") | $(get listeners_ms "$r") | $(get ss_ltn "$r") | $(get ss_ltnp "$r") | $(get pieces4 "$r") | $(get eval_blocked_us "$r") / $(get eval_allowed_us "$r") / $(get eval_chain_us "$r") / $(get eval_ipv6_us "$r") | $(get index_ms "$r") | $an | ~$(get reply_mib "$r") MiB | $(get snapshot_rss_mib "$r") MiB |"
done
echo
echo "status round trips:"
printf '  %s\n' "${status_lines[@]}"
