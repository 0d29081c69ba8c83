#!/usr/bin/env bash
# bench/snapshot.sh: what one nftables snapshot costs on a large host (root).
#
# The host lives in a network namespace made here, with documentation addresses only
# (bench/genhost.py ruleset --doc-only): 50,000 rules in 500 chains, an ipv4_addr interval
# set of min(N, 65,536) addresses of 198.18.0.0/15, an ipv6_addr interval set of N
# prefixes and ranges of 2001:db8::/32, an ipv4_addr . inet_service interval set of N
# elements and a verdict map. For each N in --sizes it loads the ruleset and runs
# portcheck-bench-snapshot inside the namespace: pc_nft_read (wall time, peak RSS) and its
# steps one by one, interleaved round by round with `nft list ruleset` and
# `nft -t list ruleset` there; medians of --reps rounds.
#
# Safety: nothing happens outside the namespace (no interface is even made in it); nft
# and the bench run only inside it; every step is bounded by timeout; on any exit (failure
# and Ctrl-C included) the namespace and the temporary directory are removed.
#
# With --baseline BIN (a portcheck-bench-snapshot built from another commit) the two
# binaries run alternately, one round each, --reps times, and the summary has a row for
# each: a busy machine slows both alike.
#
# usage: sudo bench/snapshot.sh [--sizes "20000 200000"] [--reps N] [--build-dir DIR]
#                               [--no-build] [--baseline BIN]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
sizes="200000"
reps=5
build_dir=$top/build-bench
build=1
baseline=

usage() {
	sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

die() {
	echo "snapshot.sh: $*" >&2
	exit 1
}

while (($#)); do
	case $1 in
	--sizes) sizes=$2 && shift 2 ;;
	--reps) reps=$2 && shift 2 ;;
	--build-dir) build_dir=$2 && shift 2 ;;
	--no-build) build=0 && shift ;;
	--baseline) baseline=$2 && shift 2 ;;
	-h | --help) usage && exit 0 ;;
	*) usage >&2 && exit 2 ;;
	esac
done
for v in $sizes $reps; do
	[[ $v =~ ^[0-9]+$ ]] || die "not a number: $v"
done
((reps >= 1 && reps <= 100)) || die "--reps: 1..100"
[[ $(id -u) -eq 0 ]] || die "run as root: it makes a network namespace and loads nftables there"
for c in ip nft cmake timeout python3; do
	command -v "$c" >/dev/null || die "needs $c"
done

if ((build)); then
	echo "building (RelWithDebInfo: -O2 -g) in $build_dir" >&2
	cmake -S "$top" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
		>/dev/null
	cmake --build "$build_dir" -j"$(nproc)" --target portcheck-bench-snapshot >/dev/null
fi
bench=$build_dir/portcheck-bench-snapshot
[[ -x $bench ]] || die "not built: $bench"
[[ -z $baseline || -x $baseline ]] || die "not executable: $baseline"

tmp=$(mktemp -d /tmp/pcsnap.XXXXXX)
ns="pcsnap-$$-${tmp##*.}"
cleanup() {
	local rc=$?
	# Only this namespace: its processes (none should be left) and itself.
	if ip netns list | grep -qx "$ns\( .*\)\?"; then
		ip netns pids "$ns" 2>/dev/null | while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done
		ip netns delete "$ns" || echo "snapshot.sh: could not delete namespace $ns" >&2
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }

results=()
for n in $sizes; do
	python3 "$top/bench/genhost.py" ruleset --elements "$n" --doc-only >"$tmp/ruleset.nft"
	t0=$(date +%s%N)
	timeout 600 ip netns exec "$ns" nft -f "$tmp/ruleset.nft" || die "nft -f failed"
	echo "N=$n: ruleset loaded in $((($(date +%s%N) - t0) / 1000000)) ms" >&2
	echo
	echo "== N = $n (medians of $reps rounds) =="
	if [[ -z $baseline ]]; then
		timeout $((reps * 120 + 60)) ip netns exec "$ns" "$bench" --reps "$reps" | tee "$tmp/out-$n.txt"
		results+=("n=$n $(sed -n 's/^RESULT //p' "$tmp/out-$n.txt")")
		continue
	fi
	# Alternately, a round each; then the median of each figure over the rounds.
	: >"$tmp/new-$n.txt"
	: >"$tmp/base-$n.txt"
	for ((i = 0; i < reps; i++)); do
		timeout 600 ip netns exec "$ns" "$bench" --reps 1 | sed -n 's/^RESULT //p' >>"$tmp/new-$n.txt"
		timeout 600 ip netns exec "$ns" "$baseline" --reps 1 | sed -n 's/^RESULT //p' >>"$tmp/base-$n.txt"
	done
	for f in base new; do
		line=$(python3 -c '
import statistics, sys
keys, vals = [], {}
for ln in open(sys.argv[1]):
    for kv in ln.split():
        k, v = kv.split("=", 1)
        if k not in vals:
            keys.append(k)
            vals[k] = []
        vals[k].append(float(v))
print(" ".join("%s=%.1f" % (k, statistics.median(vals[k])) for k in keys))' "$tmp/$f-$n.txt")
		echo "$f: $line"
		results+=("n=$n($f) $line")
	done
done

get() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" <<<"$2"; }
echo
echo "== summary (medians, ms / MiB) =="
echo "| N | pc_nft_read | peak RSS | without texts | then every text / one rule's | peak RSS then | dump elements | dump rules (whole / by chain) | libnftnl parse (elems+rules) | build | listing + texts | nft list ruleset | its RSS | nft -t list ruleset | its RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in "${results[@]}"; do
	echo "| $(get n "$r") | $(get read_ms "$r") | $(get read_rss_mib "$r") | $(get read_no_texts_ms "$r") | $(get texts_fill_ms "$r") / $(get texts_fill_one_rule_ms "$r") | $(get read_then_fill_rss_mib "$r") / $(get read_then_fill_one_rss_mib "$r") | $(get dump_elems_ms "$r") | $(get dump_rules_ms "$r") / $(get dump_rules_by_chain_ms "$r") | $(get nftnl_parse_elems_ms "$r") + $(get nftnl_parse_rules_ms "$r") | $(get build_ms "$r") | $(get listing_ms "$r") + $(get texts_ms "$r") | $(get nft_list_ms "$r") | $(get nft_list_rss_mib "$r") | $(get nft_t_list_ms "$r") | $(get nft_t_list_rss_mib "$r") |"
done
