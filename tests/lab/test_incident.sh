#!/bin/bash
# test_incident.sh: the firewalld incident (the README's first example), rebuilt in namespaces with a
# real firewalld; portcheck's `status --json` must agree with real probes from
# a client namespace.
#
# Needs root (exits 77, SKIP, otherwise) and the built binaries in PORTCHECK
# and PORTCHECKD (default: build/ of this checkout).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

lab_require_root nmap python3
lab_binaries || lab_die "portcheck is not built: set PORTCHECK and PORTCHECKD (now '$PORTCHECK', '$PORTCHECKD')"
lab_init
lab_incident

# expect_probe PORT FAMILY WORD [ICMP]: the ground truth, checked against what
# firewalld 1.3's nftables backend is known to send.
expect_probe() {
	local port=$1 family=$2 want=$3 want_icmp=${4:--} got icmp
	got=$(lab_probe_tcp "$port" "$family")
	[[ $got == "$want" ]] || lab_die "probe $port/tcp $family: got '$got', want '$want'"
	icmp=$(lab_probe_tcp_icmp "$port" "$family")
	[[ $icmp == "$want_icmp" ]] || lab_die "probe $port/tcp $family: ICMP '$icmp', want '$want_icmp'"
	lab_pass "probe $port/tcp $family from the client: $got${4:+ ($icmp)}"
}

# What `reject with icmpx admin-prohibited` puts on the wire.
ICMP_V4=3/13 # Destination Unreachable, communication administratively prohibited
ICMP_V6=1/1  # ICMPv6 Destination Unreachable, administratively prohibited

# --- ground truth: real SYNs from the client namespace ---
expect_probe 22 ipv4 open
expect_probe 80 ipv4 reject-admin-prohibited "$ICMP_V4"
expect_probe 80 ipv6 reject-admin-prohibited "$ICMP_V6"
expect_probe 8000 ipv4 open

# --- portcheck ---
lab_portcheckd_start
json=$LAB_DIR/status.json
rc=0
lab_portcheck status --json >"$json" || rc=$?
[[ $rc -eq 1 ]] || lab_die "portcheck status --json: exit status $rc, want 1 (findings); output: $(head -c 2000 "$json")"
lab_pass "portcheck status --json exits 1 (findings)"

# The JSON checks; the ICMP type/code are the ones the probes saw above.
"$LAB_PYTHON" - "$json" "$ICMP_V4" "$ICMP_V6" <<'EOF'
import ipaddress, json, sys
import srcform  # tests/lab (lab.sh puts it on PYTHONPATH): Status version 2 read as 1

path, probe_v4, probe_v6 = sys.argv[1:4]
failed = False

def check(ok, what, detail=""):
    global failed
    if ok:
        print("PASS: " + what)
    else:
        print("FAIL: %s%s" % (what, ": " + detail if detail else ""), file=sys.stderr)
        failed = True
    return ok

try:
    with open(path) as f:
        report = srcform.status_view(json.load(f))
except ValueError as e:
    print("FAIL: status --json is not JSON: %s" % e, file=sys.stderr)
    sys.exit(1)

check(report.get("version") == 2, "status --json has version 2", repr(report.get("version")))
fw = report.get("firewalld") or {}
check(fw.get("running") is True and fw.get("default_zone") == "public",
      "firewalld reported running, default zone public", json.dumps(fw))

def listeners(port):
    found = [l for l in report.get("listeners", [])
             if l.get("protocol") == "tcp" and l.get("port") == port]
    if not found:
        check(False, "listener %d/tcp is reported" % port)
    return found

CLIENT_V4, CLIENT_V6 = ipaddress.ip_address("192.0.2.2"), ipaddress.ip_address("2001:db8:1::2")

def covers(path, addr):
    source = path.get("source") or ""
    if source == "any":
        return path.get("family") == ("ipv4" if addr.version == 4 else "ipv6")
    return any(in_word(addr, s) for s in source.split(","))

def in_word(addr, s):  # a prefix, or a range "lo-hi" (the words of a path's sources)
    if "-" in s:
        lo, hi = (ipaddress.ip_address(x) for x in s.split("-"))
        return lo.version == addr.version and lo <= addr <= hi
    net = ipaddress.ip_network(s)
    return net.version == addr.version and addr in net

def icmp(reject):
    if not isinstance(reject, dict) or "icmp_type" not in reject:
        return repr(reject)
    return "%s/%s" % (reject["icmp_type"], reject.get("icmp_code"))

for l in listeners(22):
    check(l.get("exposure") == "open", "22/tcp (sshd) exposure open", l.get("exposure"))
    eth0 = [p for p in l.get("paths") or [] if p.get("interface") == "eth0" and covers(p, CLIENT_V4)]
    check(len(eth0) == 1 and eth0[0].get("allowed_by") == "service ssh" and
          eth0[0].get("verdict") == "accept", "22/tcp: the client's path accepts, allowed by service ssh",
          json.dumps(eth0))
    check((l.get("process") or {}).get("name") == "sshd", "22/tcp owned by sshd", json.dumps(l.get("process")))

