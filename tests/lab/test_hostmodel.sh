#!/bin/bash
# test_hostmodel.sh: the host model (issue #11), the kernel as judge. Each case sets
# the server up, asks portcheck (`explain --json`, `status --json`) and sends a real
# SYN from the matching source and interface; both must give the outcome the kernel
# is known to give, so a case fails when portcheck and the kernel disagree and also
# when both are wrong.
#
#   server eth0 192.0.2.1/24, 2001:db8:1::1/64 <-> client ($LAB_CLI) 192.0.2.2, 2001:db8:1::2
#   server eth1 203.0.113.1/24                 <-> client2 ($LAB_PEER) 203.0.113.2
#                                                  (+ 192.0.2.77/32: a source the server
#                                                   routes back through eth0)
#
#   6. firewalld's IPv6 reverse-path rule (fib saddr . mark . iif oif missing drop) and
#      no IPv6 default route: `portcheck open 80/tcp --permanent` exits 0, exposure open,
#      paths of sources with no route back are there but spoofed; the on-link client
#      connects; explain from 2001:db8:99::5 says drop by the fib rule, spoofed, and a
#      counter behind the rule proves the kernel dropped that SYN before input.
#   (firewalld is then stopped; cases 1-5 use plain nft or no ruleset.)
#   1. rp_filter: a SYN on eth1 from 192.0.2.77 (route back: eth0). Strict (device 1,
#      or all 1) drops it: no SYN-RECV, TcpExtIPReversePathFilter rises, explain drop
#      with a reverse-path reason. Loose (device 2, or all 2 with device 1: the maximum
#      counts) and 0 pass it: a SYN-RECV request socket appears (the kernel answered),
#      the counter stays, explain accept. A SYN-ACK cannot reach 192.0.2.77 (it leaves
#      through eth0), so the server's state is the witness, not the client's.
#   2. meta iifgroup: eth1 in group 10, input policy drop, `meta iifgroup 10 accept`:
#      client2 connects over eth1, the client's SYN over eth0 goes unanswered; status
#      and explain say accept on eth1, drop on eth0.
#   3. weak host: a listener on 192.0.2.1 (eth0's address) reached from client2 over
#      eth1: it connects; status has an accepting eth1 path; explain over eth1 accepts.
#   4. SO_BINDTODEVICE eth1: status has paths on eth1 only; client2 connects over eth1,
#      the client over eth0 gets a RST (no socket for it there).
#   5. route_localnet: a listener on 127.0.0.1 is local-only while route_localnet is 0,
#      and the client's SYN to 127.0.0.1 (routed to the server's eth0: the client's lo
#      loses 127.0.0.1/8) gets no answer (no SYN-RECV on the server either); with the server's
#      eth0.route_localnet=1 status has an eth0 path (accept, no other interface), explain
#      accepts, and the client connects.
#
# Needs root (exits 77, SKIP, otherwise) and the built binaries in PORTCHECK
# and PORTCHECKD (default: build/ of this checkout).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

lab_require_root nft ss python3
_lab_need_cmds ss awk
lab_binaries || lab_die "portcheck is not built: set PORTCHECK and PORTCHECKD (now '$PORTCHECK', '$PORTCHECKD')"
lab_init
lab_netns_server_client
lab_netns_peer cli2 eth1 203.0.113.1/24 203.0.113.2/24
CLI2=$LAB_PEER
SPOOF4=192.0.2.77 # on client2, but the server routes it back through eth0
_lab_ip "$CLI2" addr add "$SPOOF4/32" dev eth0
# client2's ARP requests name 203.0.113.2 as the sender, whatever the packet's source:
# the server runs rp_filter on ARP too, and a request from 192.0.2.77 on eth1 would go
# unanswered under strict mode before any SYN was sent.
_lab_sysctl "$CLI2" net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_announce=2
# The server's SYN-ACKs to 192.0.2.77 leave through eth0, where nobody answers ARP for
# it: a failed neighbour makes the kernel send itself host-unreachable, which kills the
# SYN-RECV request socket this test reads. A fixed (unused) MAC address lets them go out.
_lab_ip "$LAB_SRV" neigh replace "$SPOOF4" lladdr 02:00:00:00:00:77 dev eth0 nud permanent

