#!/bin/bash
# test_differential.sh: portcheck's engine against the real kernel, on generated rulesets.
#
# For each seed, diffgen.py makes a random but exact nftables ruleset (several
# tables and families, raw/conntrack/nat priorities, sets, maps, concatenations,
# jumps, ct state, inverted lookups, fib, iif/oifname, reject variants, DNAT
# (to the server or into the container), SNAT and masquerade, dynset, ...),
# sometimes iptables-nft rules on top (xtables matches and targets), and a list
# of probes. The ruleset is loaded with `nft -f` into the server namespace, the
# iptables-nft rules after it with iptables-nft-restore (no firewalld: a private
# bus with nothing on it), every probe is sent for real from the client
# namespace by prober.py (a SYN or a UDP datagram from one of the client's many
# source addresses, to one of the server's addresses or to the container behind
# it: SYN-ACK / UDP echo, RST, ICMP type/code, or silence; where an accepted one
# landed, after any DNAT, as the listener names it: UDP echo, TCP banner), and
# `portcheck explain PORT/PROTO --from SRC --sport SPORT --iface eth0 --to DST --json`
# must say the same thing, forwarded_to included (diffcheck.py states the contract).
# 100% agreement is required; a verdict "unknown" is a failure.
#
# The source is symbolic (issue #9): every probe has its own source port (the
# probe line's 7th field, unique in its case; diffgen.py puts them at and next to
# what the rules compare source ports with), and before every prober run the
# server's and the container's TCP connections are closed (ss -K) and the server's
# conntrack table is emptied (diffcheck.py ct-flush), so no run meets a tuple an
# earlier one left. The status cross-check: after each case's probes one
# `portcheck status --json` and one `nft -j list ruleset` (server namespace); for
# every probe to the address status's paths on eth0 are for (the first global one
# of its family in the kernel's listing), the wildcard listener of its port and
# protocol, its paths on eth0 for the probe's family, the one whose "sources" form
# holds for the probe's source address and port (srcform.py), and that path's
# verdict must agree with the kernel as explain's does (diffcheck.py status).
# One unknown is accepted there, counted and printed: the engine's documented limit
# for a mask that keeps bits after cleared ones over a large box of sources
# (docs/json.md, "Limits"); explain, for the one source, must still agree.
#
# Host settings: a case may come with case-N.host (diffgen.py), applied in the
# server namespace before its ruleset is loaded and undone after the case: the
# groups of eth0 and veth-ctr (for meta iifgroup / oifgroup rules),
# net.ipv4.conf.all / .eth0.rp_filter, and routes back to some client sources
# (blackhole, unreachable, prohibit, or via the container) that make the
# reverse-path filter drop their probes. The server also has secondary addresses
# on eth0 (192.0.2.100, 2001:db8:1::100), some probes' destinations.
#
# Runtime (2 cores, RelWithDebInfo build): the default run (41 cases, 820
# probes, explains three at a time, the status cross-check) takes about 55 s;
# --kernel-only 45 s (of which closing connections, emptying conntrack and the
# big sets about 6 s); 200 seeds about 5 minutes.
#
# What the fixed seeds catch (each mutant a one-line change to the engine, built,
# measured with --no-rotating, reverted; in brackets: the generator before issue
# #14; the lines without a * were measured before the host settings of issue #11;
# all of them before issue #9's additions to the generator, which changed most
# seeds' rulesets and every probe's source port: not measured again), of 40 seeds:
#   vm_eval_lookup ignores NFT_LOOKUP_F_INV (nftvm_set.c)            * 33  (4; 36 before #11)
#   rp_filter ignores net.ipv4.conf.all (pc_netif_inet_conf, rtnl.c) * 4
#   strict rp_filter taken for loose (rp_filter == 3, nftpath_route.c) * 2
#   meta iifgroup always 0 (nftvm_meta.c)                            * 9
#   run_nat runs the next nat chain after a binding (nftpath.c)         5  (0)
#   IPv4 fib ... . iif type looks on every device (nftvm_expr.c)        8  (0)
#   icmpx port-unreachable sends IPv4 code 2 (nftvm_expr.c)             6  (3)
#   icmpx admin-prohibited sends IPv4 code 10 (nftvm_expr.c)            2
#   xt REJECT icmp-port-unreachable sends code 2 (nftvm_xt.c)           1  (0)
#
# A disagreement is re-probed alone: when the kernel answers differently the
# second time the lab is not deterministic and the test fails for that too (a
# flaky probe hides real disagreements). A confirmed one is shrunk to
# a minimal ruleset (diffcheck.py minimize, time-bounded), and the reproducer is
# printed and kept in $LAB_DIR/mismatch/seed-N-probe-ID/ (original.nft,
# minimal.nft, minimal.ipt4/.ipt6 if the case has iptables-nft rules (loaded
# as they are, not shrunk), probe.txt, kernel.txt, explain.json, report.txt). This test keeps
# $LAB_DIR when it fails (LAB_KEEP_LOGS defaults to 1 here).
#
# usage: test_differential.sh [--seeds SPEC] [--no-rotating] [--probes N] [--case NFT PROBES]...
#                             [--kernel-only] [--first-failure] [--minimize-budget S]
#   --seeds SPEC     seeds to run: A-B or A,B,C (default: the fixed seeds 1-40 plus
#                    one rotating seed, 820 probes; see below);
#                    a longer run:  tests/lab/test_differential.sh --seeds 1000-1999
#   --no-rotating    the default run without the rotating seed (to compare runs)
#   --probes N       probes per case (default 20, at most 60)
#   --case NFT PROBES  a hand-written case instead of generated ones (e.g. a
#                    reproducer's minimal.nft and probe.txt; X.ipt4, X.ipt6 and X.host beside
#                    X.nft are loaded too); may be repeated
#   --kernel-only    no portcheck: run the probes and print what the kernel did, per
#                    case and in total (to develop the generator and the prober)
#                    (DIFF_VERBOSE=1: every probe and its answer)
#   --first-failure  stop after the first case with a disagreement (default: run all)
#   --minimize-budget S   seconds to spend shrinking each disagreement (default 30),
#                    at most DIFF_MAX_MINIMIZE (default 2) of them per run, one per kind
#                    of disagreement; the other disagreeing cases are kept whole in
#                    $LAB_DIR/mismatch/seed-N/
#
# The rotating seed: every default run adds one seed in 1000-999999 that changes
# from run to run ($DIFF_ROTATING_SEED if set), printed first as "rotating seed N:
# replay with --seeds N", so CI covers new rulesets over time and any failure
# can be replayed exactly.
#
# Needs root (exits 77, SKIP, otherwise), PORTCHECK and PORTCHECKD (default:
# build/ of this checkout).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

