#!/usr/bin/python3
"""The checks of test_realworld.sh: portcheck against the kernel on real tools' rulesets.

usage: check.py explain --probes P --kernel K --explain DIR --label L [--sport-base N]
                        [--endpoints DST:PORT=ADDR:P[,ADDR:P]...]...
       check.py status --status JSON --probes P --kernel K --ports 22,80,... --label L
                       --sport-base N [--netns NS] [--server ADDR]...

explain (check b): P is the probe list (ID FAMILY PROTO SOURCE DESTINATION PORT, as
prober.py reads it), K prober.py's answers, DIR/ID.json and DIR/ID.rc portcheck
explain's reply and exit status per probe (explain --sport: the probe's own source
port, sport-base + ID, echoed back as source_port). Per probe, explain must say what the
kernel did:
  kernel accept (SYN-ACK)  <-> verdict "accept", exit status 0; when the listener's
                               banner names another address/port than the probed one
                               (DNAT), forwarded_to must name it (or, when a draw
                               picks the destination, one of "endpoints"); when the
                               banner names the probed one, forwarded_to is null or
                               names it (a routed, untranslated destination), as in
                               diffcheck.py
  kernel rst               <-> verdict "reject", reject {"tcp_reset": true}
  kernel icmp T/C          <-> verdict "reject", reject {"icmp_type": T, "icmp_code": C}
  kernel none (silence)    <-> verdict "drop"
  verdict "unknown" is always a failure (these rulesets are exact).
With --endpoints (kube-proxy's numgen maps), every probe to DST:PORT must also have
"endpoints" naming exactly those endpoints, one per outcome of the draw (issue #9:
"when all outcomes agree on the verdict, the verdict stands (forwarded: list every
endpoint)"); the kernel's one draw per probe is checked by the contract above.

status (check c): JSON is `portcheck status --json`. For every listener on one of
--ports: (c1) no path has verdict "unknown" (each one's reason is shown); (c2) where
the paths carry the "sources" form (/work/notes/srcform-spec.md, version 1) and
tests/lab/srcform.py is there, the path srcform.which_path() selects for each probe's
source address and port (prober.py uses sport-base + ID) among the listener's paths on
eth0 of the probe's family must have the verdict the kernel gave (accept / reject /
drop as above, the reject's ICMP type/code or reset too). Without the form it prints
"SKIPPED (no sources form)" once, loudly. Probes to addresses other than --server
(forwarded destinations, e.g. a ClusterIP) are not listeners' paths and are skipped in c2.
which_path(paths, address, port, sets) gets the paths of one listener, interface and
family, the source as a string and an int, and the sets srcform.load_sets() makes of
`nft -j list set FAMILY TABLE NAME` for every set the paths' literals name; it returns
the one path whose sources hold, or raises srcform.SrcFormError (a failure here).

Output: PASS:/FAIL: lines on stdout; exit status 1 when a check failed.
"""

import argparse
import ipaddress
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.dirname(HERE)

failed = False


def result(ok, what, detail=""):
    global failed
    if ok:
        print("PASS: %s" % what)
    else:
        failed = True
        print("FAIL: %s%s" % (what, (": " + detail) if detail else ""))
    sys.stdout.flush()
    return ok