# --- helpers -------------------------------------------------------------------

# probe NS SRC DST PORT: one TCP SYN from SRC (an address of NS) with prober.py; sets
# PROBE (accept, rst, icmp, none) and PROBE_SPORT. Every probe has a new source port, so
# no 5-tuple is ever reused while conntrack or a request socket remembers it.
SPORT=30000
probe() {
	local ns=$1 src=$2 dst=$3 port=$4 fam=ipv4 out
	[[ $dst == *:* ]] && fam=ipv6
	SPORT=$((SPORT + 1))
	PROBE_SPORT=$SPORT
	out=$(printf '0 %s tcp %s %s %s\n' "$fam" "$src" "$dst" "$port" |
		ip netns exec "$ns" timeout 30 "$LAB_PYTHON" "$LAB_LIB_DIR/prober.py" \
			--timeout 1.5 --sport-base "$SPORT") || lab_die "prober.py failed in $ns: $out"
	# shellcheck disable=SC2034
	read -r _ PROBE _ <<<"$out"
	[[ $PROBE == accept || $PROBE == rst || $PROBE == icmp || $PROBE == none ]] ||
		lab_die "probe $src -> $dst:$port: prober said '$out'"
}

# expect_probe NS SRC DST PORT WANT WHAT
expect_probe() {
	probe "$1" "$2" "$3" "$4"
	[[ $PROBE == "$5" ]] || lab_die "$6: the kernel's answer to a SYN $2 -> $3:$4 is '$PROBE', want '$5'"
}

# syn_recv SRC SPORT PORT: how many SYN-RECV request sockets the server holds for
# SRC:SPORT -> PORT (1 when the kernel accepted that SYN and sent its SYN-ACK).
syn_recv() {
	local out
	out=$(ip netns exec "$LAB_SRV" ss -Htn state syn-recv "( sport = :$3 )") || lab_die "ss failed"
	awk -v peer="$1:$2" '{ for (i = 1; i <= NF; i++) if ($i == peer) n++ } END { print n + 0 }' <<<"$out"
}

# rpf_drops: the server's TcpExtIPReversePathFilter (packets dropped by rp_filter).
rpf_drops() {
	# shellcheck disable=SC2016 # awk's own $i
	ip netns exec "$LAB_SRV" awk '/^TcpExt:/ {
		if (!h) { for (i = 1; i <= NF; i++) name[i] = $i; h = 1; next }
		for (i = 1; i <= NF; i++) if (name[i] == "IPReversePathFilter") { print $i; found = 1 }
	} END { if (!found) exit 1 }' /proc/net/netstat || lab_die "no IPReversePathFilter in /proc/net/netstat"
}

# pycheck FILE WHAT CODE: run Python CODE with j = the JSON in FILE; fail with WHAT
# (and the JSON) unless it exits 0. CODE uses assert.
pycheck() {
	"$LAB_PYTHON" - "$1" "$3" <<'PY' || lab_die "$2: $(head -c 4000 "$1")"
import ipaddress, json, sys
import srcform  # tests/lab (lab.sh puts it on PYTHONPATH)
j = srcform.status_view(json.load(open(sys.argv[1])))  # Status version 2 read as 1
def listener(port, address=None):
    ls = [l for l in j["listeners"] if l["port"] == port and l["protocol"] == "tcp"
          and (address is None or l["address"] == address)]
    assert len(ls) == 1, "listener %s/tcp: %d found" % (port, len(ls))
    return ls[0]
def covers(p, addr):
    a = ipaddress.ip_address(addr)
    return p["source"] == "any" or any(in_word(a, s) for s in p["source"].split(","))
def in_word(a, s):  # a prefix, or a range "lo-hi" (the words of a path's sources)
    if "-" in s:
        lo, hi = (ipaddress.ip_address(x) for x in s.split("-"))
        return lo.version == a.version and lo <= a <= hi
    return a in ipaddress.ip_network(s, strict=False)
def path(port, iface, client, address=None):
    ps = [p for p in listener(port, address)["paths"]
          if p["interface"] == iface and covers(p, client)
          and p["family"] == ("ipv6" if ":" in client else "ipv4")]
    assert len(ps) == 1, "%s/tcp on %s for %s: %d paths" % (port, iface, client, len(ps))
    return ps[0]
exec(sys.argv[2])
PY
}