DIFF_DIR=$LAB_LIB_DIR
DEFAULT_SEEDS=1-40
seeds=$DEFAULT_SEEDS nprobes=20 kernel_only=0 first_failure=0 min_budget=30 rotating=1
hand_cases=()
while (($#)); do
	case $1 in
	--seeds) seeds=${2:?--seeds needs a value} rotating=0; shift 2 ;;
	--no-rotating) rotating=0; shift ;;
	--probes) nprobes=${2:?--probes needs a value}; shift 2 ;;
	--case)
		[[ -f ${2:-} && -f ${3:-} ]] || { echo "--case needs a ruleset file and a probes file" >&2; exit 2; }
		hand_cases+=("$(realpath "$2")" "$(realpath "$3")") rotating=0
		shift 3 ;;
	--kernel-only) kernel_only=1; shift ;;
	--first-failure) first_failure=1; shift ;;
	--minimize-budget) min_budget=${2:?}; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--seeds A-B] [--no-rotating] [--probes N] [--case NFT PROBES] [--kernel-only] [--first-failure] [--minimize-budget S]" >&2; exit 2 ;;
	esac
done
if ! [[ $nprobes =~ ^[0-9]+$ ]] || ((nprobes < 1 || nprobes > 60)); then
	lab_die "--probes must be 1..60"
fi
[[ $seeds =~ ^[0-9,-]+$ ]] || lab_die "--seeds must look like 1-40 or 1,5,9"
if ((rotating)); then
	rot=${DIFF_ROTATING_SEED:-$((1000 + ((RANDOM << 15) | RANDOM) % 999000))}
	[[ $rot =~ ^[0-9]+$ ]] || lab_die "DIFF_ROTATING_SEED must be a number"
	echo "rotating seed $rot: replay with --seeds $rot"
	seeds+=",$rot"
fi

lab_require_root nft python3 iptables-nft-restore ip6tables-nft-restore
if ((!kernel_only)); then
	lab_binaries || lab_die "portcheck is not built: set PORTCHECK and PORTCHECKD (now '$PORTCHECK', '$PORTCHECKD')"
fi
# The reproducers live in $LAB_DIR: keep it when the test fails.
LAB_KEEP_LOGS=${LAB_KEEP_LOGS-1} # (set and empty: do not keep)
lab_init

