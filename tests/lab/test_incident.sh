#!/bin/bash
# test_incident.sh: the incident from DESIGN.md, rebuilt in namespaces with a
# real firewalld; portcheck's `status --json` must agree with real probes from
# a client namespace.
#
# Needs root (exits 77, SKIP, otherwise) and the built binaries in PORTCHECK
# and PORTCHECKD (default: build/ of this checkout).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

lab_require_root
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
import json, sys

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
        report = json.load(f)
except ValueError as e:
    print("FAIL: status --json is not JSON: %s" % e, file=sys.stderr)
    sys.exit(1)

check(report.get("version") == 1, "status --json has version 1", repr(report.get("version")))
fw = report.get("firewalld") or {}
check(fw.get("running") is True and fw.get("default_zone") == "public",
      "firewalld reported running, default zone public", json.dumps(fw))

def listeners(port):
    found = [l for l in report.get("listeners", [])
             if l.get("protocol") == "tcp" and l.get("port") == port]
    if not found:
        check(False, "listener %d/tcp is reported" % port)
    return found

def icmp(reject):
    if not isinstance(reject, dict) or "icmp_type" not in reject:
        return repr(reject)
    return "%s/%s" % (reject["icmp_type"], reject.get("icmp_code"))

for l in listeners(22):
    check(l.get("exposure") == "open", "22/tcp (sshd) exposure open", l.get("exposure"))
    check((l.get("process") or {}).get("name") == "sshd", "22/tcp owned by sshd", json.dumps(l.get("process")))

for l in listeners(80):
    check(l.get("exposure") == "blocked", "80/tcp (nginx) exposure blocked", l.get("exposure"))
    check((l.get("process") or {}).get("name") == "nginx", "80/tcp owned by nginx", json.dumps(l.get("process")))
    check(sorted(l.get("families") or []) == ["ipv4", "ipv6"], "80/tcp is dual-stack",
          json.dumps(l.get("families")))
    paths = l.get("paths") or []
    check(bool(paths), "80/tcp has paths")
    bad = [p for p in paths if p.get("zone") != "public" or p.get("verdict") != "reject"]
    check(not bad, "80/tcp: every path is zone public, verdict reject", json.dumps(bad)[:1000])
    for family, want in (("ipv4", probe_v4), ("ipv6", probe_v6)):
        fam = [p for p in paths if p.get("family") == family]
        got = sorted({icmp(p.get("reject")) for p in fam})
        check(fam and got == [want],
              "80/tcp %s paths reject with ICMP %s, as the probe saw" % (family, want),
              "got %s" % got)
    # The command may name the port or the service (http); "port" is always the port.
    fix = l.get("fix") or {}
    check(fix.get("port") == "80/tcp" and bool(fix.get("command")),
          "80/tcp has a fix (port 80/tcp, a command)", json.dumps(fix))

for l in listeners(5432):
    check(l.get("exposure") == "local-only", "5432/tcp (postgres) exposure local-only", l.get("exposure"))

sys.exit(1 if failed else 0)
EOF