# explain NAME PORT SRC IF DST WANT_RC: `portcheck explain --json` into $LAB_DIR/NAME.out.
explain() {
	lab_pc "$1" explain "$2/tcp" --from "$3" --iface "$4" --to "$5" --json
	lab_expect_rc "$1" "$6"
}

# status: `portcheck status --json` into $LAB_DIR/status.out (exit 0 or 1: findings).
status() {
	lab_pc status status --json
	lab_expect_rc status 0 1
}

srv_sysctl() { _lab_sysctl "$LAB_SRV" "$@"; }

# ==== 6. firewalld's IPv6 reverse-path rule, no IPv6 default route ==============
lab_dbus_start
lab_firewalld_start nftables
lab_listeners 'tcp:[::]:80:nginx:dual'
# shellcheck disable=SC2119 # no extra daemon arguments
lab_portcheckd_start
ruleset=$(lab_nft list ruleset) || lab_die "nft list ruleset failed"
[[ $ruleset == *'fib saddr . mark . iif oif missing drop'* ]] ||
	lab_die "firewalld's IPv6 rpfilter rule is not in the ruleset: ${ruleset:0:3000}"
_lab_ip "$LAB_SRV" -6 route del default

lab_pc open6 open 80/tcp --permanent
lab_expect_rc open6 0
status
pycheck "$LAB_DIR/status.out" "case 6: 80/tcp after open, no IPv6 default route" '
l = listener(80)
assert l["exposure"] == "open", l["exposure"]
sp = [p for p in l["paths"] if p["family"] == "ipv6" and p["spoofed"]]
assert sp, "no spoofed IPv6 path"
assert all(p["verdict"] == "drop" for p in sp if p["interface"] == "eth0"), sp
p = path(80, "eth0", "2001:db8:1::2")
assert p["verdict"] == "accept" and not p["spoofed"], p
p = path(80, "eth0", "2001:db8:99::5")
assert p["spoofed"] and p["verdict"] == "drop", p
'
expect_probe "$LAB_CLI" "$LAB_CLI_IPV6" "$LAB_SRV_IPV6" 80 accept "case 6: on-link IPv6 client"

explain ex6 80 2001:db8:99::5 eth0 "$LAB_SRV_IPV6" 1
pycheck "$LAB_DIR/ex6.out" "case 6: explain from 2001:db8:99::5" '
assert j["verdict"] == "drop" and j["spoofed"] is True, (j["verdict"], j["spoofed"])
assert "fib saddr" in j["rule"]["text"], j["rule"]
'
# The kernel: counters before (raw) and after (input) the fib rule. The SYN from a
# source with no route back reaches prerouting but never input.
_lab_ip "$LAB_CLI" addr add 2001:db8:99::5/128 dev eth0 nodad
lab_nft -f - <<'EOF' || lab_die "cannot load the witness table"
table inet pcwitness {
	chain pre { type filter hook prerouting priority raw - 10; ip6 saddr 2001:db8:99::5 tcp dport 80 counter; }
	chain inp { type filter hook input priority filter + 20; ip6 saddr 2001:db8:99::5 tcp dport 80 counter; }
}
EOF
expect_probe "$LAB_CLI" 2001:db8:99::5 "$LAB_SRV_IPV6" 80 none "case 6: source with no route back"
witness=$(lab_nft list table inet pcwitness)
[[ $witness =~ chain\ pre.*counter\ packets\ ([1-9][0-9]*).*chain\ inp.*counter\ packets\ 0\  ]] ||
	lab_die "case 6: the SYN from 2001:db8:99::5 should pass prerouting's start and not reach input: $witness"
lab_pass "case 6: firewalld's IPv6 rpfilter with no default route: open exits 0, exposure open," \
	"spoofed paths drop, on-link client connects, 2001:db8:99::5 dropped by the fib rule (kernel too)"

# ==== plain nftables from here ================================================
lab_firewalld_stop
lab_nft flush ruleset
_lab_ip "$LAB_SRV" -6 route add default via "$LAB_CLI_IPV6"
lab_listeners tcp:0.0.0.0:9001:rpapp tcp:0.0.0.0:9002:grpapp tcp:192.0.2.1:9003:weakapp \
	tcp:0.0.0.0:9004:devapp:dev=eth1 tcp:127.0.0.1:9005:localapp