eval "$("$LAB_PYTHON" "$DIFF_DIR/diffgen.py" --env)"

# _diff_mac NS DEV: the interface's MAC address.
_diff_mac() {
	ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# diff_network: the lab's two namespaces plus what diffgen.py's cases assume:
# every client source address on the client's eth0, routes for them on the
# server, the server's second addresses (on veth-ctr), static IPv6 neighbours (a
# generated "policy drop" also drops neighbour discovery, which would turn every
# IPv6 answer into silence), and no ICMP rate limits in the server namespace.
diff_network() {
	local a n srv_mac cli_mac ctr_mac
	lab_netns_server_client
	[[ $LAB_SRV_IPV4 == "${DIFF_V4_DST%% *}" && $LAB_SRV_CTR_IPV4 == "${DIFF_V4_DST##* }" ]] ||
		lab_die "diffgen.py's server addresses ($DIFF_V4_DST) do not match lab.sh's"
	for a in $DIFF_V4_SRC; do
		[[ $a == "$LAB_CLI_IPV4" ]] && continue
		if [[ $a == 192.0.2.* ]]; then
			_lab_ip "$LAB_CLI" addr add "$a/24" dev eth0
		else
			_lab_ip "$LAB_CLI" addr add "$a/32" dev eth0
		fi
	done
	for a in $DIFF_V6_SRC; do
		[[ $a == "$LAB_CLI_IPV6" ]] && continue
		if [[ $a == 2001:db8:1::* ]]; then
			_lab_ip "$LAB_CLI" addr add "$a/64" dev eth0 nodad
		else
			_lab_ip "$LAB_CLI" addr add "$a/128" dev eth0 nodad
		fi
	done
	for n in $DIFF_V4_ROUTED; do
		_lab_ip "$LAB_SRV" route add "$n" via "$LAB_CLI_IPV4" dev eth0
	done
	for n in $DIFF_V6_ROUTED; do
		_lab_ip "$LAB_SRV" -6 route add "$n" via "$LAB_CLI_IPV6" dev eth0
	done
	_lab_ip "$LAB_SRV" addr add "${DIFF_V6_DST##* }/64" dev "$LAB_CTR_IF" nodad
	# Secondary addresses on the server's eth0: some probes go there.
	_lab_ip "$LAB_SRV" addr add "$DIFF_V4_SEC/24" dev eth0
	_lab_ip "$LAB_SRV" addr add "$DIFF_V6_SEC/64" dev eth0 nodad
	_lab_ip "$LAB_CLI" route add "${LAB_SRV_CTR_IPV4%.*}.0/24" via "$LAB_SRV_IPV4"
	_lab_ip "$LAB_CLI" -6 route add "${DIFF_V6_DST##* }/64" via "$LAB_SRV_IPV6"

	# The container: DNAT target and forwarding destination, both families. The
	# server forwards IPv6 too (its own namespace only; lab.sh already forwards IPv4).
	[[ $LAB_CTR_IPV4 == "$DIFF_V4_CTR" ]] || lab_die "diffgen.py's container ($DIFF_V4_CTR) is not lab.sh's"
	_lab_ip "$LAB_CTR" addr add "$DIFF_V6_CTR/64" dev eth0 nodad
	_lab_ip "$LAB_CTR" -6 route add default via "${DIFF_V6_DST##* }"
	_lab_sysctl "$LAB_SRV" net.ipv6.conf.all.forwarding=1

	srv_mac=$(_diff_mac "$LAB_SRV" eth0)
	cli_mac=$(_diff_mac "$LAB_CLI" eth0)
	[[ -n $srv_mac && -n $cli_mac ]] || lab_die "cannot read the veth MAC addresses"
	_lab_ip "$LAB_CLI" -6 neigh replace "$LAB_SRV_IPV6" lladdr "$srv_mac" dev eth0 nud permanent
	_lab_ip "$LAB_CLI" -6 neigh replace "$DIFF_V6_SEC" lladdr "$srv_mac" dev eth0 nud permanent
	_lab_ip "$LAB_CLI" neigh replace "$DIFF_V4_SEC" lladdr "$srv_mac" dev eth0 nud permanent
	for a in $DIFF_V6_SRC; do
		[[ $a == 2001:db8:1::* ]] || continue
		_lab_ip "$LAB_SRV" -6 neigh replace "$a" lladdr "$cli_mac" dev eth0 nud permanent
	done
	# ARP is not filtered by ip/inet tables, but static entries save the first
	# answer from waiting on it.
	_lab_ip "$LAB_CLI" neigh replace "$LAB_SRV_IPV4" lladdr "$srv_mac" dev eth0 nud permanent
	for a in $DIFF_V4_SRC; do
		[[ $a == 192.0.2.* ]] || continue
		_lab_ip "$LAB_SRV" neigh replace "$a" lladdr "$cli_mac" dev eth0 nud permanent
	done
	# The same on the container link (a "policy drop" on input would drop the
	# container's neighbour answers).
	srv_mac=$(_diff_mac "$LAB_SRV" "$LAB_CTR_IF")
	ctr_mac=$(_diff_mac "$LAB_CTR" eth0)
	[[ -n $srv_mac && -n $ctr_mac ]] || lab_die "cannot read the container link's MAC addresses"
	_lab_ip "$LAB_SRV" neigh replace "$DIFF_V4_CTR" lladdr "$ctr_mac" dev "$LAB_CTR_IF" nud permanent
	_lab_ip "$LAB_SRV" -6 neigh replace "$DIFF_V6_CTR" lladdr "$ctr_mac" dev "$LAB_CTR_IF" nud permanent
	_lab_ip "$LAB_CTR" neigh replace "$LAB_SRV_CTR_IPV4" lladdr "$srv_mac" dev eth0 nud permanent
	_lab_ip "$LAB_CTR" -6 neigh replace "${DIFF_V6_DST##* }" lladdr "$srv_mac" dev eth0 nud permanent

	# Every reject must answer, however many a case sends to one source: no
	# per-destination ICMP rate limit, and a global budget far above our needs.
	# (All per-namespace sysctls; the global ones may not be in older kernels.)
	_lab_sysctl "$LAB_SRV" net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
	ip netns exec "$LAB_SRV" sysctl -qw net.ipv4.icmp_msgs_per_sec=100000 \
		net.ipv4.icmp_msgs_burst=100000 2>/dev/null || true
}

# diff_listeners: TCP on every TCP port (dual stack), UDP echo on every UDP port
# (one socket per family), on all addresses, so an accepted probe is answered;
# the same in the container. Both kinds name the address and port they were
# reached on (UDP: the echo; TCP: a banner), so forwarded_to is compared for both.
diff_listeners() {
	local p specs=()
	for p in $DIFF_TCP_PORTS; do
		specs+=("tcp:[::]:$p:tcp$p:dual")
	done
	for p in $DIFF_UDP_PORTS; do
		specs+=("udp:0.0.0.0:$p:udp$p" "udp:[::]:$p:udp6-$p:v6only")
	done
	lab_listeners --udp-echo --tcp-banner "${specs[@]}"
	LAB_DIFF_LISTENERS_PID=$LAB_SPAWNED
	_lab_listeners_in "$LAB_CTR" ctr --udp-echo --tcp-banner "${specs[@]}"
	LAB_DIFF_CTR_LISTENERS_PID=$LAB_SPAWNED
}

# diff_load FILE: replace the server namespace's ruleset with FILE, atomically,
# then add the iptables-nft rules of FILE's case (X.ipt4, X.ipt6 beside X.nft),
# if any: the engine must read iptables-nft's tables (xtables matches and
# targets in nft bytecode) as the kernel runs them.
diff_load() {
	local base=${1%.nft}
	{
		echo "flush ruleset"
		cat "$1"
	} | lab_nft -f - >"$LAB_DIR/nft.err" 2>&1 || return 1
	if [[ -f $base.ipt4 ]]; then
		ip netns exec "$LAB_SRV" iptables-nft-restore -w 10 <"$base.ipt4" >>"$LAB_DIR/nft.err" 2>&1 || return 1
	fi
	if [[ -f $base.ipt6 ]]; then
		ip netns exec "$LAB_SRV" ip6tables-nft-restore -w 10 <"$base.ipt6" >>"$LAB_DIR/nft.err" 2>&1 || return 1
	fi
}

# diff_host FILE apply|undo: the case's host settings (case-N.host, diffgen.py's
# format) in the server namespace: interface groups, net.ipv4.conf.{all,eth0}.rp_filter,
# routes back to some sources (blackhole, unreachable, prohibit, or via the container).
# undo restores what apply found (groups to 0, the sysctls' old values, routes deleted).
declare -A DIFF_HOST_OLD=()
diff_host() {
	local what key value route
	[[ -f $1 ]] || return 0
	while read -r what key value; do
		[[ -z $what || $what == \#* ]] && continue
		case $what in
		group)
			[[ ($key == eth0 || $key == "$LAB_CTR_IF") && $value =~ ^[0-9]+$ ]] ||
				lab_die "$1: bad line: $what $key $value"
			if [[ $2 == apply ]]; then
				_lab_ip "$LAB_SRV" link set "$key" group "$value"
			else
				_lab_ip "$LAB_SRV" link set "$key" group 0
			fi
			;;
		sysctl)
			[[ $key =~ ^net\.ipv4\.conf\.(all|eth0)\.rp_filter$ && $value =~ ^[0-2]$ ]] ||
				lab_die "$1: bad line: $what $key $value"
			if [[ $2 == apply ]]; then
				DIFF_HOST_OLD[$key]=$(ip netns exec "$LAB_SRV" sysctl -n "$key")
				_lab_sysctl "$LAB_SRV" "$key=$value"
			else
				_lab_sysctl "$LAB_SRV" "$key=${DIFF_HOST_OLD[$key]}"
			fi
			;;
		route)
			[[ $value =~ ^(198\.1[89]|203\.0\.113)\.[0-9.]+/[0-9]+$ ]] ||
				lab_die "$1: bad route: $key $value"
			if [[ $key == via-ctr ]]; then
				route=("$value" via "$DIFF_V4_CTR" dev "$LAB_CTR_IF")
			elif [[ $key =~ ^(blackhole|unreachable|prohibit)$ ]]; then
				route=("$key" "$value")
			else
				lab_die "$1: bad route type: $key"
			fi
			if [[ $2 == apply ]]; then
				_lab_ip "$LAB_SRV" route add "${route[@]}"
			else
				_lab_ip "$LAB_SRV" route del "${route[@]}"
			fi
			;;
		*) lab_die "$1: unknown host setting: $what" ;;
		esac
	done <"$1"
}

