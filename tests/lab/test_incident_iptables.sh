#!/bin/bash
# test_incident_iptables.sh: the firewalld incident (the README's first example) with firewalld's
# *iptables* backend (iptables-nft: the rules are nftables tables "ip filter",
# "ip6 filter", ... made of xtables compat expressions, e.g. `target REJECT`),
# and zone public's target set to %%REJECT%%, as on the original box.
#
# What the kernel really does here (firewalld 1.3.3, iptables 1.8.9 nf_tables,
# checked by the probes below on every run):
#   - target %%REJECT%%: IN_public ends in `-j REJECT --reject-with
#     icmp-host-prohibited` (ICMP 3/10) for IPv4 and `--reject-with
#     icmp6-adm-prohibited` (ICMPv6 1/1) for IPv6; `nft list` shows them as
#     "reject with icmp type host-prohibited" / "reject with icmpv6 type
#     admin-prohibited", but the bytecode is `[ target name REJECT rev 0 ]`;
#   - (target "default" instead: the iptables backend rejects with plain REJECT,
#     ICMP 3/3 port-unreachable, ICMPv6 1/4; the nftables backend sends 3/13, 1/1.)
# portcheck's `status --json` must agree: 80 blocked, reject 3/10 on the IPv4
# paths and 1/1 on the IPv6 paths, a deciding rule whose text says REJECT or
# reject; 22 open.
#
# Needs root (exits 77, SKIP, otherwise) and the built binaries in PORTCHECK
# and PORTCHECKD (default: build/ of this checkout).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

lab_require_root nmap nft python3
_lab_need_cmds iptables-save ip6tables-save
lab_binaries || lab_die "portcheck is not built: set PORTCHECK and PORTCHECKD (now '$PORTCHECK', '$PORTCHECKD')"
lab_init
lab_netns_server_client
lab_dbus_start
lab_firewalld_start iptables
lab_fwcmd --permanent --zone=public --set-target=%%REJECT%% >/dev/null ||
	lab_die "cannot set zone public's target to %%REJECT%%"
lab_fwcmd --reload >/dev/null || lab_die "firewall-cmd --reload failed"
lab_wait 30 "firewalld to be running after the reload" _lab_firewalld_running ||
	lab_die "firewalld is not running after the reload"
target=$(lab_fwcmd --permanent --zone=public --get-target)
# firewall-cmd shows the target %%REJECT%% as "REJECT".
[[ $target == REJECT || $target == %%REJECT%% ]] || lab_die "zone public's target is '$target', want %%REJECT%%"
# The iptables backend really is in use: iptables-nft tables, no firewalld nft table.
# (Saved to files first: grep -q would close the pipe early, and pipefail would fail it.)
ip netns exec "$LAB_SRV" iptables-save >"$LAB_DIR/iptables.txt" 2>&1 || lab_die "iptables-save failed"
ip netns exec "$LAB_SRV" ip6tables-save >"$LAB_DIR/ip6tables.txt" 2>&1 || lab_die "ip6tables-save failed"
grep -q -- '-A IN_public -j REJECT --reject-with icmp-host-prohibited' "$LAB_DIR/iptables.txt" ||
	lab_die "iptables-save shows no 'IN_public -j REJECT --reject-with icmp-host-prohibited': $(grep -i reject "$LAB_DIR/iptables.txt")"
grep -q -- '-A IN_public -j REJECT --reject-with icmp6-adm-prohibited' "$LAB_DIR/ip6tables.txt" ||
	lab_die "ip6tables-save shows no 'IN_public -j REJECT --reject-with icmp6-adm-prohibited': $(grep -i reject "$LAB_DIR/ip6tables.txt")"
! lab_nft list table inet firewalld >/dev/null 2>&1 || lab_die "firewalld made its nftables table: not the iptables backend"
lab_pass "firewalld runs the iptables backend, zone public target %%REJECT%%"

lab_listeners tcp:0.0.0.0:22:sshd 'tcp:[::]:80:nginx:dual' tcp:127.0.0.1:5432:postgres

# expect_probe PORT FAMILY WORD [ICMP]: the ground truth from a real SYN.
expect_probe() {
	local port=$1 family=$2 want=$3 want_icmp=${4:--} got icmp
	got=$(lab_probe_tcp "$port" "$family")
	[[ $got == "$want" ]] || lab_die "probe $port/tcp $family: got '$got', want '$want'"
	icmp=$(lab_probe_tcp_icmp "$port" "$family")
	[[ $icmp == "$want_icmp" ]] || lab_die "probe $port/tcp $family: ICMP '$icmp', want '$want_icmp'"
	lab_pass "probe $port/tcp $family from the client: $got${4:+ ($icmp)}"
}

# What `REJECT --reject-with icmp-host-prohibited` / `icmp6-adm-prohibited` put on the wire.
ICMP_V4=3/10 # Destination Unreachable, communication with destination host administratively prohibited
ICMP_V6=1/1  # ICMPv6 Destination Unreachable, communication administratively prohibited

expect_probe 22 ipv4 open
expect_probe 80 ipv4 reject-host-prohibited "$ICMP_V4"
expect_probe 80 ipv6 reject-admin-prohibited "$ICMP_V6"

# --- portcheck ---
lab_portcheckd_start
json=$LAB_DIR/status.json
rc=0
lab_portcheck status --json >"$json" || rc=$?
[[ $rc -eq 1 ]] || lab_die "portcheck status --json: exit status $rc, want 1 (findings); output: $(head -c 2000 "$json")"
lab_pass "portcheck status --json exits 1 (findings)"

"$LAB_PYTHON" - "$json" "$ICMP_V4" "$ICMP_V6" <<'EOF'
import json, sys
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

def icmp(reject):
    if not isinstance(reject, dict) or "icmp_type" not in reject:
        return repr(reject)
    return "%s/%s" % (reject["icmp_type"], reject.get("icmp_code"))

for l in listeners(22):
    check(l.get("exposure") == "open", "22/tcp (sshd) exposure open", l.get("exposure"))
    bad = [p for p in l.get("paths") or [] if p.get("verdict") != "accept"]
    check(not bad, "22/tcp: every path accepts", json.dumps(bad)[:1000])

for l in listeners(80):
    check(l.get("exposure") == "blocked", "80/tcp (nginx) exposure blocked", l.get("exposure"))
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
        texts = sorted({((p.get("rule") or {}).get("text") or "") for p in fam})
        check(fam and all("reject" in t.lower() for t in texts),
              "80/tcp %s paths name the deciding REJECT rule: %s" % (family, " | ".join(texts)),
              json.dumps([p.get("rule") for p in fam])[:1000])
    fix = l.get("fix") or {}
    check(fix.get("port") == "80/tcp" and bool(fix.get("command")),
          "80/tcp has a fix (port 80/tcp, a command)", json.dumps(fix))

for l in listeners(5432):
    check(l.get("exposure") == "local-only", "5432/tcp (postgres) exposure local-only", l.get("exposure"))

sys.exit(1 if failed else 0)
EOF