# ==== 1. rp_filter ============================================================
# rp_case ALL DEV WANT(drop|accept): set the server's conf.all and conf.eth1 rp_filter,
# then explain and probe a SYN from 192.0.2.77 arriving on eth1.
rp_case() {
	local all=$1 dev=$2 want=$3 before after n what="case 1 (all.rp_filter=$1, eth1.rp_filter=$2)"
	srv_sysctl net.ipv4.conf.all.rp_filter="$all" net.ipv4.conf.eth1.rp_filter="$dev"
	if [[ $want == drop ]]; then
		explain ex1 9001 "$SPOOF4" eth1 203.0.113.1 1
		pycheck "$LAB_DIR/ex1.out" "$what: explain" '
assert j["verdict"] == "drop", j["verdict"]
assert "reverse-path" in j["reason"], j["reason"]
assert j["spoofed"] is True, j["spoofed"]
'
	else
		explain ex1 9001 "$SPOOF4" eth1 203.0.113.1 0
		pycheck "$LAB_DIR/ex1.out" "$what: explain" 'assert j["verdict"] == "accept", j["verdict"]'
	fi
	before=$(rpf_drops)
	probe "$CLI2" "$SPOOF4" 203.0.113.1 9001
	after=$(rpf_drops)
	n=$(syn_recv "$SPOOF4" "$PROBE_SPORT" 9001)
	[[ $PROBE == none ]] || lab_die "$what: the client got '$PROBE' (its SYN-ACK should leave through eth0)"
	if [[ $want == drop ]]; then
		((n == 0 && after > before)) ||
			lab_die "$what: the kernel should drop by rp_filter: $n SYN-RECV, IPReversePathFilter $before -> $after"
	else
		((n == 1 && after == before)) ||
			lab_die "$what: the kernel should accept: $n SYN-RECV, IPReversePathFilter $before -> $after"
	fi
	lab_pass "$what: 192.0.2.77 on eth1 (route back via eth0): portcheck and kernel say $want"
}
rp_case 0 1 drop
rp_case 1 0 drop
rp_case 0 2 accept
rp_case 2 1 accept
rp_case 0 0 accept
# Control: strict, but a source routed back through eth1 passes (and really connects).
srv_sysctl net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth1.rp_filter=1
explain ex1c 9001 203.0.113.2 eth1 203.0.113.1 0
expect_probe "$CLI2" 203.0.113.2 203.0.113.1 9001 accept "case 1 control (strict, route back via eth1)"
srv_sysctl net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0
lab_pass "case 1 control: strict rp_filter, source routed back via eth1: accept (explain and kernel)"

# ==== 2. meta iifgroup ========================================================
_lab_ip "$LAB_SRV" link set dev eth1 group 10
lab_nft -f - <<'EOF' || lab_die "cannot load the iifgroup ruleset"
table inet t {
	chain input {
		type filter hook input priority 0; policy drop;
		meta iifgroup 10 accept
		iif lo accept
	}
}
EOF
explain ex2a 9002 203.0.113.2 eth1 203.0.113.1 0
pycheck "$LAB_DIR/ex2a.out" "case 2: explain over eth1" '
assert j["verdict"] == "accept" and "iifgroup" in j["rule"]["text"], (j["verdict"], j["rule"])'
explain ex2b 9002 "$LAB_CLI_IPV4" eth0 "$LAB_SRV_IPV4" 1
pycheck "$LAB_DIR/ex2b.out" "case 2: explain over eth0" 'assert j["verdict"] == "drop", j["verdict"]'
status
pycheck "$LAB_DIR/status.out" "case 2: status" '
assert path(9002, "eth1", "203.0.113.2")["verdict"] == "accept"
assert path(9002, "eth0", "192.0.2.2")["verdict"] == "drop"
'
expect_probe "$CLI2" 203.0.113.2 203.0.113.1 9002 accept "case 2: over eth1 (group 10)"
expect_probe "$LAB_CLI" "$LAB_CLI_IPV4" "$LAB_SRV_IPV4" 9002 none "case 2: over eth0 (group 0)"
lab_nft delete table inet t
lab_pass "case 2: meta iifgroup 10: eth1 accept, eth0 drop (portcheck and kernel)"

