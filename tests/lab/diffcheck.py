#!/usr/bin/python3
"""Compare what the kernel did with what `portcheck explain` says; shrink mismatches.

usage: diffcheck.py compare --probes P --kernel K --explain DIR [--seed N]
       diffcheck.py status --probes P --kernel K --status FILE --ruleset FILE
                           [--dst4 A] [--dst6 A] [--iface IF] [--seed N]
       diffcheck.py minimize --ruleset FILE --probe LINE --out DIR --srv NS --cli NS [--ctr NS]
                             --portcheck PATH --socket PATH [--sport-base N] [--budget S]
                             [--ipt4 FILE] [--ipt6 FILE] [--explain-sport]
       diffcheck.py ct-flush      (in the server's namespace: empty its conntrack table)

compare: P is diffgen.py's probe list, K prober.py's answers, DIR holds ID.json
(explain's output) and ID.rc (its exit status) per probe. Prints one line per
disagreement on stdout ("ID<TAB>why") and the details on stderr; the last stdout
line is "# agree N of M". Exit status 0 always (the caller counts lines).

The contract checked, per probe:
  kernel accept (SYN-ACK, or the UDP echo)   <-> verdict "accept", exit status 0
  kernel rst (TCP RST)                       <-> verdict "reject", reject {"tcp_reset": true}
  kernel icmp T/C                            <-> verdict "reject", reject {"icmp_type": T, "icmp_code": C}
  kernel none (silence)                      <-> verdict "drop"
  verdict "unknown" is always a disagreement (the generated rulesets are exact);
  exit status 1 for anything but accept; family/source/destination/protocol/port
  echoed back; where the listener named the address and port the probe really
  reached (the UDP echo; the TCP banner, when the connection got that far),
  "forwarded_to" must name them (or be null when they are the probed ones).

status: the status cross-check (issue #9). FILE is `portcheck status --json`, the
ruleset `nft -j list ruleset`, both read after the case's probes. For every probe
to the server's own address on IF (--dst4/--dst6, the address the analysis takes
for a wildcard listener there, unless a path names its "destination"), the
listener of its port and protocol on the wildcard address, its paths on IF for the
probe's family, and of those the one whose "sources" form holds for the probe's
source address and port (srcform.which_path; none or several is a disagreement):
that path's verdict, reject and forwarded_to must agree with the kernel as
explain's do (the contract above). Output as for compare ("# status agree N of M"
last). A reply without "sources" in its paths is one disagreement.

ct-flush: delete every conntrack entry of the namespace it runs in, both families
(ctnetlink, IPCTNL_MSG_CT_DELETE without a tuple), so probes with explicit source
ports never meet an entry an earlier run left (a reused tuple would be
"established", and keep its old NAT binding). Exit status 1 if the kernel refuses.

minimize: given a ruleset and one disagreeing probe, repeatedly load a smaller
ruleset into the server namespace (flush + nft -f), probe once from the client
namespace and ask portcheck, keeping every removal (of a table, a chain, a set, a
rule) after which the same disagreement remains. Bounded by --budget seconds.
The case's iptables-nft rules (--ipt4/--ipt6, iptables-nft-restore input; a
missing file is none) are loaded after every candidate as they are, not shrunk,
and copied to DIR/minimal.ipt4 / minimal.ipt6.
Writes DIR/original.nft, DIR/minimal.nft, DIR/probe.txt, DIR/explain.json and
DIR/report.txt, and prints the report.
"""