for l in listeners(80):
    check(l.get("exposure") == "blocked", "80/tcp (nginx) exposure blocked", l.get("exposure"))
    check((l.get("process") or {}).get("name") == "nginx", "80/tcp owned by nginx", json.dumps(l.get("process")))
    check(sorted(l.get("families") or []) == ["ipv4", "ipv6"], "80/tcp is dual-stack",
          json.dumps(l.get("families")))
    # The paths the probes took: arriving on eth0 from the client's addresses.
    paths = [p for p in l.get("paths") or [] if p.get("interface") == "eth0" and
             (covers(p, CLIENT_V4) or covers(p, CLIENT_V6))]
    check(len(paths) == 2, "80/tcp has one eth0 path per family covering the client",
          json.dumps(l.get("paths"))[:1500])
    bad = [p for p in paths if p.get("zone") != "public" or p.get("verdict") != "reject"]
    check(not bad, "80/tcp: the client's paths are zone public, verdict reject", json.dumps(bad)[:1000])
    for family, want in (("ipv4", probe_v4), ("ipv6", probe_v6)):
        fam = [p for p in paths if p.get("family") == family]
        got = sorted({icmp(p.get("reject")) for p in fam})
        check(fam and got == [want],
              "80/tcp %s path rejects with ICMP %s, as the probe saw" % (family, want),
              "got %s" % got)
    rules = [p.get("rule") or {} for p in paths]
    check(all(r.get("table") == "firewalld" and r.get("chain") == "filter_IN_public" and
              "reject" in (r.get("text") or "") and r.get("handle") for r in rules),
          "80/tcp: the deciding rule is firewalld's reject in filter_IN_public", json.dumps(rules))
    # The command may name the port or the service (http); "port" is always the port.
    fix = l.get("fix") or {}
    check(fix.get("port") == "80/tcp" and bool(fix.get("command")),
          "80/tcp has a fix (port 80/tcp, a command)", json.dumps(fix))

for l in listeners(5432):
    check(l.get("exposure") == "local-only", "5432/tcp (postgres) exposure local-only", l.get("exposure"))

# 8000: docker-proxy listens on the host, but a connection from the client is
# DNAT'd to the container before it could reach it: accepted, forwarded_to the container.
for l in listeners(8000):
    eth0 = [p for p in l.get("paths") or [] if p.get("interface") == "eth0" and covers(p, CLIENT_V4)]
    check(len(eth0) == 1 and eth0[0].get("verdict") == "accept" and
          (eth0[0].get("forwarded_to") or {}).get("address") == "198.51.100.2" and
          (eth0[0].get("forwarded_to") or {}).get("port") == 8000,
          "8000/tcp: the client's path accepts, forwarded_to 198.51.100.2:8000 (as the probe saw)",
          json.dumps(eth0)[:1000])

sys.exit(1 if failed else 0)
EOF

# --- explain: one connection, rule by rule, agreeing with the probes above ---
# explain_check PORT WANT_STATUS PYTHON_ASSERTIONS [FROM]: `explain PORT/tcp --from
# the client` (or FROM; interface and destination defaulted from the routes), checked
# in python with the reply in `e`.
explain_check() {
	local port=$1 want=$2 checks=$3 from=${4:-192.0.2.2} rc=0 out=$LAB_DIR/explain-$1.json
	lab_portcheck explain "$port/tcp" --from "$from" --json >"$out" || rc=$?
	((rc == want)) || lab_die "explain $port/tcp: exit status $rc, want $want: $(head -c 2000 "$out")"
	"$LAB_PYTHON" - "$out" "$checks" <<'PY' || lab_die "explain $port/tcp: $(head -c 3000 "$out")"
import json, sys
e = json.load(open(sys.argv[1]))
exec(sys.argv[2])
PY
}

explain_check 80 1 '
assert e["interface"] == "eth0" and e["destination"] == "192.0.2.1", e
assert e["verdict"] == "reject" and e["reject"] == {"icmp_type": 3, "icmp_code": 13}, e["reject"]
assert "No route to host" in e["client_sees"], e["client_sees"]
last = [t for t in e["trace"] if t["action"] == "reject"]
assert last and last[-1]["handle"] == e["rule"]["handle"] and last[-1]["chain"] == "filter_IN_public", e["trace"]
'
lab_pass "explain 80/tcp --from the client: rejected 3/13 by filter_IN_public's rule, \"No route to host\", as the probe saw"

explain_check 22 0 '
assert e["verdict"] == "accept" and e["allowed_by"] == "service ssh", e
assert e["client_sees"].startswith("SYN-ACK"), e["client_sees"]
'
lab_pass "explain 22/tcp: accepted (service ssh), SYN-ACK, as the probe saw"

explain_check 8000 0 '
assert e["verdict"] == "accept", e
assert e["forwarded_to"] == {"address": "198.51.100.2", "port": 8000}, e["forwarded_to"]
assert any(t["action"] == "nat" for t in e["trace"]), e["trace"]
'
lab_pass "explain 8000/tcp: DNAT to the container 198.51.100.2:8000, then accepted, as the probe saw"

# "curl localhost works": from 127.0.0.1 the route is lo, and firewalld accepts lo.
explain_check 80 0 '
assert e["interface"] == "lo" and e["destination"] == "127.0.0.1", e
assert e["verdict"] == "accept" and e["client_sees"].startswith("SYN-ACK"), e
assert "lo" in e["rule"]["text"] and e["rule"]["text"].endswith("accept"), e["rule"]
' 127.0.0.1
lab_pass "explain 80/tcp --from 127.0.0.1: accepted on lo by \"iifname lo accept\": why curl localhost works"
