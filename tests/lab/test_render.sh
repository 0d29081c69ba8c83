#!/bin/bash
# test_render.sh: the rule texts portcheck renders itself (daemon/sources/nftrender.c,
# issue #9: "render rule texts only for the rules a report names") against libnftables'
# listing of the same kernel ruleset. tests/pc-render-check (tests/tools/render_check.c)
# reads the snapshot with libnftables' texts, renders every rule, and fails on any text
# that differs; a rule it does not render is fine (the daemon asks libnftables then), but
# some rulesets must be rendered whole or nearly so, or the renderer does not pay.
#
# Rulesets, each loaded alone (flush ruleset; nft -f) into a namespace of the test's own:
#   - tests/lab/rulesets/render_corpus.nft: shapes nft prints in ways easy to get wrong
#     (dependencies left out or kept, merged matches, flags, anonymous sets, nat,
#     rejects): at least 80% rendered;
#   - bench/genhost.py's host (--doc-only, 200 elements): every rule rendered;
#   - the real tools' rulesets of tests/lab/rulesets/ (crowdsec, fail2ban, sshguard,
#     kube-proxy);
#   - diffgen.py's random rulesets, seeds 1-150: at least half of their rules rendered;
# and firewalld's own ruleset in the lab's incident host (firewalld on a private bus and
# configuration), with a port, a service, a rich rule, a forward port, masquerade and an
# ICMP block added.
#
# Needs root (exits 77, SKIP, otherwise) and PC_RENDER_CHECK (default: the checker in
# build/tests of this checkout). Runtime: about 20 s.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

lab_require_root nft python3
top=$(cd "$LAB_LIB_DIR/../.." && pwd)
check=${PC_RENDER_CHECK:-$top/build/tests/pc-render-check}
[[ -x $check ]] || lab_die "pc-render-check is not built (PC_RENDER_CHECK='$check')"
lab_init

failed=()

# render_check NS NAME MIN: the checker in NS; MIN the share of rules it must render.
render_check() {
	local ns=$1 name=$2 min=$3 out rc=0
	out=$(ip netns exec "$ns" "$check" --min-rendered "$min" --show-unrendered) || rc=$?
	printf '%s\n' "$out" | grep -E '^(MISMATCH|  )' || true
	case $rc in
	0) lab_pass "$name: $(printf '%s\n' "$out" | tail -n 1)" ;;
	3)
		printf '%s\n' "$out" | grep '^UNRENDERED' | head -n 20
		echo "FAIL: $name: fewer than $min% rendered: $(printf '%s\n' "$out" | tail -n 1)"
		failed+=("$name")
		;;
	*)
		echo "FAIL: $name: $(printf '%s\n' "$out" | tail -n 1) (exit $rc)"
		failed+=("$name")
		;;
	esac
	LAST_SUMMARY=$(printf '%s\n' "$out" | tail -n 1)
}

# load NS FILE: the ruleset of FILE alone in NS.
load() {
	ip netns exec "$1" nft flush ruleset
	ip netns exec "$1" nft -f "$2" || lab_die "nft -f $2 failed"
}

# --- rulesets in a bare namespace ------------------------------------------------------

ns="pclab-rnd-$LAB_ID"
_lab_netns_add "$ns"
rs=$LAB_DIR/rulesets
mkdir -p "$rs"

load "$ns" "$LAB_LIB_DIR/rulesets/render_corpus.nft"
render_check "$ns" "render_corpus.nft" 80

"$LAB_PYTHON" "$top/bench/genhost.py" ruleset --elements 200 --doc-only >"$rs/bench.nft"
load "$ns" "$rs/bench.nft"
render_check "$ns" "bench host (genhost.py --doc-only)" 100

"$LAB_PYTHON" "$LAB_LIB_DIR/rulesets/crowdsec.py" --v4 300 --v6 30 >"$rs/crowdsec.nft"
"$LAB_PYTHON" "$LAB_LIB_DIR/rulesets/fail2ban.py" >"$rs/fail2ban.nft"
"$LAB_PYTHON" "$LAB_LIB_DIR/rulesets/sshguard.py" >"$rs/sshguard.nft"
"$LAB_PYTHON" "$LAB_LIB_DIR/rulesets/kubeproxy.py" >"$rs/kubeproxy.nft"
for tool in crowdsec fail2ban sshguard kubeproxy; do
	load "$ns" "$rs/$tool.nft"
	render_check "$ns" "$tool" 0
done

"$LAB_PYTHON" "$LAB_LIB_DIR/diffgen.py" --seeds 1-150 --out "$rs/random" >/dev/null
rules=0
rendered=0
loaded=0
for f in "$rs"/random/case-*.nft; do
	# Some cases name interfaces of the differential lab (iif "veth-ctr"): nft refuses
	# them here. They are only a source of shapes.
	ip netns exec "$ns" nft flush ruleset
	ip netns exec "$ns" nft -f "$f" 2>/dev/null || continue
	loaded=$((loaded + 1))
	render_check "$ns" "random $(basename "$f" .nft)" 0 >"$LAB_DIR/random.out"
	grep -v '^PASS' "$LAB_DIR/random.out" || true
	read -r _ n _ k _ <<<"$LAST_SUMMARY"
	rules=$((rules + n))
	rendered=$((rendered + k))
done
if ((loaded < 50 || rules == 0)); then
	echo "FAIL: random rulesets: only $loaded of 150 loaded ($rules rules)"
	failed+=("random rulesets")
elif ((rendered * 2 < rules)); then
	echo "FAIL: random rulesets: $rendered of $rules rules rendered, fewer than half"
	failed+=("random rulesets")
else
	lab_pass "random rulesets: $loaded loaded, $rendered of $rules rules rendered"
fi

# --- firewalld's ruleset ---------------------------------------------------------------

lab_incident
lab_fwcmd --add-port=8080/tcp >/dev/null
lab_fwcmd --add-service=https >/dev/null
lab_fwcmd --add-rich-rule='rule family=ipv4 source address=198.51.100.0/24 port port=9000 protocol=tcp accept' >/dev/null
lab_fwcmd --add-forward-port=port=8081:proto=tcp:toport=80 >/dev/null
lab_fwcmd --add-masquerade >/dev/null
lab_fwcmd --add-icmp-block=echo-request >/dev/null
render_check "$LAB_SRV" "firewalld (incident host)" 0

if ((${#failed[@]})); then
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all rendered texts agree with libnftables"