import argparse
import ipaddress
import json
import os
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def read_probes(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                fields = line.split()
                out[fields[0]] = dict(zip(("id", "family", "proto", "src", "dst", "port", "sport"),
                                          fields), line=line)
    return out


def read_kernel(path):
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                out[parts[0]] = (parts[1], parts[2])
    return out


def expected_text(kernel):
    result, detail = kernel
    return {"accept": "accept", "rst": "reject (tcp reset)", "none": "drop",
            "icmp": "reject (ICMP %s)" % detail}.get(result, "%s %s" % kernel)


def engine_text(ex):
    if not isinstance(ex, dict):
        return "no answer"
    v = ex.get("verdict")
    rej = ex.get("reject")
    if v == "reject" and isinstance(rej, dict):
        if rej.get("tcp_reset"):
            return "reject (tcp reset)"
        if "icmp_type" in rej:
            return "reject (ICMP %s/%s)" % (rej.get("icmp_type"), rej.get("icmp_code"))
    return "%s%s" % (v, "" if rej is None else " " + json.dumps(rej))


def judge(probe, kernel, ex, rc):
    """None if they agree, else a short reason."""
    if kernel is None:
        return "no kernel result"
    if kernel[0] == "error":
        return "probe failed: %s" % kernel[1]
    if not isinstance(ex, dict):
        return "portcheck gave no JSON (exit status %s)" % rc
    why = judge_path(probe, kernel, ex)
    if why:
        return why
    v = ex.get("verdict")
    want_rc = 0 if v == "accept" else 1
    if rc != want_rc:
        return "exit status %s, want %d for %s" % (rc, want_rc, v)
    for key, want_v in (("family", probe["family"]), ("source", addr_norm(probe["src"])),
                        ("destination", addr_norm(probe["dst"])), ("protocol", probe["proto"]),
                        ("port", int(probe["port"]))):
        got_v = addr_norm(ex.get(key)) if key in ("source", "destination") else ex.get(key)
        if got_v != want_v:
            return "field %s is %r, want %r" % (key, ex.get(key), want_v)
    return None


def judge_path(probe, kernel, ex):
    """The contract on one path (explain's reply, or a path of status): verdict, reject
    and forwarded_to against what the kernel did. None if they agree."""
    v = ex.get("verdict")
    if v == "unknown":
        return "portcheck says unknown: %s" % ex.get("reason")
    want = expected_text(kernel)
    got = engine_text(ex)
    if want != got:
        return "kernel %s, portcheck %s" % (want, got)
    if kernel[0] == "accept" and len(kernel[1].split()) == 2:
        addr, port = kernel[1].split()
        fwd = ex.get("forwarded_to")
        if fwd is None:
            if (addr_norm(addr), int(port)) != (addr_norm(probe["dst"]), int(probe["port"])):
                return "the probe reached %s port %s, portcheck says forwarded_to null" % (
                    addr, port)
        elif not isinstance(fwd, dict) or \
                (addr_norm(fwd.get("address")), fwd.get("port")) != (addr_norm(addr), int(port)):
            return "the probe reached %s port %s, portcheck says forwarded_to %s" % (
                addr, port, json.dumps(fwd))
    return None


def addr_norm(a):
    try:
        return str(ipaddress.ip_address(a))
    except (ValueError, TypeError):
        return a


def load_explain(d, pid):
    ex, rc = None, None
    try:
        with open(os.path.join(d, pid + ".json")) as f:
            ex = json.load(f)
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(d, pid + ".rc")) as f:
            rc = int(f.read().strip())
    except (OSError, ValueError):
        pass
    return ex, rc


def describe(probe, kernel, ex, rc, why):
    lines = ["probe %s: %s %s from %s%s to %s port %s" % (
        probe["id"], probe["family"], probe["proto"], probe["src"],
        " port %s" % probe["sport"] if probe.get("sport") else "", probe["dst"], probe["port"]),
        "  why:       %s" % why,
        "  kernel:    %s" % (expected_text(kernel) if kernel else "-")
        + ("  (reached %s)" % kernel[1] if kernel and kernel[0] == "accept" and kernel[1] != "-" else ""),
        "  portcheck: %s (exit %s)" % (engine_text(ex), rc)]
    if isinstance(ex, dict):
        rule = ex.get("rule")
        if rule:
            lines.append("  rule:      %s %s chain %s handle %s: %s" % (
                rule.get("family"), rule.get("table"), rule.get("chain"), rule.get("handle"),
                rule.get("text")))
        if ex.get("forwarded_to"):
            lines.append("  forwarded: %s" % json.dumps(ex["forwarded_to"]))
        if ex.get("reason"):
            lines.append("  reason:    %s" % ex["reason"])
        for t in ex.get("trace") or []:
            lines.append("    %-10s %s %s %s #%s %-45s -> %s" % (
                t.get("hook"), t.get("family"), t.get("table"), t.get("chain"), t.get("handle"),
                t.get("text"), t.get("action")))
    return "\n".join(lines)


def cmd_compare(args):
    probes = read_probes(args.probes)
    kernel = read_kernel(args.kernel)
    agree = 0
    for pid, p in probes.items():
        ex, rc = load_explain(args.explain, pid)
        why = judge(p, kernel.get(pid), ex, rc)
        if why is None:
            agree += 1
            continue
        print("%s\t%s" % (pid, why))
        sys.stderr.write("MISMATCH seed %s %s\n" % (args.seed, describe(p, kernel.get(pid), ex, rc, why)))
    print("# agree %d of %d" % (agree, len(probes)))
    return 0