# ==== 3. weak host model ======================================================
_lab_ip "$CLI2" route add "$LAB_SRV_IPV4/32" via 203.0.113.1
status
pycheck "$LAB_DIR/status.out" "case 3: status" '
p = path(9003, "eth1", "203.0.113.2")
assert p["verdict"] == "accept" and not p["spoofed"], p
'
explain ex3 9003 203.0.113.2 eth1 "$LAB_SRV_IPV4" 0
pycheck "$LAB_DIR/ex3.out" "case 3: explain" 'assert j["verdict"] == "accept", j["verdict"]'
expect_probe "$CLI2" 203.0.113.2 "$LAB_SRV_IPV4" 9003 accept "case 3: 192.0.2.1 over eth1"
lab_pass "case 3: a listener on eth0's address is reached over eth1 (portcheck and kernel)"

# ==== 4. SO_BINDTODEVICE ======================================================
status
pycheck "$LAB_DIR/status.out" "case 4: status" '
ifs = {p["interface"] for p in listener(9004)["paths"]}
assert ifs == {"eth1"}, ifs
assert path(9004, "eth1", "203.0.113.2")["verdict"] == "accept"
'
expect_probe "$CLI2" 203.0.113.2 203.0.113.1 9004 accept "case 4: bound to eth1, over eth1"
expect_probe "$LAB_CLI" "$LAB_CLI_IPV4" "$LAB_SRV_IPV4" 9004 rst "case 4: bound to eth1, over eth0"
lab_pass "case 4: a socket bound to eth1 has paths on eth1 only; over eth0 the kernel answers RST"

# ==== 5. route_localnet =======================================================
# The client sends to 127.0.0.1 through eth0: its lo loses 127.0.0.1/8 (and with it
# the local routes for 127/8, and the martian check that a source of its own would
# fail), a route to 127.0.0.1 via the server takes their place, and route_localnet on
# its eth0 lets the SYN-ACK (from 127.0.0.1) in.
_lab_ip "$LAB_CLI" addr del 127.0.0.1/8 dev lo
_lab_ip "$LAB_CLI" route add 127.0.0.1/32 via "$LAB_SRV_IPV4" dev eth0
_lab_sysctl "$LAB_CLI" net.ipv4.conf.eth0.route_localnet=1 net.ipv4.conf.all.route_localnet=1
status
pycheck "$LAB_DIR/status.out" "case 5: status, route_localnet 0" '
l = listener(9005)
assert l["exposure"] == "local-only" and not l["paths"], (l["exposure"], l["paths"])
'
explain ex5a 9005 "$LAB_CLI_IPV4" eth0 127.0.0.1 1
pycheck "$LAB_DIR/ex5a.out" "case 5: explain, route_localnet 0" '
assert j["verdict"] == "drop" and "route_localnet" in j["reason"], (j["verdict"], j["reason"])'
expect_probe "$LAB_CLI" "$LAB_CLI_IPV4" 127.0.0.1 9005 none "case 5: route_localnet 0"
n=$(syn_recv "$LAB_CLI_IPV4" "$PROBE_SPORT" 9005)
((n == 0)) || lab_die "case 5: route_localnet 0, yet the server holds $n SYN-RECV for the client's SYN to 127.0.0.1"

srv_sysctl net.ipv4.conf.eth0.route_localnet=1
status
pycheck "$LAB_DIR/status.out" "case 5: status, eth0.route_localnet 1" '
ifs = {p["interface"] for p in listener(9005)["paths"]}
assert ifs == {"eth0"}, ifs
assert path(9005, "eth0", "192.0.2.2")["verdict"] == "accept"
'
explain ex5b 9005 "$LAB_CLI_IPV4" eth0 127.0.0.1 0
pycheck "$LAB_DIR/ex5b.out" "case 5: explain, route_localnet 1" 'assert j["verdict"] == "accept", j["verdict"]'
expect_probe "$LAB_CLI" "$LAB_CLI_IPV4" 127.0.0.1 9005 accept "case 5: eth0.route_localnet 1"
lab_pass "case 5: 127.0.0.1 listener: local-only and dropped without route_localnet; with it on eth0, an eth0 path that accepts (portcheck and kernel)"