# Source ports: a probe line's own (diffgen.py's 7th field), else every prober run
# gets fresh ones (20000-49999, wrapping). Either way nothing an earlier run left
# is met again by the same tuple (a re-probe, a case that uses the same ports):
# the TCP connections the server and the container still have (an ACK the
# ruleset dropped leaves a SYN-RECV one, whose tuple a new SYN would not open)
# are closed with `ss -K`, then the server's conntrack table is emptied.
DIFF_SPORT=20000
diff_fresh() {
	local ns
	for ns in "$LAB_SRV" "$LAB_CTR"; do
		ip netns exec "$ns" ss -K -tn state syn-recv >/dev/null &&
			ip netns exec "$ns" ss -K -tn >/dev/null ||
			lab_die "cannot close the TCP connections left in $ns (ss -K)"
	done
	ip netns exec "$LAB_SRV" "$LAB_PYTHON" "$DIFF_DIR/diffcheck.py" ct-flush ||
		lab_die "cannot empty the server namespace's conntrack table"
}
diff_probe() { # PROBES OUT
	local n
	n=$(grep -cv '^#' "$1" || true)
	((DIFF_SPORT + n + 1 < 50000)) || DIFF_SPORT=20000
	diff_fresh
	ip netns exec "$LAB_CLI" timeout 30 "$LAB_PYTHON" "$DIFF_DIR/prober.py" \
		--sport-base "$DIFF_SPORT" <"$1" >"$2" || lab_die "prober.py failed on $1"
	DIFF_SPORT=$((DIFF_SPORT + n + 1))
}