# --- the status cross-check ------------------------------------------------------------

def short(text, n=1500):
    return text if len(text) <= n else text[:n] + "... (%d characters)" % len(text)


# The one unknown the status check accepts: the engine's documented budget for masks
# that keep bits after cleared ones (docs/json.md, "Limits").
DOCUMENTED_LIMIT = "mask that keeps bits after cleared ones"


def cmd_status(args):
    sys.path.insert(0, HERE)
    import srcform  # (beside this file)
    probes = read_probes(args.probes)
    kernel = read_kernel(args.kernel)
    with open(args.status) as f:
        status = srcform.status_view(json.load(f))  # version 2 read as 1
    with open(args.ruleset) as f:
        sets = srcform.load_sets(f.read())
    listeners = status.get("listeners") or []
    if not any("sources" in p for l in listeners for p in l.get("paths") or []):
        print("0\tstatus: no path has a \"sources\" form (docs/json.md)")
        print("# agree 0 of 1")
        return 0
    dsts = {"ipv4": addr_norm(args.dst4), "ipv6": addr_norm(args.dst6)}
    agree = checked = limited = 0
    for pid, p in probes.items():
        k = kernel.get(pid)
        if k is None or k[0] == "error" or p.get("sport") is None:
            continue
        ls = [l for l in listeners if l.get("protocol") == p["proto"] and
              l.get("port") == int(p["port"]) and
              addr_norm(l.get("address")) in ("::", "0.0.0.0") and
              p["family"] in (l.get("families") or [])]
        paths = [x for l in ls for x in l.get("paths") or []
                 if x.get("interface") == args.iface and x.get("family") == p["family"]]
        # The probes to the address the paths are for (a path may name its destination).
        paths = [x for x in paths if addr_norm(x.get("destination", dsts[p["family"]])) ==
                 addr_norm(p["dst"])]
        if addr_norm(p["dst"]) != dsts[p["family"]] and not paths:
            continue  # (another of the server's addresses: status has no path for it)
        checked += 1
        why, path = None, None
        if len(ls) != 1:
            why = "status lists %d wildcard listeners for %s/%s (%s)" % (
                len(ls), p["port"], p["proto"], p["family"])
        else:
            try:
                path = srcform.which_path(paths, p["src"], int(p["sport"]), sets)
            except srcform.SrcFormError as e:
                why = "status paths on %s: %s" % (args.iface, e)
        if why is None and path.get("verdict") == "unknown" and \
                DOCUMENTED_LIMIT in (path.get("reason") or ""):
            # docs/json.md's limit: a mask that scatters the sources of a large box.
            # Said, counted, not a disagreement (explain, for this one source, is exact).
            limited += 1
            sys.stderr.write("STATUS LIMIT seed %s probe %s: %s\n" % (args.seed, pid,
                                                                  short(path.get("reason"))))
            continue
        if why is None:
            why = judge_path(p, k, path)
            if why:
                why = "status: " + why
        if why is None:
            agree += 1
            continue
        print("%s\t%s" % (pid, why))
        sys.stderr.write("STATUS MISMATCH seed %s %s\n  path:      %s\n" % (
            args.seed, describe(p, k, path, "-", why),
            short(json.dumps({x: path.get(x) for x in ("source", "sources", "verdict", "reject",
                                                        "forwarded_to", "reason")}))
            if isinstance(path, dict) else "-"))
    if limited:
        print("# status limit %d" % limited)
    print("# status agree %d of %d" % (agree, checked - limited))
    return 0


# --- conntrack ---------------------------------------------------------------------

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE = 1, 2
NLM_F_REQUEST, NLM_F_ACK, NLMSG_ERROR = 0x1, 0x4, 2