def read_probes(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                p = dict(zip(("id", "family", "proto", "src", "dst", "port"), line.split()))
                p["port"] = int(p["port"])
                out.append(p)
    return out


def read_kernel(path):
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                out[parts[0]] = (parts[1], parts[2])
    return out


def kernel_text(k):
    res, detail = k
    if res == "accept":
        return "accept" + ("" if detail in ("-", "") or detail.startswith("then-") else " (reached %s)" % detail)
    return {"rst": "reject (tcp reset)", "none": "drop", "icmp": "reject (ICMP %s)" % detail}.get(
        res, "%s %s" % k)


def engine_text(v):
    if not isinstance(v, dict):
        return "no answer"
    verdict = v.get("verdict")
    rej = v.get("reject")
    if verdict == "reject" and isinstance(rej, dict):
        if rej.get("tcp_reset"):
            return "reject (tcp reset)"
        return "reject (ICMP %s/%s)" % (rej.get("icmp_type"), rej.get("icmp_code"))
    if verdict == "unknown":
        return "unknown (%s)" % (v.get("reason") or "no reason")
    return str(verdict)


def verdict_agrees(k, v):
    """Does the engine's verdict (a path or an explain reply) say what the kernel did?"""
    res, detail = k
    if not isinstance(v, dict):
        return False
    verdict, rej = v.get("verdict"), v.get("reject")
    if res == "accept":
        return verdict == "accept"
    if res == "none":
        return verdict == "drop"
    if res == "rst":
        return verdict == "reject" and isinstance(rej, dict) and rej.get("tcp_reset") is True
    if res == "icmp":
        t, _, c = detail.partition("/")
        return (verdict == "reject" and isinstance(rej, dict) and
                str(rej.get("icmp_type")) == t and str(rej.get("icmp_code")) == c)
    return False


def forwarded_targets(fwd):
    """Every {"address", "port"} object inside forwarded_to (one, or one per outcome)."""
    found = []
    if isinstance(fwd, dict):
        if "address" in fwd and "port" in fwd:
            found.append((str(fwd["address"]), int(fwd["port"])))
        for val in fwd.values():
            if isinstance(val, (dict, list)):
                found += forwarded_targets(val)
    elif isinstance(fwd, list):
        for val in fwd:
            found += forwarded_targets(val)
    return found


def dnat_targets(ex):
    """Where explain says DNAT sends it: every endpoint when a draw picks one
    ("endpoints", docs/json.md), else forwarded_to."""
    eps = ex.get("endpoints")
    if isinstance(eps, list) and eps:
        return forwarded_targets(eps)
    return forwarded_targets(ex.get("forwarded_to"))


def norm_addr(a):
    try:
        ip = ipaddress.ip_address(a)
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return str(ip)
    except ValueError:
        return a


def cmd_explain(args):
    probes = read_probes(args.probes)
    kernel = read_kernel(args.kernel)
    agree = 0
    for p in probes:
        k = kernel.get(p["id"])
        what = "%s: explain %d/%s --from %s --to %s (%s)" % (args.label, p["port"], p["proto"], p["src"],
                                                            p["dst"], p["family"])
        if k is None or k[0] == "error":
            result(False, what, "the probe did not run: %s" % (k,))
            continue
        try:
            with open(os.path.join(args.explain, p["id"] + ".json")) as f:
                ex = json.load(f)
        except (OSError, ValueError) as e:
            err = ""
            try:
                with open(os.path.join(args.explain, p["id"] + ".err")) as f:
                    err = f.read(500)
            except OSError:
                pass
            result(False, what, "no JSON reply (%s) %s; kernel: %s" % (e, err.strip(), kernel_text(k)))
            continue
        try:
            with open(os.path.join(args.explain, p["id"] + ".rc")) as f:
                rc = int(f.read().strip() or -1)
        except (OSError, ValueError):
            rc = -1
        problems = []
        if args.sport_base is not None and "source_port" in ex and \
                ex.get("source_port") != args.sport_base + int(p["id"]):
            problems.append("source_port %r, the probe's was %d" % (ex.get("source_port"),
                                                                   args.sport_base + int(p["id"])))
        if not verdict_agrees(k, ex):
            problems.append("kernel %s, explain %s" % (kernel_text(k), engine_text(ex)))
        want_rc = 0 if k[0] == "accept" else 1
        if rc != want_rc:
            problems.append("exit status %d, want %d" % (rc, want_rc))
        if k[0] == "accept" and k[1] not in ("-", "") and not k[1].startswith("then-"):
            a, _, port = k[1].partition(" ")
            reached = (norm_addr(a), int(port))
            targets = [(norm_addr(x), y) for x, y in dnat_targets(ex)]
            if reached == (norm_addr(p["dst"]), p["port"]):
                # Not translated: null, or (a routed destination) naming that very one.
                if targets and set(targets) != {reached}:
                    problems.append("the kernel delivered it to %s:%d untranslated, forwarded_to is %s"
                                    % (reached[0], reached[1], json.dumps(ex.get("forwarded_to"))))
            elif reached not in targets:
                problems.append("the kernel forwarded it to %s:%d, forwarded_to is %s"
                                % (reached[0], reached[1], json.dumps(ex.get("forwarded_to"))))
        if problems:
            trace = [(t.get("chain"), t.get("action")) for t in ex.get("trace") or []][-6:]
            result(False, what, "; ".join(problems) + "; last rules met: %s" % trace)
        else:
            agree += 1
            result(True, "%s: %s, as the kernel" % (what, kernel_text(k)))
    result(agree == len(probes), "%s: explain agrees with the kernel on %d of %d probes"
           % (args.label, agree, len(probes)))
    # Where the ruleset draws among endpoints (numgen), explain names every one of them.
    for spec in args.endpoints:
        dest, _, eps = spec.partition("=")
        daddr, _, dport = dest.rpartition(":")
        want = sorted((norm_addr(e.rpartition(":")[0]), int(e.rpartition(":")[2])) for e in eps.split(","))
        for p in probes:
            if (norm_addr(p["dst"]), p["port"]) != (norm_addr(daddr), int(dport)):
                continue
            try:
                with open(os.path.join(args.explain, p["id"] + ".json")) as f:
                    ex = json.load(f)
            except (OSError, ValueError):
                continue  # (reported above)
            got = sorted(set((norm_addr(x), y) for x, y in dnat_targets(ex)))
            result(got == want, "%s: explain %d/tcp --from %s --to %s names every endpoint the kernel "
                   "may draw: %s" % (args.label, p["port"], p["src"], p["dst"],
                                     ", ".join("%s:%d" % t for t in want)),
                   "endpoints %s, forwarded_to %s (verdict %s)" % (
                       json.dumps(ex.get("endpoints")), json.dumps(ex.get("forwarded_to")),
                       engine_text(ex)))


def has_sources(paths):
    return any(isinstance(p.get("sources"), dict) for p in paths)


def set_refs(obj):
    """(family, table, name) of every set literal in a sources form."""
    refs = set()
    if isinstance(obj, dict):
        s = obj.get("set")
        if isinstance(s, dict) and {"family", "table", "name"} <= set(s):
            refs.add((s["family"], s["table"], s["name"]))
        for v in obj.values():
            refs |= set_refs(v)
    elif isinstance(obj, list):
        for v in obj:
            refs |= set_refs(v)
    return refs


def list_sets(refs, netns):
    """`nft -j list set F T S` of each named set, parsed: what srcform.load_sets() reads."""
    docs = []
    for fam, table, name in sorted(refs):
        cmd = ["nft", "-j", "list", "set", fam, table, name]
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            result(False, "nft -j list set %s %s %s" % (fam, table, name), out.stderr.strip()[:300])
            continue
        docs.append(json.loads(out.stdout))
    return docs


def cmd_status(args):
    try:
        with open(args.status) as f:
            report = json.load(f)
        sys.path.insert(0, LAB)
        import srcform  # tests/lab/srcform.py
        report = srcform.status_view(report)  # version 2 read as 1
    except (OSError, ValueError) as e:
        result(False, "%s: status --json is JSON" % args.label, str(e))
        return
    ports = {int(x) for x in args.ports.split(",") if x}
    listeners = [l for l in report.get("listeners") or []
                 if l.get("protocol") == "tcp" and l.get("port") in ports]
    seen = {l.get("port") for l in listeners}
    result(seen == ports, "%s: status reports the listeners on %s" % (args.label, sorted(ports)),
           "missing %s" % sorted(ports - seen))

    # (c1) no verdict "unknown" on any path of these listeners.
    for l in sorted(listeners, key=lambda l: (l.get("port"), l.get("address"))):
        paths = l.get("paths") or []
        unknown = [p for p in paths if p.get("verdict") == "unknown"]
        name = "%s: %d/tcp on %s (%s)" % (args.label, l.get("port"), l.get("address"),
                                          (l.get("process") or {}).get("name"))
        if unknown:
            reasons = sorted({(p.get("family"), p.get("interface"), (p.get("reason") or "")[:240])
                              for p in unknown})
            result(False, name + ": no path has verdict unknown",
                   "%d of %d paths unknown (exposure %s); e.g. %s" % (
                       len(unknown), len(paths), l.get("exposure"),
                       " | ".join("%s %s: %s" % r for r in reasons[:3])))
        else:
            result(True, "%s: none of its %d paths is unknown (exposure %s)" % (name, len(paths),
                                                                             l.get("exposure")))

    # (c2) the path each probe's source selects agrees with the kernel.
    all_paths = [p for l in listeners for p in l.get("paths") or []]
    sys.path.insert(0, LAB)
    import srcform  # tests/lab/srcform.py
    if not has_sources(all_paths):
        result(False, "%s: status paths carry the \"sources\" form (docs/json.md)" % args.label,
               "no path has one")
        return
    probes = read_probes(args.probes)
    kernel = read_kernel(args.kernel)
    servers = {norm_addr(a) for a in args.server}
    sets = srcform.load_sets(list_sets(set_refs(all_paths), args.netns))
    agree = total = 0
    for p in probes:
        if norm_addr(p["dst"]) not in servers:
            continue
        k = kernel.get(p["id"])
        cand = [l for l in listeners if l.get("port") == p["port"]]
        if not cand or k is None or k[0] == "error":
            continue
        total += 1
        sport = args.sport_base + int(p["id"])
        for l in cand:
            paths = [x for x in l.get("paths") or []
                     if x.get("interface") == "eth0" and x.get("family") == p["family"]]
            if not paths:
                continue
            what = "%s: status path of %d/tcp on %s for %s port %d" % (args.label, p["port"],
                                                                     l.get("address"), p["src"], sport)
            try:
                chosen = srcform.which_path(paths, p["src"], sport, sets)
            except srcform.SrcFormError as e:
                result(False, what, "no single path selected: %s" % e)
                break
            if chosen is None:
                result(False, what, "no path selected (the paths must cover every source)")
            elif verdict_agrees(k, chosen):
                agree += 1
                result(True, "%s: %s, as the kernel" % (what, engine_text(chosen)))
            else:
                src = str(chosen.get("source"))
                result(False, what, "kernel %s, path %s (source %s)" % (
                    kernel_text(k), engine_text(chosen), src if len(src) <= 160 else src[:160] + "..."))
            break
    result(agree == total, "%s: the status path selected per probe source agrees with the kernel on "
           "%d of %d probes" % (args.label, agree, total))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("explain")
    e.add_argument("--probes", required=True)
    e.add_argument("--kernel", required=True)
    e.add_argument("--explain", required=True)
    e.add_argument("--label", default="")
    e.add_argument("--sport-base", type=int, default=None,
                   help="the probes' source ports were sport-base + ID (explain --sport)")
    e.add_argument("--endpoints", action="append", default=[], metavar="DST:PORT=ADDR:P,ADDR:P",
                   help="the endpoints a connection to DST:PORT is drawn among")
    s = sub.add_parser("status")
    s.add_argument("--status", required=True)
    s.add_argument("--probes", required=True)
    s.add_argument("--kernel", required=True)
    s.add_argument("--ports", required=True)
    s.add_argument("--label", default="")
    s.add_argument("--sport-base", type=int, required=True)
    s.add_argument("--netns", default="")
    s.add_argument("--server", action="append", default=[])
    args = ap.parse_args()
    if args.cmd == "explain":
        cmd_explain(args)
    else:
        cmd_status(args)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