# diff_explain PROBES DIR: portcheck explain for every probe, DIR/ID.json and DIR/ID.rc.
# (With --sport SPORT when the probe has one and the client knows the option.) Up to
# DIFF_EXPLAIN_JOBS (default 3) at once: portcheckd runs 4 explains at a time and
# queues root's beyond.
diff_explain() {
	local id family proto src dst port sport opt pid pids=()
	mkdir -p "$2"
	while IFS=$'\t' read -r id _ proto src dst port sport; do
		[[ -z $id || $id == \#* ]] && continue
		opt=()
		[[ -z $sport ]] || opt=(--sport "$sport")
		# (waits for its own explains only: the listeners are children of this shell too)
		if ((${#pids[@]} >= ${DIFF_EXPLAIN_JOBS:-3})); then
			wait "${pids[0]}" || true
			pids=("${pids[@]:1}")
		fi
		(
			rc=0
			lab_portcheck explain "$port/$proto" --from "$src" "${opt[@]}" --iface "$DIFF_IFACE" \
				--to "$dst" --json >"$2/$id.json" 2>"$2/$id.err" || rc=$?
			echo "$rc" >"$2/$id.rc"
		) &
		pids+=($!)
	done <"$1"
	for pid in "${pids[@]}"; do
		wait "$pid" || true
	done
}

# diff_status SEED PROBES KERNEL DIR: the status cross-check of one case (diffcheck.py
# status): DIR/status.json, DIR/ruleset.json, DIR/status.compare (ID<TAB>why lines).
# Returns 0 checked, 3 skipped (no sources form yet), 1 if status or nft failed.
diff_status() {
	local rc=0
	lab_portcheck status --json >"$4/status.json" 2>"$4/status.err" || rc=$?
	((rc <= 1)) || { echo "seed $1: portcheck status failed (exit $rc): $(head -c 500 "$4/status.err")" >&2; return 1; }
	lab_nft -j list ruleset >"$4/ruleset.json" 2>"$4/ruleset.err" || return 1
	rc=0
	"$LAB_PYTHON" "$DIFF_DIR/diffcheck.py" status --seed "$1" --probes "$2" --kernel "$3" \
		--status "$4/status.json" --ruleset "$4/ruleset.json" --iface "$DIFF_IFACE" \
		--dst4 "$DIFF_PATH_DST4" --dst6 "$DIFF_PATH_DST6" \
		>"$4/status.compare" 2>"$4/status.compare.err" || rc=$?
	return $rc
}

cases=$LAB_DIR/cases
if ((${#hand_cases[@]})); then
	mkdir -p "$cases"
	for ((i = 0; i < ${#hand_cases[@]}; i += 2)); do
		cp "${hand_cases[i]}" "$cases/case-$((i / 2)).nft"
		cp "${hand_cases[i + 1]}" "$cases/case-$((i / 2)).probes"
		for x in ipt4 ipt6 host; do # (a reproducer's iptables-nft rules and host settings, beside its ruleset)
			[[ ! -f ${hand_cases[i]%.nft}.$x ]] || cp "${hand_cases[i]%.nft}.$x" "$cases/case-$((i / 2)).$x"
		done
	done
	seeds="hand-written"
else
	"$LAB_PYTHON" "$DIFF_DIR/diffgen.py" --seeds "$seeds" --out "$cases" --probes "$nprobes" ||
		lab_die "diffgen.py failed"
fi
mapfile -t seed_list < <(find "$cases" -name 'case-*.nft' -printf '%f\n' | sed -n 's/^case-\([0-9]*\)\.nft$/\1/p' | sort -n)
((${#seed_list[@]})) || lab_die "no cases generated for --seeds $seeds"

# The listeners must outlive the run (lab.sh's default lifetime is 10 minutes):
# about 1 s per case, more with explain, plus shrinking.
export LAB_LISTENER_LIFETIME=$((900 + 10 * ${#seed_list[@]}))
diff_network
# The destination of status's paths on eth0 (a path does not name it): for a wildcard
# listener the analysis takes the interface's first global address of the family in
# the kernel's listing (for IPv6 the last one added: 2001:db8:1::100, not ::1).
DIFF_PATH_DST4=$(ip -n "$LAB_SRV" -o -4 addr show dev eth0 scope global | awk '{ sub("/.*", "", $4); print $4; exit }')
DIFF_PATH_DST6=$(ip -n "$LAB_SRV" -o -6 addr show dev eth0 scope global | awk '{ sub("/.*", "", $4); print $4; exit }')
[[ -n $DIFF_PATH_DST4 && -n $DIFF_PATH_DST6 ]] || lab_die "cannot read the server's eth0 addresses"
lab_dbus_start # a private, empty bus: portcheckd must never see the host's firewalld
diff_listeners
((kernel_only)) || lab_portcheckd_start

total=0 agreed=0 mismatches=0 flaky=0 minimized=0 failed_seeds=() prev_host=""
st_checked=0 st_agreed=0 st_mismatches=0 st_limited=0 st_failed_seeds=()
declare -A tally=() shrunk=()
started=$SECONDS
for seed in "${seed_list[@]}"; do
	rules=$cases/case-$seed.nft probes=$cases/case-$seed.probes
	work=$LAB_DIR/run/$seed
	mkdir -p "$work"
	kill -0 "$LAB_DIFF_LISTENERS_PID" 2>/dev/null || lab_die "the listeners are gone (before seed $seed)"
	kill -0 "$LAB_DIFF_CTR_LISTENERS_PID" 2>/dev/null || lab_die "the container's listeners are gone (before seed $seed)"
	# The previous case's host settings undone, this one's applied (before the ruleset:
	# the ruleset may name nothing of them, but the kernel's answers depend on them).
	[[ -z $prev_host ]] || diff_host "$prev_host" undo
	prev_host=${rules%.nft}.host
	diff_host "$prev_host" apply
	diff_load "$rules" || lab_die "seed $seed: nft -f or iptables-nft-restore rejected the generated ruleset (a diffgen.py bug): $(cat "$LAB_DIR/nft.err")"
	diff_probe "$probes" "$work/kernel"
	n=$(wc -l <"$work/kernel")
	total=$((total + n))
	while IFS=$'\t' read -r _ result _; do
		tally[$result]=$((${tally[$result]:-0} + 1))
	done <"$work/kernel"
	if ((kernel_only)); then
		printf 'seed %s: %s\n' "$seed" "$(awk -F'\t' '{print ($2 == "accept" || $3 == "-") ? $2 : $2 " " $3}' "$work/kernel" |
			sort | uniq -c | awk '{printf "%s%s %s%s", (NR > 1 ? ", " : ""), $1, $2, (NF > 2 ? " " $3 : "")}')"
		if [[ -n ${DIFF_VERBOSE:-} ]]; then
			join -t $'\t' <(sort "$probes") <(sort "$work/kernel") | sort -n | tr '\t' ' ' | sed 's/^/  /'
		fi
		awk -F'\t' '$2 == "error"' "$work/kernel" | while IFS=$'\t' read -r id _ detail; do
			echo "  probe error: $(grep -P "^$id\t" "$probes" | tr '\t' ' '): $detail"
		done
		continue
	fi
	diff_explain "$probes" "$work/explain"
	"$LAB_PYTHON" "$DIFF_DIR/diffcheck.py" compare --seed "$seed" --probes "$probes" \
		--kernel "$work/kernel" --explain "$work/explain" >"$work/compare" 2>"$work/compare.err"
	# The status cross-check (before any re-probe: status and the ruleset as the probes saw them).
	st_rc=0
	diff_status "$seed" "$probes" "$work/kernel" "$work" || st_rc=$?
	if ((st_rc != 0)); then
		lab_die "seed $seed: the status cross-check failed to run: $(cat "$work/status.compare.err" "$work/ruleset.err" 2>/dev/null | head -c 1000)"
	else
		n_st=$(sed -n 's/^# status agree \([0-9]*\) of \([0-9]*\)$/\1 \2/p' "$work/status.compare")
		st_limited=$((st_limited + $(sed -n 's/^# status limit \([0-9]*\)$/\1/p' "$work/status.compare" | head -1 | grep . || echo 0)))
		st_agreed=$((st_agreed + ${n_st% *})) st_checked=$((st_checked + ${n_st#* }))
		if grep -qv '^#' "$work/status.compare"; then
			st_mismatches=$((st_mismatches + $(grep -cv '^#' "$work/status.compare")))
			st_failed_seeds+=("$seed")
			cat "$work/status.compare.err" >&2
			mkdir -p "$LAB_DIR/mismatch/seed-$seed-status"
			cp "$rules" "$probes" "$work/kernel" "$work/status.json" "$work/ruleset.json" \
				"$work/status.compare" "$work/status.compare.err" "$LAB_DIR/mismatch/seed-$seed-status/"
		fi
	fi
	mapfile -t bad < <(grep -v '^#' "$work/compare" | cut -f1)
	if ((${#bad[@]} == 0)); then
		agreed=$((agreed + n))
		continue
	fi
	# Re-probe the disagreeing ones alone: a disagreement that does not repeat
	# is the lab's problem (reported), not the engine's.
	grep -E "^($(IFS='|'; echo "${bad[*]}"))"$'\t' "$probes" >"$work/again.probes"
	diff_probe "$work/again.probes" "$work/again.kernel"
	confirmed=()
	for id in "${bad[@]}"; do
		# (What followed a SYN-ACK, "then-ERRNO", depends on timing: not compared.)
		first=$(grep -P "^$id\t" "$work/kernel" | cut -f2,3 | sed 's/\tthen-.*/\t-/')
		second=$(grep -P "^$id\t" "$work/again.kernel" | cut -f2,3 | sed 's/\tthen-.*/\t-/')
		if [[ $first == "$second" ]]; then
			confirmed+=("$id")
		else
			flaky=$((flaky + 1))
			failed_seeds+=("$seed")
			echo "FLAKY: seed $seed probe $id: the kernel answered '$first', then '$second'" >&2
		fi
	done
	agreed=$((agreed + n - ${#bad[@]}))
	((${#confirmed[@]})) || continue
	mismatches=$((mismatches + ${#confirmed[@]}))
	failed_seeds+=("$seed")
	for id in "${confirmed[@]}"; do
		# The details from the run (trace and all).
		awk -v id="$id" '/^MISMATCH /{show = ($4 == "probe" && $5 == id":")} show' "$work/compare.err" >&2
	done
	# Shrink one disagreement of a kind not shrunk yet (the kind: the reason with
	# addresses and numbers taken out), a verdict disagreement before any other.
	id=""
	for cid in "${confirmed[@]}"; do
		why=$(grep -P "^$cid\t" "$work/compare" | cut -f2-)
		# shellcheck disable=SC2001
		kind=$(sed 's/[0-9a-f:.]*[0-9][0-9a-f:.]*/N/g' <<<"$why")
		[[ -z ${shrunk[$kind]:-} ]] || continue
		if [[ -z $id || ($id_kind == *forwarded_to* && $kind != *forwarded_to*) ]]; then
			id=$cid id_kind=$kind
		fi
	done
	if [[ -n $id ]] && ((minimized < ${DIFF_MAX_MINIMIZE:-2})); then
		shrunk[$id_kind]=1
		out=$LAB_DIR/mismatch/seed-$seed-probe-$id
		min_sport=(--explain-sport)
		echo "----- shrinking seed $seed probe $id (at most ${min_budget}s) -----" >&2
		"$LAB_PYTHON" "$DIFF_DIR/diffcheck.py" minimize --seed "$seed" --ruleset "$rules" \
			--ipt4 "${rules%.nft}.ipt4" --ipt6 "${rules%.nft}.ipt6" \
			--probe "$(grep -P "^$id\t" "$probes")" --out "$out" --srv "$LAB_SRV" --cli "$LAB_CLI" \
			--ctr "$LAB_CTR" \
			--portcheck "$PORTCHECK" --socket "$LAB_DIR/pc.sock" --budget "$min_budget" \
			"${min_sport[@]}" >&2 || true
		minimized=$((minimized + 1))
		if [[ -f ${rules%.nft}.host ]]; then # (the server's settings for it: interface groups, rp_filter, routes)
			mkdir -p "$out" && cp "${rules%.nft}.host" "$out/minimal.host"
			echo "with the host settings of $out/minimal.host (test_differential.sh --case $out/minimal.nft $out/probe.txt applies them)" >&2
		fi
		echo "reproducer kept in $out" >&2
	else
		mkdir -p "$LAB_DIR/mismatch/seed-$seed"
		cp "$rules" "$probes" "$work/kernel" "$work/compare.err" "$LAB_DIR/mismatch/seed-$seed/"
		cp "${rules%.nft}".ipt[46] "${rules%.nft}".host "$LAB_DIR/mismatch/seed-$seed/" 2>/dev/null || true # (if any)
	fi
	((!first_failure)) || break
done
[[ -z $prev_host ]] || diff_host "$prev_host" undo

summary=""
for k in accept rst icmp none error; do
	summary+="$k ${tally[$k]:-0}, "
done
summary=${summary%, }
if ((kernel_only)); then
	echo "kernel-only: ${#seed_list[@]} cases, $total probes ($summary) in $((SECONDS - started))s"
	exit 0
fi
echo "differential: ${#seed_list[@]} cases, $total probes ($summary): $agreed agree, $mismatches disagree, $flaky flaky, in $((SECONDS - started))s"
if ((st_checked || st_mismatches)); then
	echo "status cross-check: $st_checked probes to the server's eth0 address ($DIFF_PATH_DST4, $DIFF_PATH_DST6): $st_agreed agree, $st_mismatches disagree; $st_limited more on paths unknown by the documented mask limit"
fi
((mismatches == 0 && st_mismatches == 0)) || lab_die "portcheck disagrees with the kernel on $mismatches probes (seeds: ${failed_seeds[*]}), status on $st_mismatches (seeds: ${st_failed_seeds[*]}); reproducers in $LAB_DIR/mismatch"
# A probe the kernel answers differently when repeated makes the comparison
# meaningless for it: the lab (or the generator) must be made deterministic.
((flaky == 0)) || lab_die "$flaky probes got a different answer from the kernel when repeated (seeds: ${failed_seeds[*]}; FLAKY lines above)"
lab_pass "portcheck explain agrees with the kernel on all $total probes of ${#seed_list[@]} generated rulesets (seeds $seeds)"