def ct_flush(family):
    """IPCTNL_MSG_CT_DELETE with no tuple: the kernel deletes every entry of the family."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    try:
        s.settimeout(5)
        s.bind((0, 0))
        body = struct.pack("=BBH", family, 0, 0)  # struct nfgenmsg
        s.send(struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_CTNETLINK << 8) |
                           IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body)
        data = s.recv(4096)
        if len(data) < 20 or struct.unpack("=H", data[4:6])[0] != NLMSG_ERROR:
            raise OSError("unexpected netlink answer")
        err = struct.unpack("=i", data[16:20])[0]
        if err:
            raise OSError(-err, os.strerror(-err))
    finally:
        s.close()


def cmd_ct_flush(args):
    try:
        for fam in (socket.AF_INET, socket.AF_INET6):
            ct_flush(fam)
    except OSError as e:
        sys.stderr.write("diffcheck.py ct-flush: %s\n" % e)
        return 1
    return 0


# --- minimize ----------------------------------------------------------------------

class Lab:
    def __init__(self, args):
        self.a = args
        self.sport = args.sport_base

    def load(self, text):
        p = subprocess.run(["ip", "netns", "exec", self.a.srv, "nft", "-f", "-"],
                           input="flush ruleset\n" + text, capture_output=True, text=True,
                           timeout=30)
        if p.returncode != 0:
            return False
        for tool, ipt in (("iptables-nft-restore", self.a.ipt4),
                          ("ip6tables-nft-restore", self.a.ipt6)):
            if ipt and os.path.exists(ipt):
                with open(ipt) as f:
                    p = subprocess.run(["ip", "netns", "exec", self.a.srv, tool, "-w", "10"],
                                       stdin=f, capture_output=True, text=True, timeout=30)
                if p.returncode != 0:
                    return False
        return True

    def probe(self, line):
        # 50000-64999: the main loop of test_differential.sh stays below. (A probe
        # with its own source port uses that: the conntrack table is emptied first.)
        self.sport += 1
        if self.sport > 64999:
            self.sport = 50000
        # (as test_differential.sh's diff_fresh: no TCP connection an earlier probe
        # left in the server or the container, no conntrack entry in the server)
        for ns in [self.a.srv] + ([self.a.ctr] if self.a.ctr else []):
            for extra in (["state", "syn-recv"], []):
                subprocess.run(["ip", "netns", "exec", ns, "ss", "-K", "-tn"] + extra,
                               check=True, timeout=30, stdout=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "exec", self.a.srv, sys.executable,
                        os.path.abspath(__file__), "ct-flush"], check=True, timeout=30)
        p = subprocess.run(["ip", "netns", "exec", self.a.cli, sys.executable,
                            os.path.join(HERE, "prober.py"), "--sport-base", str(self.sport)],
                           input=line + "\n", capture_output=True, text=True, timeout=30)
        parts = p.stdout.strip().split("\t")
        return (parts[1], parts[2]) if len(parts) >= 3 else None

    def explain(self, probe):
        sport = ["--sport", probe["sport"]] if self.a.explain_sport and probe.get("sport") else []
        p = subprocess.run(["ip", "netns", "exec", self.a.srv, "timeout", "30", self.a.portcheck,
                            "--socket", self.a.socket, "explain",
                            "%s/%s" % (probe["port"], probe["proto"]), "--from", probe["src"]] +
                           sport + ["--iface", "eth0", "--to", probe["dst"], "--json"],
                           capture_output=True, text=True, timeout=40)
        try:
            return json.loads(p.stdout), p.returncode, p.stdout
        except ValueError:
            return None, p.returncode, p.stdout


def blocks(lines):
    """(start, end) line ranges of tables, chains, sets/maps and rules, biggest first."""
    out_tables, out_chains, out_lines = [], [], []
    i = 0
    while i < len(lines):
        l = lines[i]
        if l.startswith("table "):
            j = i + 1
            while j < len(lines) and lines[j] != "}":
                j += 1
            out_tables.append((i, j + 1))
        elif l.startswith("\tchain "):
            j = i + 1
            while j < len(lines) and lines[j] != "\t}":
                j += 1
            out_chains.append((i, j + 1))
        elif l.startswith("\tset ") or l.startswith("\tmap "):
            out_lines.append((i, i + 1))
        elif l.startswith("\t\t") and not l.startswith("\t\ttype "):
            out_lines.append((i, i + 1))
        i += 1
    return out_tables + out_chains + out_lines


def cmd_minimize(args):
    lab = Lab(args)
    probe = read_probes_line(args.probe)
    with open(args.ruleset) as f:
        original = f.read()
    os.makedirs(args.out, exist_ok=True)
    deadline = time.monotonic() + args.budget

    def signature(text):
        if not lab.load(text):
            return None, None, None
        k = lab.probe(probe["line"])
        ex, rc, raw = lab.explain(probe)
        why = judge(probe, k, ex, rc)
        if why is None:
            return None, None, None
        return (k, engine_text(ex)), (k, ex, rc, why), raw

    sig0, detail, raw = signature(original)
    if sig0 is None:
        report = "probe %s does not disagree when run alone on this ruleset (a flaky probe?)" % (
            probe["line"])
        write(args.out, "report.txt", report + "\n")
        print(report)
        return 1
    lines = original.rstrip("\n").split("\n")
    best_detail, best_raw, tries = detail, raw, 0
    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        for start, end in blocks(lines):
            if time.monotonic() >= deadline:
                break
            cand = lines[:start] + lines[end:]
            tries += 1
            sig, det, r = signature("\n".join(cand) + "\n")
            if sig == sig0:
                lines, best_detail, best_raw, changed = cand, det, r, True
                break  # the line numbers moved: recompute the blocks
    minimal = "\n".join(l for l in lines if not l.startswith("#")) + "\n"
    # Leave the minimal ruleset loaded so whoever looks at the lab sees it.
    lab.load(minimal)
    k, ex, rc, why = best_detail
    report = "\n".join([
        "portcheck differential mismatch (diffgen.py seed %s)" % args.seed,
        describe(probe, k, ex, rc, why),
        "minimal ruleset (%d tries%s):" % (tries, ", budget exhausted" if time.monotonic() >= deadline else ""),
        minimal.rstrip("\n"),
        "reproduce: tests/lab/test_differential.sh --case %s %s" % (
            os.path.join(args.out, "minimal.nft"), os.path.join(args.out, "probe.txt")),
        "  (that is: nft -f minimal.nft on the server; from the client's address %s port %s "
        "an %s %s to %s port %s; portcheck explain %s/%s --from %s%s --iface eth0 --to %s "
        "--json)" % (
            probe["src"], probe.get("sport") or "(any)",
            "IPv4" if probe["family"] == "ipv4" else "IPv6",
            "TCP SYN" if probe["proto"] == "tcp" else "UDP datagram",
            probe["dst"], probe["port"], probe["port"], probe["proto"], probe["src"],
            " --sport %s" % probe["sport"] if probe.get("sport") else "", probe["dst"]),
    ])
    write(args.out, "original.nft", original)
    write(args.out, "minimal.nft", minimal)
    for suffix, ipt in (("ipt4", args.ipt4), ("ipt6", args.ipt6)):
        if ipt and os.path.exists(ipt):
            with open(ipt) as f:
                write(args.out, "minimal." + suffix, f.read())
    write(args.out, "probe.txt", probe["line"] + "\n")
    write(args.out, "kernel.txt", "%s\t%s\n" % k if k else "-\n")
    write(args.out, "explain.json", best_raw or "")
    write(args.out, "report.txt", report + "\n")
    print(report)
    return 0


def read_probes_line(line):
    fields = line.split()
    return dict(zip(("id", "family", "proto", "src", "dst", "port", "sport"), fields),
                line="\t".join(fields))


def write(d, name, text):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--probes", required=True)
    c.add_argument("--kernel", required=True)
    c.add_argument("--explain", required=True)
    c.add_argument("--seed", default="?")
    m = sub.add_parser("minimize")
    m.add_argument("--ruleset", required=True)
    m.add_argument("--probe", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--srv", required=True)
    m.add_argument("--cli", required=True)
    m.add_argument("--ctr", help="the container's namespace (its TCP connections closed "
                   "before each probe)")
    m.add_argument("--portcheck", required=True)
    m.add_argument("--socket", required=True)
    m.add_argument("--sport-base", type=int, default=50000)
    m.add_argument("--budget", type=float, default=60)
    m.add_argument("--seed", default="?")
    m.add_argument("--ipt4", help="iptables-nft-restore input loaded after the ruleset")
    m.add_argument("--ipt6", help="ip6tables-nft-restore input loaded after the ruleset")
    m.add_argument("--explain-sport", action="store_true",
                   help="pass the probe's source port to explain (--sport)")
    st = sub.add_parser("status")
    st.add_argument("--probes", required=True)
    st.add_argument("--kernel", required=True)
    st.add_argument("--status", required=True, help="portcheck status --json")
    st.add_argument("--ruleset", required=True, help="nft -j list ruleset")
    st.add_argument("--dst4", default="192.0.2.1")
    st.add_argument("--dst6", default="2001:db8:1::1")
    st.add_argument("--iface", default="eth0")
    st.add_argument("--seed", default="?")
    sub.add_parser("ct-flush")
    args = ap.parse_args()
    return {"compare": cmd_compare, "minimize": cmd_minimize, "status": cmd_status,
            "ct-flush": cmd_ct_flush}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
