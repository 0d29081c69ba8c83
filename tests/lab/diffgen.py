#!/usr/bin/python3
"""Seeded random nftables rulesets and probes, for portcheck's differential lab test.

usage: diffgen.py --env                      the lab's addresses and ports (shell syntax)
       diffgen.py --seed N                   one case on stdout: ruleset, then the probes
       diffgen.py --seeds A-B[,C...] --out DIR [--probes K]
                                             DIR/case-N.nft and DIR/case-N.probes per seed,
                                             DIR/case-N.ipt4, .ipt6 when it has iptables-nft rules
       diffgen.py --seeds A-B --check        load every case (nft -f, iptables-nft-restore) in
                                             a private, empty network namespace (unshare -n; root)

Each case is a ruleset (text for `nft -f`) and a list of probes: new connections
from the client namespace (source address and port, family, destination, port,
tcp/udp), one per line, tab-separated:  ID FAMILY PROTO SOURCE DESTINATION PORT SPORT
(SPORT, the source port, is unique in a case, 1024-65000; 20000-65000 when the case
SNATs to a port range, so the kernel keeps it)

The same seed always gives the same case (random.Random(seed), nothing else), so
a failing seed is a reproducer. The rulesets are small (5-25 rules) but dense in
the interactions a userspace model of the nftables VM can get wrong: several
tables and families (ip, ip6, inet) on prerouting/input/forward/postrouting at
priorities around raw (-300), conntrack (-200), dstnat (-100) and srcnat (100);
accept in one base chain continuing to the next, drop and reject being final;
regular chains with jump/goto/return; named and anonymous sets, interval sets
with prefixes, ranges and open ends, concatenations, verdict maps; inverted
lookups (`!= @set`, `saddr != { ... }`, `iifname != { ... }`), most cases with
one near the top of the first chain the probes pass; interface names, sets and
wildcards (iif on the input side, oif on forward/postrouting); fib (saddr/daddr,
. iif, oif/oifname, type); ct state/status before and after conntrack, notrack;
reject variants (icmp, icmpv6, icmpx, tcp reset); DNAT to another local address
or port, redirect, DNAT into the container (forward and postrouting chains;
nat chains all run at the nat core hook's priority, the first binding wins,
and only when conntrack is on for the family); SNAT on input and postrouting,
masquerade; dynset (add/update @set, a set nothing looks up); bitwise masks;
counters, log, marks. Some cases add iptables-nft rules (IptGen: loaded with
iptables-nft-restore after the ruleset) in iptables' raw, mangle, nat and
filter tables, with the xtables matches and targets the engine models.

Issue #9 (the source is symbolic) adds, from a random stream of its own (so the
rest of a seed's case is as it was; the ruleset's first line names what a case
got): rules on the source port (tcp/udp/th sport: ==, !=, ranges, anonymous and
named sets; the probes' source ports sit at or next to what they compare with),
masks on the source address that are no prefix (ip saddr & 0.0.0.1 == 0.0.0.1,
ip6 saddr & ::ff == ::5), big interval sets of sources (>= 10,000 addresses and
ranges from 198.18.0.0/15 or 2001:db8::/32, some covering client sources, in
about one case in seven), concatenated interval sets (saddr . tcp/udp/th dport),
verdict maps keyed by the source (intervals, anonymous or named), and numgen
(random, inc; mod 1 or 2) and jhash on the source (and source port) in verdict
maps and DNAT maps whose outcomes all agree.

Only expressions with an exact outcome are used (no limit, quota, time, no
numgen or jhash whose outcomes differ, no lookup in a set the packet path
fills, no SNAT to a single port): the engine must never answer "unknown" for
these rulesets. The rulesets let
the probes' answers pass (every prerouting and forward chain first accepts what
comes from the container, every postrouting chain what does not go to it): what
is compared is the fate of the probe, not of its answer.

Probes come mostly from the sources the ruleset names and to the ports it
names, to the server's eth0 address (or its secondary one there), its veth-ctr
address or the container.

Each case may come with host settings (case-N.host, see HOST_NETS): the groups of
the server's eth0 and veth-ctr (and meta iifgroup / oifgroup rules, matching or
not, oifgroup also where there is no output device), net.ipv4.conf.all and
.eth0.rp_filter, and routes back to some of the client's IPv4 sources that make
the reverse-path filter drop their probes: blackhole/unreachable/prohibit (only
with an effective rp_filter 1 or 2) or via the container (only with 1, strict):
where the kernel would take such a probe its answer would go nowhere or elsewhere,
silence for the client. For the same reason no such routes when an IPv4 reject
may run before the routing decision (prerouting). These draw from a random stream
of their own, so the rest of a seed's case is as it was without them.

The lab these cases assume (ENV below) is built by test_differential.sh: the
server has 192.0.2.1 and 2001:db8:1::1 on eth0 (towards the client) and
198.51.100.1 and 2001:db8:3::1 on veth-ctr, and forwards both families; the
container behind veth-ctr has 198.51.100.2 and 2001:db8:3::2; both listen on
TCP_PORTS (TCP, dual stack, with a banner) and UDP_PORTS (UDP, echo) on every
address; the client has every address in V4_SRC and V6_SRC on its eth0.
"""

import argparse
import ipaddress
import os
import random
import subprocess
import sys
import tempfile

# --- the lab --------------------------------------------------------------------

V4_SRC = ["192.0.2.%d" % i for i in range(2, 10)] + [
    "198.18.0.1", "198.18.7.7", "198.19.255.254", "203.0.113.9", "203.0.113.200"]
V6_SRC = ["2001:db8:1::%d" % i for i in range(2, 10)] + [
    "2001:db8:2::5", "2001:db8:2:ffff::1", "2001:db8:8000::1"]
# Sources outside the client's link, routed by the server via the client's first address.
V4_ROUTED = ["198.18.0.0/15", "203.0.113.0/24"]
V6_ROUTED = ["2001:db8:2::/48", "2001:db8:8000::/33"]
# The server's addresses: on eth0 (the probes arrive there) and on veth-ctr.
V4_DST = ["192.0.2.1", "198.51.100.1"]
V6_DST = ["2001:db8:1::1", "2001:db8:3::1"]
# The container behind the server (on veth-ctr): DNAT and forwarding targets. It
# listens on the same ports; probes to it directly take the forward path too.
V4_CTR = "198.51.100.2"
V6_CTR = "2001:db8:3::2"
# Secondary addresses on the server's eth0 (beside 192.0.2.1 / 2001:db8:1::1): some
# probes go there instead of to the primary one.
V4_SEC = "192.0.2.100"
V6_SEC = "2001:db8:1::100"
TCP_PORTS = [22, 80, 443, 2222, 3306, 8080]
UDP_PORTS = [53, 123, 500, 5353, 8080]
IFACE = "eth0"

FAM = {
    "ip": dict(kw="ip", type="ipv4_addr", src=V4_SRC, dst=V4_DST, ctr=V4_CTR, bits=32,
               nfproto="ipv4", ctor=ipaddress.IPv4Address, icmp="icmp",
               l4kw="ip protocol"),
    "ip6": dict(kw="ip6", type="ipv6_addr", src=V6_SRC, dst=V6_DST, ctr=V6_CTR, bits=128,
                nfproto="ipv6", ctor=ipaddress.IPv6Address, icmp="icmpv6",
                l4kw="ip6 nexthdr"),
}

ICMP_REJECT = ["net-unreachable", "host-unreachable", "prot-unreachable", "port-unreachable",
               "net-prohibited", "host-prohibited", "admin-prohibited"]
ICMPV6_REJECT = ["no-route", "admin-prohibited", "addr-unreachable", "port-unreachable",
                 "policy-fail", "reject-route"]
ICMPX_REJECT = ["port-unreachable", "admin-prohibited", "host-unreachable", "no-route"]

# Base chain priorities per hook. Never a tie between two base chains of one hook
# (the kernel orders equal priorities by registration, the ruleset does not say) and
# never a tie with the kernel's own hooks: defrag -400, conntrack -200, the nat core
# hook -100 (nat chains themselves run inside it, ordered by their own priority).
PRIO_PRE = [-350, -300, -299, -250, -201, -199, -150, -120, -101, -99, -50, -10, 0, 10, 50]
PRIO_NAT = [-150, -110, -100, -95, -90, -50, 0, 100]
PRIO_IN = [-300, -150, -10, -1, 0, 1, 10, 101, 200]  # never 100 (the SNAT hook)
PRIO_FWD = [-50, 0, 10]
PRIO_POST = [-50, 0, 50, 150, 200]  # filter; never 100 (the SNAT hook)
PRIO_NATIN = [50, 110, 150]  # nat chains of the input NAT hook (+100)
PRIO_NATPOST = [-10, 90, 100, 120]  # nat chains of the postrouting NAT hook (+100)

# The per-case host settings (case-N.host, applied in the server namespace by
# test_differential.sh before the case's probes, undone after it):
#   group DEV N               ip link set DEV group N (eth0, veth-ctr)
#   sysctl KEY VALUE          net.ipv4.conf.{all,eth0}.rp_filter
#   route TYPE PREFIX         blackhole, unreachable or prohibit: no route back
#   route via-ctr PREFIX      via the container (veth-ctr): a route back elsewhere
# The prefixes cover some of the client's routed IPv4 sources, never an address a
# rule SNATs to (203.0.113.77, 198.18.9.9: the answer goes there first).
GROUPS = [0, 10, 42, 255, 65536]
HOST_NETS = ["203.0.113.128/25", "203.0.113.200/32", "198.18.0.0/21", "198.18.0.0/24",
             "198.19.0.0/16", "198.19.255.254/32"]
NOROUTE = ["blackhole", "unreachable", "prohibit"]

# Issue #9: the source is symbolic. The probes' source ports (explicit, per probe: a
# probe line's 7th field), the source-port atoms rules compare with, odd (non-prefix)
# masks on the source address, and the big interval sets of sources (BIG4 / BIG6 hold
# their elements; some cover client sources).
SPORT_LO, SPORT_HI = 1024, 65000
SPORT_SNAT_LO = 20000  # with an SNAT to a port range 20000-65000: the kernel keeps the port
ODD_MASK4 = ["0.0.0.1", "0.0.0.1", "0.0.0.3", "0.0.0.6", "0.0.0.254", "0.0.1.0", "255.0.0.1",
             "0.255.0.1", "0.0.255.15"]
ODD_MASK6 = ["::ff", "::ff", "::1", "::3", "::ffff:0", "0:0:0:ffff::", "ff00::ff", "::f0f"]
BIG4 = ipaddress.ip_network("198.18.0.0/15")
BIG6 = ipaddress.ip_network("2001:db8:4000::/34")  # the generated part; client sources added
BIG_MIN = 10000


def env_shell():
    q = lambda xs: " ".join(str(x) for x in xs)
    return "\n".join([
        "DIFF_V4_SRC='%s'" % q(V4_SRC), "DIFF_V6_SRC='%s'" % q(V6_SRC),
        "DIFF_V4_ROUTED='%s'" % q(V4_ROUTED), "DIFF_V6_ROUTED='%s'" % q(V6_ROUTED),
        "DIFF_V4_DST='%s'" % q(V4_DST), "DIFF_V6_DST='%s'" % q(V6_DST),
        "DIFF_V4_CTR='%s'" % V4_CTR, "DIFF_V6_CTR='%s'" % V6_CTR,
        "DIFF_V4_SEC='%s'" % V4_SEC, "DIFF_V6_SEC='%s'" % V6_SEC,
        "DIFF_TCP_PORTS='%s'" % q(TCP_PORTS), "DIFF_UDP_PORTS='%s'" % q(UDP_PORTS),
        "DIFF_IFACE='%s'" % IFACE, ""])


# --- values: addresses, ports ---------------------------------------------------

class Atoms:
    """Address and port elements for one family, each with its integer interval."""

    def __init__(self, rng, fam):
        self.rng = rng
        self.f = FAM[fam]
        self.fam = fam
        self.max = (1 << self.f["bits"]) - 1
        self.srcs = [int(self.f["ctor"](a)) for a in self.f["src"]]

    def text(self, n):
        return str(self.f["ctor"](n))

    def single(self):
        r = self.rng
        if r.random() < 0.8:
            n = r.choice(self.srcs)
        else:  # a near miss: next to a client address, never one itself
            n = r.choice(self.srcs) + r.choice([-1, 1, 2])
            if n in self.srcs:
                n += 7
        return self.text(n), n, n

    def prefix(self):
        r = self.rng
        bits = self.f["bits"]
        if self.fam == "ip":
            plen = r.choice([8, 12, 15, 16, 20, 23, 24, 25, 28, 29, 30, 31, 32])
        else:
            plen = r.choice([16, 32, 33, 40, 47, 48, 56, 64, 120, 126, 127, 128])
        base = r.choice(self.srcs)
        mask = ((1 << plen) - 1) << (bits - plen) if plen else 0
        lo = base & mask
        hi = lo | (~mask & self.max)
        if plen == bits:
            return self.text(lo), lo, hi
        return "%s/%d" % (self.text(lo), plen), lo, hi

    def range(self):
        r = self.rng
        a, b = sorted(r.sample(self.srcs, 2))
        lo = max(0, a + r.choice([-1, 0, 0, 1]))
        hi = min(self.max, b + r.choice([-1, 0, 0, 1]))
        if hi <= lo:
            return self.single()
        return "%s-%s" % (self.text(lo), self.text(hi)), lo, hi

    def open_end(self):
        r = self.rng
        bits = self.f["bits"]
        k = r.randrange(4)
        if k == 0:  # the lower or upper half (or quarter) of the address space
            plen = r.choice([1, 1, 2, 3])
            lo = r.randrange(1 << plen) << (bits - plen)
            hi = lo | ((1 << (bits - plen)) - 1)
            return "%s/%d" % (self.text(lo), plen), lo, hi
        n = r.choice(self.srcs) + r.choice([0, 0, 1, -1])
        if k == 1:  # up to the very last address
            return "%s-%s" % (self.text(n), self.text(self.max)), n, self.max
        if k == 2:  # from the very first
            return "%s-%s" % (self.text(0), self.text(n)), 0, n
        # a whole routed or on-link network
        nets = (V4_ROUTED + ["192.0.2.0/24"]) if self.fam == "ip" else \
            (V6_ROUTED + ["2001:db8:1::/64"])
        net = ipaddress.ip_network(r.choice(nets))
        return str(net), int(net.network_address), int(net.broadcast_address)

    def any(self, interval=True):
        if not interval:
            return self.single()
        k = self.rng.random()
        if k < 0.35:
            return self.single()
        if k < 0.65:
            return self.prefix()
        if k < 0.85:
            return self.range()
        return self.open_end()

    def elements(self, count, interval=True):
        """Up to count elements that neither overlap nor touch (nft refuses overlaps)."""
        return disjoint([self.any(interval) for _ in range(count * 2)], count)


def disjoint(atoms, count):
    out = []
    for text, lo, hi in atoms:
        if len(out) >= count:
            break
        if all(hi + 1 < l or lo > h + 1 for _, l, h in out):
            out.append((text, lo, hi))
    return out


def port_atom(rng, proto, interval=True):
    ports = TCP_PORTS if proto == "tcp" else UDP_PORTS if proto == "udp" else \
        sorted(set(TCP_PORTS + UDP_PORTS))
    k = rng.random()
    if k < 0.7 or not interval:
        if rng.random() < 0.9:
            p = rng.choice(ports)
        else:
            p = rng.choice([21, 25, 81, 8443, 9999])  # never probed
        return str(p), p, p
    a, b = sorted(rng.sample(ports, 2)) if len(ports) > 1 else (ports[0], ports[0])
    lo = max(1, a + rng.choice([-1, 0, 0, 1]))
    hi = b + rng.choice([-1, 0, 0, 1, 100])
    if rng.random() < 0.2:
        hi = 65535
    if hi <= lo:
        return str(lo), lo, lo
    return "%d-%d" % (lo, hi), lo, hi


def port_elements(rng, proto, count, interval=True):
    return disjoint([port_atom(rng, proto, interval) for _ in range(count * 3)], count)


# --- iptables-nft ----------------------------------------------------------------

# What iptables-nft registers for the chains written below (iptables' own
# priorities): nft base chains keep clear of them, so no two share a priority.
IPT_PRIOS = {"prerouting": [-300, -150], "input": [-150, 0], "forward": [-150, 0],
             "nat": [-100], "natin": [100], "natpost": [100]}
IPT_SUFFIX = {"ip": "4", "ip6": "6"}  # case-N.ipt4, case-N.ipt6
IPT_REJECT4 = ["icmp-net-unreachable", "icmp-host-unreachable", "icmp-port-unreachable",
               "icmp-proto-unreachable", "icmp-net-prohibited", "icmp-host-prohibited",
               "icmp-admin-prohibited"]
IPT_REJECT6 = ["icmp6-no-route", "icmp6-adm-prohibited", "icmp6-addr-unreachable",
               "icmp6-port-unreachable", "icmp6-policy-fail", "icmp6-reject-route"]


class IptGen:
    """Rules for iptables-nft-restore (one family): the xtables matches and targets
    the engine models (conntrack, state, multiport, addrtype, iprange, mark, pkttype,
    REJECT, MARK, NOTRACK, CT --notrack, DNAT, REDIRECT, SNAT, MASQUERADE, LOG), in
    the tables iptables-nft makes (ip/ip6 filter, nat, raw, mangle)."""

    def __init__(self, rng, fam, marks):
        self.r = rng
        self.fam = fam
        self.f = FAM[fam]
        self.marks = marks  # marks the mangle table sets, for -m mark

    def addr(self):
        a = Atoms(self.r, self.fam)
        text, _, _ = a.single() if self.r.random() < 0.5 else a.prefix()
        return text

    def match(self, chain, proto):
        """One match (iptables syntax); proto is the rule's -p (tcp, udp or None)."""
        r = self.r
        neg = "! " if r.random() < 0.25 else ""
        opts = ["src"] * 4 + ["iprange", "ctstate"] * 2 + ["addrtype"] * 2 + ["iif", "state",
                                                                               "pkttype", "dst"]
        if proto:
            opts += ["dport"] * 3 + ["multiport"] * 3
        if self.marks:
            opts.append("mark")
        if chain == "FORWARD":
            opts.append("oif")
        k = r.choice(opts)
        if k == "iif" and chain == "POSTROUTING":
            k = "src"  # (-i is refused there, and the caller says -o veth-ctr)
        if k == "src":
            return "%s-s %s" % (neg, self.addr())
        if k == "dst":
            return "%s-d %s" % (neg, r.choice(self.f["dst"] + [self.f["ctr"]]))
        if k == "iprange":
            a = Atoms(r, self.fam)
            text, lo, hi = a.range()
            if "-" not in text:
                text = "%s-%s" % (text, text)
            return "-m iprange %s--src-range %s" % (neg, text)
        if k == "ctstate":
            states = ["NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED", "DNAT", "SNAT"]
            pick = r.sample(states, r.choice([1, 1, 2]))
            return "-m conntrack %s--ctstate %s" % (neg, ",".join(pick))
        if k == "state":
            return "-m state %s--state %s" % (neg, ",".join(r.sample(
                ["NEW", "ESTABLISHED", "RELATED", "INVALID"], r.choice([1, 2]))))
        if k == "addrtype":
            t = r.choice(["LOCAL", "LOCAL", "UNICAST", "BROADCAST" if self.fam == "ip" else
                          "MULTICAST"])
            side = r.choice(["dst", "dst", "src"])
            limit = " --limit-iface-in" if r.random() < 0.3 and chain != "POSTROUTING" else ""
            return "-m addrtype %s--%s-type %s%s" % (neg, side, t, limit)
        if k == "iif":
            return "%s-i %s" % (neg, r.choice(["eth0", "eth+", "lo", "veth-ctr", "eth1"]))
        if k == "oif":
            return "%s-o %s" % (neg, r.choice(["veth-ctr", "eth0", "veth+"]))
        if k == "pkttype":
            return "-m pkttype %s--pkt-type %s" % (neg, r.choice(["unicast", "broadcast"]))
        if k == "mark":
            return "-m mark %s--mark 0x%x" % (neg, r.choice(sorted(self.marks)))
        if k == "dport":
            _, lo, hi = port_atom(r, proto)
            return "%s--dport %s" % (neg, lo if lo == hi else "%d:%d" % (lo, hi))
        ports = [e for e in port_elements(r, proto, r.randint(2, 4))]
        return "-m multiport %s--dports %s" % (neg, ",".join(
            str(lo) if lo == hi else "%d:%d" % (lo, hi) for _, lo, hi in ports))

    def rule(self, chain, user, final_ok=True):
        r = self.r
        proto = r.choice([None, "tcp", "tcp", "udp"])
        ms, kinds = [], set()
        for _ in range(r.choice([1, 1, 2, 3])):
            m = self.match(chain, proto)
            w = m.replace("! ", "").split()
            kind = " ".join(w[:2]) if w[0] == "-m" else w[0]  # each match once a rule
            if kind not in kinds:
                kinds.add(kind)
                # --dport belongs to -p's match: after a -m it would be that module's
                ms.insert(0 if kind == "--dport" else len(ms), m)
        if proto:
            ms.insert(0, "-p %s" % proto)
        k = r.random()
        if k < 0.3:
            if self.fam == "ip":
                w = r.choice(IPT_REJECT4 + ["tcp-reset"] * (2 if proto == "tcp" else 0))
            else:
                w = r.choice(IPT_REJECT6 + ["tcp-reset"] * (2 if proto == "tcp" else 0))
            target = "REJECT --reject-with %s" % w if r.random() < 0.85 else "REJECT"
        elif k < 0.5:
            target = "DROP"
        elif k < 0.7:
            target = "ACCEPT"
        elif k < 0.8 and user:
            target = r.choice(user)
        elif k < 0.85:
            target = 'LOG --log-prefix "diff: "'
        else:
            target = "RETURN" if chain not in ("INPUT", "FORWARD") else "ACCEPT"
        return "-A %s %s -j %s" % (chain, " ".join(ms), target)

    def nat_rule(self, chain):
        r = self.r
        proto = r.choice(["tcp", "udp"])
        ports = TCP_PORTS if proto == "tcp" else UDP_PORTS
        ms = ["-p %s" % proto]
        if r.random() < 0.7:
            ms.append(self.match(chain, proto))
        if chain == "PREROUTING":
            if r.random() < 0.2:
                return "-A PREROUTING %s -j REDIRECT --to-ports %d" % (" ".join(ms), r.choice(ports))
            addr = self.f["ctr"] if r.random() < 0.5 else r.choice(self.f["dst"])
            if self.fam == "ip6":
                addr = "[%s]" % addr
            return "-A PREROUTING %s -j DNAT --to-destination %s:%d" % (
                " ".join(ms), addr, r.choice(ports))
        if chain == "POSTROUTING":
            ms.insert(0, "-o veth-ctr")  # never the server's own answers
            if r.random() < 0.5:
                return "-A POSTROUTING %s -j MASQUERADE" % " ".join(ms)
        src = "203.0.113.77" if self.fam == "ip" else "2001:db8:2::77"
        return "-A %s %s -j SNAT --to-source %s" % (chain, " ".join(ms), src)

    def text(self):
        r = self.r
        out = ["# iptables-nft-restore (%s), from diffgen.py" % self.f["nfproto"]]
        if r.random() < 0.4:
            out += ["*raw", ":PREROUTING ACCEPT [0:0]",
                    # the container's answers keep their conntrack entry (un-DNAT)
                    "-A PREROUTING -i veth-ctr -j ACCEPT"]
            for _ in range(r.randint(1, 2)):
                m = self.match("PREROUTING", None)
                out.append("-A PREROUTING %s -j %s" % (m, r.choice(["NOTRACK", "CT --notrack",
                                                                   "ACCEPT"])))
            out.append("COMMIT")
        if r.random() < 0.3:
            out += ["*mangle", ":PREROUTING ACCEPT [0:0]"]
            for _ in range(r.randint(1, 2)):
                m = r.choice([1, 3])
                self.marks.add(m)
                out.append("-A PREROUTING %s -j MARK --set-mark 0x%x" % (
                    self.match("PREROUTING", None), m))
            out.append("COMMIT")
        if r.random() < 0.5:
            out += ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]",
                    ":POSTROUTING ACCEPT [0:0]",
                    # the answer to an untracked probe is a new flow: not to be NATed
                    "-A PREROUTING -i veth-ctr -j ACCEPT"]
            for _ in range(r.randint(1, 3)):
                out.append(self.nat_rule("PREROUTING"))
            if r.random() < 0.3:
                out.append(self.nat_rule("INPUT"))
            if r.random() < 0.5:
                out.append(self.nat_rule("POSTROUTING"))
            out.append("COMMIT")
        user = ["c%d" % i for i in range(r.choice([0, 1, 2]))]
        out += ["*filter", ":INPUT %s [0:0]" % ("DROP" if r.random() < 0.15 else "ACCEPT"),
                ":FORWARD %s [0:0]" % ("DROP" if r.random() < 0.3 else "ACCEPT")]
        out += [":%s - [0:0]" % u for u in user]
        out.append("-A FORWARD -i veth-ctr -j ACCEPT")  # the container's answers
        for _ in range(r.randint(2, 7)):
            out.append(self.rule("INPUT", user))
        for _ in range(r.randint(0, 3)):
            out.append(self.rule("FORWARD", user))
        for i, u in enumerate(user):
            for _ in range(r.randint(1, 3)):
                # user chains jump only forward: no loops
                out.append(self.rule(u, user[i + 1:]))
        out.append("COMMIT")
        return "\n".join(out) + "\n"


# --- the ruleset model ------------------------------------------------------------

class Chain:
    def __init__(self, name, hook=None, kind="filter", prio=None, policy="accept"):
        self.name = name
        self.hook = hook  # None: a regular chain
        self.kind = kind  # filter or nat
        self.prio = prio
        self.policy = policy
        self.rules = []


class Table:
    def __init__(self, family, name):
        self.family = family
        self.name = name
        self.sets = []  # (name, text)
        self.set_kinds = []  # (name, kind, fam, proto) for rules to use
        self.chains = []

    def regular(self):
        return [c for c in self.chains if c.hook is None]


class Gen:
    def __init__(self, seed, nprobes):
        self.seed = seed
        self.rng = random.Random(seed)
        self.nprobes = nprobes
        self.tables = []
        self.marks_set = set()
        self.rule_count = 0
        self.ipt = {}  # family -> iptables-nft-restore text
        # The host settings and what goes with them (group rules, probes to the
        # secondary addresses, from the sources the routes cover) draw from a
        # random stream of their own: the rest of a seed's case stays as it was.
        self.hr = random.Random(seed * 7919 + 104729)
        self.host = []  # lines of case-N.host
        self.groups = {"eth0": 0, "veth-ctr": 0}
        self.rp_nets = []  # prefixes the host routes cover
        # Issue #9's source features (source ports, odd masks, big sets, concatenations
        # and verdict maps on the source, numgen/jhash) and the probes' source ports
        # draw from a third stream: the rest of a seed's case stays as it was.
        self.sr = random.Random(seed * 15485863 + 32452843)
        self.sport_atoms = []  # (lo, hi) the ruleset compares source ports with
        self.sport_lo = SPORT_LO  # the probes' source ports: sport_lo..SPORT_HI
        self.features = []  # which of them this case has (the ruleset's header says)
        self.x_plain = False  # the rule being made goes first: no extra matches

    # -- matches --

    def subfam(self, table):
        if table.family in ("ip", "ip6"):
            return table.family
        return self.rng.choice([None, None, "ip", "ip6"])

    def m_saddr(self, t, sub, what="saddr"):
        r = self.rng
        a = Atoms(r, sub)
        kw = FAM[sub]["kw"]
        neg = "!= " if r.random() < 0.15 else ""
        # Set lookups (named or anonymous) are inverted more often: an engine that
        # forgets NFT_LOOKUP_F_INV must meet them on the probes' paths.
        setneg = "!= " if r.random() < 0.4 else ""
        k = r.random()
        named = [s for s in t.set_kinds if s[1] == "addr" and s[2] == sub]
        if what == "daddr":
            dsts = FAM[sub]["dst"] + [FAM[sub]["ctr"]]
            if r.random() < 0.6:
                return "%s daddr %s%s" % (kw, neg, r.choice(dsts))
            return "%s daddr %s{ %s }" % (kw, setneg, ", ".join(r.sample(dsts, 2)))
        if named and k < 0.45:
            return "%s saddr %s@%s" % (kw, setneg, r.choice(named)[0])
        if k < 0.6:
            return "%s saddr %s%s" % (kw, neg, a.any()[0])
        els = a.elements(r.randint(2, 4))
        if len(els) < 2:  # nft turns a one-element set into a comparison
            return "%s saddr %s%s" % (kw, neg, els[0][0])
        return "%s saddr %s{ %s }" % (kw, setneg, ", ".join(e[0] for e in els))

    def m_dport(self, t, proto):
        r = self.rng
        neg = "!= " if r.random() < 0.1 else ""
        setneg = "!= " if r.random() < 0.35 else ""
        kw = "%s dport" % proto if proto in ("tcp", "udp") else "th dport"
        named = [s for s in t.set_kinds if s[1] == "port"]
        k = r.random()
        if named and k < 0.4:
            return "%s %s@%s" % (kw, setneg, r.choice(named)[0])
        if k < 0.65:
            return "%s %s%s" % (kw, neg, port_atom(r, proto)[0])
        els = port_elements(r, proto, r.randint(2, 4))
        if len(els) < 2:
            return "%s %s%s" % (kw, neg, els[0][0])
        return "%s %s{ %s }" % (kw, setneg, ", ".join(e[0] for e in els))

    def m_iif(self):
        return self.rng.choice([
            'iifname "eth0"', 'iifname "eth*"', 'iifname "veth*"', 'iifname "lo"',
            'iifname != "eth0"', 'iifname != "lo"', 'iifname { "eth0", "lo" }',
            'iifname != { "lo", "veth-ctr" }', 'iifname != { "eth0", "lo" }',
            'iif != { "lo", "veth-ctr" }', 'iif { "eth0", "veth-ctr" }',
            'iifname "eth1"', 'iif "eth0"', 'iif "lo"', 'iifname "e*"'])

    def m_oif(self):
        """The output interface: only meaningful on the forward and postrouting hooks."""
        return self.rng.choice([
            'oifname "veth-ctr"', 'oifname != "veth-ctr"', 'oifname "veth*"', 'oifname "eth0"',
            'oifname != { "eth0", "lo" }', 'oifname { "veth-ctr", "lo" }',
            'oif "veth-ctr"', 'oif != "eth0"', 'oif != { "eth0", "lo" }'])

    def m_fib(self, chain):
        """fib: routing lookups. In this lab the probes' sources route back through
        eth0, the server's two addresses are local (198.51.100.1 / 2001:db8:3::1 on
        veth-ctr, so not local "on" eth0) and the container's are routed via veth-ctr."""
        r = self.rng
        opts = [
            "fib daddr type local", "fib daddr type != local", "fib daddr type unicast",
            "fib daddr . iif type local", "fib daddr . iif type != local",
            "fib daddr . iif type local", "fib daddr . iif type unicast",
            "fib daddr type { local, broadcast }", "fib daddr type != { local, multicast }",
            "fib daddr . iif type != { local, anycast }",
            "fib saddr type unicast", "fib saddr type != { unicast, local }",
            "fib saddr . iif oif missing", "fib saddr . iif oif exists",
            'fib saddr oif "eth0"', 'fib saddr oifname != "eth0"', 'fib saddr . iif oifname "eth0"',
            "fib daddr oif missing", "fib daddr oif exists",
        ]
        if chain.hook in ("prerouting", "forward") or chain.kind == "nat":
            opts += ['fib daddr oif "veth-ctr"', 'fib daddr oifname != "veth-ctr"',
                     'fib daddr . iif oif "veth-ctr"']
        return r.choice(opts)

    def m_invlookup(self, t, chain, sub, proto):
        """One inverted set lookup (NFT_LOOKUP_F_INV), of any kind the probes meet."""
        r = self.rng
        opts = ["iif"]
        if sub:
            opts += ["saddr"] * 4 + ["daddr"]
        if proto:
            opts += ["dport"] * 2
        if chain.hook in ("prerouting", "input", "forward"):
            opts.append("fib")
        k = r.choice(opts)
        if k == "iif":
            return r.choice(['iifname != { "lo", "veth-ctr" }', 'iifname != { "eth0", "lo" }',
                             'iif != { "lo", "veth-ctr" }', 'iifname != { "eth1", "eth2" }'])
        if k == "fib":
            return r.choice(["fib daddr type != { local, multicast }",
                             "fib daddr . iif type != { local, anycast }",
                             "fib saddr type != { unicast, local }"])
        kw = FAM[sub]["kw"] if sub else None
        if k == "daddr":
            dsts = FAM[sub]["dst"] + [FAM[sub]["ctr"]]
            return "%s daddr != { %s }" % (kw, ", ".join(r.sample(dsts, 2)))
        if k == "dport":
            named = [s for s in t.set_kinds if s[1] == "port"]
            pkw = "%s dport" % proto if proto in ("tcp", "udp") else "th dport"
            if named and r.random() < 0.4:
                return "%s != @%s" % (pkw, r.choice(named)[0])
            els = port_elements(r, proto, r.randint(2, 4))
            if len(els) >= 2:
                return "%s != { %s }" % (pkw, ", ".join(e[0] for e in els))
        if sub is None:  # (a port set that came out too small)
            return 'iifname != { "lo", "veth-ctr" }'
        named = [s for s in t.set_kinds if s[1] == "addr" and s[2] == sub]
        if named and r.random() < 0.4:
            return "%s saddr != @%s" % (kw, r.choice(named)[0])
        els = Atoms(r, sub).elements(r.randint(2, 4))
        if len(els) < 2:
            return "%s saddr != { %s, %s }" % (kw, FAM[sub]["src"][0], FAM[sub]["src"][-1])
        return "%s saddr != { %s }" % (kw, ", ".join(e[0] for e in els))

    def m_mask(self, sub):
        """saddr & MASK == VALUE: a bitwise match, with a prefix-like or odd mask."""
        r = self.rng
        f = FAM[sub]
        bits = f["bits"]
        src = int(f["ctor"](r.choice(f["src"])))
        if r.random() < 0.6:
            plen = r.randrange(1, bits)
            mask = ((1 << plen) - 1) << (bits - plen)
        else:  # a few bytes here and there
            nbytes = bits // 8
            mask = 0
            for i in r.sample(range(nbytes), r.randint(1, 3)):
                mask |= 0xff << (8 * i)
        value = src & mask
        if r.random() < 0.3:
            value ^= 1 << r.choice([b for b in range(bits) if mask >> b & 1] or [0]) & mask
        neg = "!= " if r.random() < 0.2 else "== "
        return "%s saddr & %s %s%s" % (f["kw"], f["ctor"](mask), neg, f["ctor"](value))

    def m_ct(self):
        r = self.rng
        if r.random() < 0.1:
            return r.choice(["ct direction original", "ct direction reply"])
        if r.random() < 0.25:
            return r.choice(["ct status dnat", "ct status != dnat", "ct status & dnat == dnat"])
        states = ["new", "established", "related", "invalid", "untracked"]
        pick = sorted(r.sample(states, r.choice([1, 1, 2, 3])), key=states.index)
        neg = "!= " if r.random() < 0.2 and len(pick) == 1 else ""
        return "ct state %s%s" % (neg, ",".join(pick))

    def m_concat(self, t, sub, proto):
        r = self.rng
        kw = FAM[sub]["kw"]
        pkw = "%s dport" % proto if proto in ("tcp", "udp") else "th dport"
        named = [s for s in t.set_kinds if s[1] == "concat" and s[2] == sub]
        if named and r.random() < 0.7:
            return "%s saddr . %s @%s" % (kw, pkw, r.choice(named)[0])
        return "%s saddr . %s { %s }" % (kw, pkw, ", ".join(self.concat_elems(sub, proto)))

    def concat_elems(self, sub, proto):
        r = self.rng
        a = Atoms(r, sub)
        out, boxes = [], []
        for _ in range(r.randint(2, 6)):
            at, alo, ahi = a.any()
            pt, plo, phi = port_atom(r, proto)
            if any(not (ahi < bl or alo > bh or phi < cl or plo > ch) for bl, bh, cl, ch in boxes):
                continue
            boxes.append((alo, ahi, plo, phi))
            out.append("%s . %s" % (at, pt))
        return out

    def matches(self, t, chain, sub, proto):
        """A list of match expressions for one rule. proto: tcp, udp, th or None."""
        r = self.rng
        ms = []
        proto_done = False
        n = r.choice([1, 1, 1, 2, 2, 3])
        kinds = []
        for _ in range(n):
            kinds.append(r.choices(
                ["saddr", "dport", "l4", "iif", "ct", "concat", "daddr", "mark", "flags", "nfproto",
                 "mask", "inv", "fib", "oif"],
                weights=[30, 25, 6, 8, 10, 7, 5, 3, 2, 4, 3, 12, 9, 6])[0])
        for k in dict.fromkeys(kinds):  # each kind at most once, in order
            if k in ("saddr", "daddr", "concat", "mask") and sub is None:
                continue
            if k == "saddr":
                ms.append(self.m_saddr(t, sub))
            elif k == "daddr":
                ms.append(self.m_saddr(t, sub, "daddr"))
            elif k == "dport" and proto:
                ms.append(self.m_dport(t, proto))
                proto_done = proto in ("tcp", "udp")
            elif k == "concat" and proto:
                ms.append(self.m_concat(t, sub, proto))
                proto_done = proto in ("tcp", "udp")
            elif k == "l4" and proto and not proto_done:
                ms.insert(0, self.m_l4(sub, proto))
                proto_done = True
            elif k == "iif":
                ms.append(self.m_iif())
            elif k == "inv":
                ms.append(self.m_invlookup(t, chain, sub, proto))
            elif k == "fib" and chain.hook in ("prerouting", "input", "forward"):
                # (not in regular chains: a jump from postrouting would not load)
                ms.append(self.m_fib(chain))
            elif k == "oif" and chain.hook in ("forward", "postrouting"):
                ms.append(self.m_oif())
            elif k == "mask":
                ms.append(self.m_mask(sub))
            elif k == "ct":
                ms.append(self.m_ct())
            elif k == "mark" and self.marks_set:
                neg = "!= " if r.random() < 0.3 else ""
                ms.append("meta mark %s0x%x" % (neg, r.choice(sorted(self.marks_set))))
            elif k == "flags" and proto == "tcp":
                ms.append(r.choice(["tcp flags & (fin|syn|rst|ack) == syn",
                                    "tcp flags & (syn|ack) == syn|ack", "tcp flags syn"]))
                proto_done = True
            elif k == "nfproto" and t.family == "inet" and sub:
                ms.insert(0, "meta nfproto %s" % FAM[sub]["nfproto"])
        return ms, proto_done

    def m_l4(self, sub, proto):
        r = self.rng
        if proto == "th":
            return "meta l4proto { tcp, udp }"
        if sub and r.random() < 0.3:
            return "%s %s" % (FAM[sub]["l4kw"], proto)
        if r.random() < 0.15:
            return "meta l4proto != %s" % ("udp" if proto == "tcp" else "tcp")
        return "meta l4proto %s" % proto

    # -- actions --

    def reject(self, t, sub, proto, proto_done):
        r = self.rng
        opts = ["reject"]
        if t.family in ("ip", "inet") and sub != "ip6":
            opts += ["reject with icmp type %s" % x for x in r.sample(ICMP_REJECT, 2)]
        if t.family in ("ip6", "inet") and sub != "ip":
            opts += ["reject with icmpv6 type %s" % x for x in r.sample(ICMPV6_REJECT, 2)]
        if t.family == "inet":
            opts += ["reject with icmpx type %s" % x for x in ICMPX_REJECT]
        if proto == "tcp":
            opts += ["reject with tcp reset"] * 2
        pick = r.choice(opts)
        if pick == "reject with tcp reset" and not proto_done:
            pick = "meta l4proto tcp " + pick
        return pick

    def verdict(self, t, chain, idx_ok, allow_return=True):
        r = self.rng
        # No jumps from postrouting: the regular chains may hold reject and fib.
        targets = [c for c in t.regular() if idx_ok(c)] if chain.hook != "postrouting" else []
        opts = ["accept"] * 4 + ["drop"] * 2
        if targets:
            opts += ["jump"] * 2 + ["goto"] * 2
        if allow_return:
            # In a base chain, return ends the chain with its policy.
            opts += ["return"] * (2 if chain.hook is None else 1)
        v = r.choice(opts)
        if v in ("jump", "goto"):
            return "%s %s" % (v, r.choice(targets).name)
        return v

    def vmap(self, t, chain, sub, proto, idx_ok):
        r = self.rng
        if sub and r.random() < 0.6:
            els = Atoms(r, sub).elements(r.randint(2, 4))
            key = "%s saddr" % FAM[sub]["kw"]
        elif proto:
            els = port_elements(r, proto, r.randint(2, 4))
            key = "%s dport" % proto if proto in ("tcp", "udp") else "th dport"
        else:
            return None
        if not els:
            return None
        named = [s for s in t.set_kinds if s[1] == "vmap" and s[2] == sub and key.endswith("saddr")]
        if named and r.random() < 0.4:
            return "%s vmap @%s" % (key, r.choice(named)[0])
        items = ["%s : %s" % (e[0], "continue" if r.random() < 0.08 else
                              self.verdict(t, chain, idx_ok)) for e in els]
        return "%s vmap { %s }" % (key, ", ".join(items))

    def rule(self, t, chain, idx_ok):
        r = self.rng
        sub = self.subfam(t)
        proto = r.choices([None, "tcp", "udp", "th"], weights=[35, 40, 20, 5])[0]
        nat = chain.kind == "nat"
        if nat:
            if t.family == "inet" and sub is None:
                sub = r.choice(["ip", "ip6"])
            if r.random() < 0.75 and proto is None:
                proto = r.choice(["tcp", "udp"])
        # A rule without a match ends the chain for everything: keep a few (they
        # make the rest of the chain dead code, which is a case too), not many.
        for _ in range(4):
            ms, proto_done = self.matches(t, chain, sub, proto)
            if ms or r.random() < 0.25:
                break
        stmts = []
        if r.random() < 0.12:
            stmts.append("counter")
        if r.random() < 0.04:
            stmts.append('log prefix "diff %d: "' % self.seed)
        if r.random() < 0.07 and chain.hook == "prerouting" and not nat:
            m = r.choice([1, 2])
            self.marks_set.add(m)
            stmts.append("meta mark set 0x%x" % m)
        dyn = [s for s in t.set_kinds if s[1] == "dyn" and (sub or t.family) in (s[2], "inet")]
        if dyn and r.random() < 0.15 and (sub or t.family != "inet"):
            # The packet adds itself to a set nothing looks up: the kernel never
            # breaks (no size limit), whatever earlier probes left in it, so only
            # the SYN's own update is on its path and the engine must stay exact.
            name, _, dfam, _ = r.choice(dyn)
            stmts.append("%s @%s { %s saddr }" % (
                "update" if name.startswith("u") else "add", name, FAM[dfam]["kw"]))
            if t.family == "inet" and not any(m.startswith("meta nfproto") for m in ms):
                ms.insert(0, "meta nfproto %s" % FAM[dfam]["nfproto"])
            return " ".join(ms + stmts)
        # The final statement.
        k = r.random()
        final = None
        post = chain.hook == "postrouting"
        if nat and k < 0.7:
            if chain.hook == "prerouting":
                final = self.dnat(t, sub, proto, proto_done, ms)
            else:
                final = self.snat(t, chain, sub, proto, ms)
        elif chain.hook == "prerouting" and not nat and k < 0.12:
            final = "notrack"
        elif k < 0.32 and not post:  # (reject is refused on postrouting)
            final = self.reject(t, sub, proto, proto_done)
        elif k < 0.42:
            final = self.vmap(t, chain, sub, proto, idx_ok)
        elif k < 0.47:
            if not stmts:
                stmts.append("counter")  # no verdict: the packet goes on to the next rule
            k = None
        if final is None and k is not None:
            final = self.verdict(t, chain, idx_ok)
        parts = ms + stmts + ([final] if final else [])
        if proto == "th" and not proto_done:
            parts.insert(0, "meta l4proto { tcp, udp }")
        return " ".join(parts)

    def dnat(self, t, sub, proto, proto_done, ms):
        """A DNAT to another local address and/or a listening port of the same protocol."""
        r = self.rng
        fam = sub or t.family
        if proto == "th" or proto is None:
            proto = r.choice(["tcp", "udp"])
        # A port needs a positive protocol match before it ("meta l4proto != udp" is none).
        positive = ("%s " % proto, "meta l4proto %s" % proto, "ip protocol %s" % proto,
                    "ip6 nexthdr %s" % proto)
        if not any(m.startswith(positive) for m in ms):
            ms.insert(0, "meta l4proto %s" % proto)
        ports = TCP_PORTS if proto == "tcp" else UDP_PORTS
        addr = r.choice(FAM[fam]["dst"])
        if r.random() < 0.4:
            # Into the container: the forward path, forward and postrouting chains.
            addr = FAM[fam]["ctr"]
        if fam == "ip6":
            addr_txt = "[%s]" % addr
        else:
            addr_txt = addr
        k = r.random()
        famkw = (" %s" % fam) if t.family == "inet" else ""
        if k < 0.15:
            # To the incoming interface's first address (the kernel picks it).
            return "redirect to :%d" % r.choice(ports)
        k = r.random()
        if k < 0.35 and t.family != "inet":
            return "dnat to :%d" % r.choice(ports)
        if k < 0.6:
            return "dnat%s to %s" % (famkw, addr if fam == "ip" else addr)
        return "dnat%s to %s:%d" % (famkw, addr_txt, r.choice(ports))

    def snat(self, t, chain, sub, proto, ms):
        """SNAT (input or postrouting) or masquerade (postrouting only): later chains
        of the hook see the new source; the answer is un-NATed on its way back."""
        r = self.rng
        fam = sub or t.family
        famkw = (" %s" % fam) if t.family == "inet" else ""
        if chain.hook == "postrouting" and r.random() < 0.5:
            return "masquerade"
        # Never one of the server's own addresses on input: the answer would go to
        # the server itself first (un-NATed only on its way out again), which the
        # kernel does not reliably deliver (seen: dropped, or flaky), and which is
        # the fate of the answer, not of the probe. On postrouting it is masquerade.
        if fam == "ip":
            addr = r.choice(["203.0.113.77", "198.18.9.9"] + (
                ["198.51.100.1"] if chain.hook == "postrouting" else []))
        else:
            addr = r.choice(["2001:db8:2::77", "2001:db8:2:ffff::9"] + (
                ["2001:db8:3::1"] if chain.hook == "postrouting" else []))
        if proto in ("tcp", "udp") and r.random() < 0.3:
            positive = ("%s " % proto, "meta l4proto %s" % proto)
            if not any(m.startswith(positive) for m in ms):
                ms.insert(0, "meta l4proto %s" % proto)
            # A range holding every source port the probes use (prober.py's 20000-
            # 64999), so the kernel keeps the port: one port for all would have
            # the second probe clash with the first one's conntrack entry (runtime
            # state: not for the engine to know).
            return "snat%s to %s:%s" % (famkw, "[%s]" % addr if fam == "ip6" else addr,
                                        r.choice(["1024-65535", "20000-65000"]))
        return "snat%s to %s" % (famkw, addr)

    # -- sets --

    def named_sets(self, t):
        r = self.rng
        fams = ["ip", "ip6"] if t.family == "inet" else [t.family]
        for i in range(r.choice([0, 0, 1, 1, 2, 3])):
            name = "s%d" % i
            kind = r.choice(["addr", "addr", "port", "concat", "vmap"])
            fam = r.choice(fams)
            a = Atoms(r, fam)
            if kind == "addr":
                interval = r.random() < 0.75
                els = a.elements(r.randint(1, 5), interval)
                flags = "flags interval; " if interval else ""
                body = "type %s; %selements = { %s }" % (
                    FAM[fam]["type"], flags, ", ".join(e[0] for e in els))
            elif kind == "port":
                interval = r.random() < 0.5
                els = port_elements(r, None, r.randint(1, 4), interval)
                flags = "flags interval; " if interval else ""
                body = "type inet_service; %selements = { %s }" % (
                    flags, ", ".join(e[0] for e in els))
            elif kind == "concat":
                body = "type %s . inet_service; flags interval; elements = { %s }" % (
                    FAM[fam]["type"], ", ".join(self.concat_elems(fam, None)))
            else:
                # verdicts only to chains defined later in the text are fine for nft -f,
                # but keep vmaps to accept/drop: a named map's jump would tie the chain
                # graph to whoever uses the map.
                els = a.elements(r.randint(1, 4))
                body = "type %s : verdict; flags interval; elements = { %s }" % (
                    FAM[fam]["type"], ", ".join("%s : %s" % (e[0], r.choice(["accept", "drop"]))
                                               for e in els))
            if kind == "vmap":
                t.sets.append((name, "map %s { %s }" % (name, body)))
            else:
                t.sets.append((name, "set %s { %s }" % (name, body)))
            t.set_kinds.append((name, kind, fam, None))
        if r.random() < 0.3:
            # A set the packet path fills (dynset); never looked up (see rule()).
            fam = r.choice(fams)
            if r.random() < 0.5:
                name, body = "d9", "type %s; flags dynamic;" % FAM[fam]["type"]
            else:
                name, body = "u9", "type %s; flags dynamic,timeout; timeout 1m;" % FAM[fam]["type"]
            t.sets.append((name, "set %s { %s }" % (name, body)))
            t.set_kinds.append((name, "dyn", fam, None))

    # -- the whole case --

    def build(self):
        r = self.rng
        ipt_fams = [f for f, p in (("ip", 0.3), ("ip6", 0.2)) if r.random() < p]
        prio = {"prerouting": r.sample(PRIO_PRE, len(PRIO_PRE)),
                "nat": r.sample(PRIO_NAT, len(PRIO_NAT)),
                "input": r.sample(PRIO_IN, len(PRIO_IN)),
                "forward": r.sample(PRIO_FWD, len(PRIO_FWD)),
                "postrouting": r.sample(PRIO_POST, len(PRIO_POST)),
                "natin": r.sample(PRIO_NATIN, len(PRIO_NATIN)),
                "natpost": r.sample(PRIO_NATPOST, len(PRIO_NATPOST))}
        if ipt_fams:
            for hook, taken in IPT_PRIOS.items():
                prio[hook] = [p for p in prio[hook] if p not in taken]
        ntables = r.choice([1, 2, 2, 3])
        families = [r.choice(["ip", "ip6", "inet", "inet"]) for _ in range(ntables)]
        for i, fam in enumerate(families):
            t = Table(fam, r.choice(["filter", "fw", "t", "raw", "nat", "x"]) + str(i))
            self.named_sets(t)
            for j in range(r.choice([0, 1, 1, 2, 3])):
                t.chains.append(Chain("r%d" % j))
            nbase = r.choice([1, 1, 2, 2, 3])
            for j in range(nbase):
                hook = r.choices(["prerouting", "input", "forward", "nat", "postrouting",
                                  "natin", "natpost"],
                                 weights=[30, 40, 10, 15, 5, 4, 6])[0]
                if not prio[hook]:
                    hook = "input"
                if not prio[hook]:
                    continue
                p = prio[hook].pop()
                policy = "drop" if r.random() < 0.15 else "accept"
                if hook == "nat":
                    c = Chain("nat%d" % j, "prerouting", "nat", p, policy)
                elif hook == "natin":
                    c = Chain("nin%d" % j, "input", "nat", p, policy)
                elif hook == "natpost":
                    c = Chain("npo%d" % j, "postrouting", "nat", p, policy)
                else:
                    c = Chain("%s%d" % (hook[:3], j), hook, "filter", p, policy)
                t.chains.insert(0, c)
            self.tables.append(t)
        # Two nat chains on prerouting more often: the first binding wins (a later
        # chain's DNAT is not done), and accept in one goes on to the next.
        natpre = [c for t in self.tables for c in t.chains if c.kind == "nat" and
                  c.hook == "prerouting"]
        nat9 = []
        for _ in range(2 if not natpre and r.random() < 0.3 else
                       1 if len(natpre) == 1 and r.random() < 0.6 else 0):
            if prio["nat"]:
                nat9.append((r.choice(self.tables), Chain("nat%d" % (9 - len(nat9)), "prerouting",
                                                          "nat", prio["nat"].pop(), "accept")))
                nat9[-1][0].chains.insert(0, nat9[-1][1])
        if not any(c.hook for t in self.tables for c in t.chains):
            t = self.tables[0]
            t.chains.insert(0, Chain("in9", "input", "filter", prio["input"].pop(), "accept"))
        # Rules: base chains first (they may set marks that later rules test), then
        # regular chains; jumps only go forward in the list of regular chains.
        budget = r.randint(6, 25)
        bases = [(t, c) for t in self.tables for c in t.chains if c.hook]
        regs = [(t, c) for t in self.tables for c in t.chains if not c.hook]
        order = sorted(bases, key=lambda tc: (tc[1].hook != "prerouting", tc[1].prio))
        weights = [3] * len(order) + [2] * len(regs)
        slots = order + regs
        counts = [0] * len(slots)
        for _ in range(budget):
            counts[r.choices(range(len(slots)), weights=weights)[0]] += 1
        for (t, c), n in zip(slots, counts):
            regular = t.regular()
            if c.hook is None:
                me = regular.index(c)
                idx_ok = lambda x, me=me, regular=regular: regular.index(x) > me
            else:
                idx_ok = lambda x: True
            for _ in range(n):
                c.rules.append(self.rule(t, c, idx_ok))
                self.rule_count += 1
        # Most cases get an inverted lookup near the top of a filter chain the
        # probes pass, with a verdict they see: whether the engine inverts it
        # decides many answers there, not only those of the rare probe that gets
        # deep into a chain.
        hooks = ("prerouting", "input", "forward")
        early = sorted([(t, c) for t, c in bases if c.kind == "filter" and c.hook in hooks],
                       key=lambda tc: (hooks.index(tc[1].hook), tc[1].prio))
        for p in (0.95, 0.5):
            if not early or r.random() >= p:
                break
            # Mostly the first chain every probe passes.
            t, c = early[0] if r.random() < 0.6 else r.choice(early)
            sub = self.subfam(t) or r.choice(["ip", "ip6"])
            proto = r.choice([None, "tcp", "udp"])
            ms = [self.m_invlookup(t, c, sub, proto)]
            if proto and not ms[0].startswith(proto):
                ms.insert(0, "meta l4proto %s" % proto)
            # Mostly a reject: an answer of its own, where the wrong inversion shows.
            final = r.choice(["reject", "reject", "reject", "drop"])
            if final == "reject":
                final = self.reject(t, sub, proto, True)
            # (first: a rule without a match would hide it)
            c.rules.insert(0, " ".join(ms + [final]))
            self.rule_count += 1
        if early and r.random() < 0.3:
            # fib with the input interface: the server's veth-ctr address is local,
            # but not on eth0, where the probes come in.
            t, c = early[0]
            proto = r.choice(["tcp", "udp"])
            c.rules.insert(0, "meta l4proto %s fib daddr . iif type %s %s" % (
                proto, r.choice(["!= local", "!= { local, anycast }", "unicast"]),
                self.reject(t, self.subfam(t), proto, True)))
            self.rule_count += 1
        proto = r.choice(["tcp", "udp"])
        for t, c in nat9:
            # A broad DNAT in the added nat chain(s): for the probes another chain
            # already bound it must not run (the first binding wins).
            sub = t.family if t.family != "inet" else r.choice(["ip", "ip6"])
            ms = ["meta l4proto %s" % proto]
            final = self.dnat(t, sub, proto, True, ms)
            c.rules.insert(0, " ".join(ms + [final]))
            self.rule_count += 1
        for fam in ipt_fams:
            self.ipt[fam] = IptGen(r, fam, set()).text()
        self.src_build(prio)
        self.host_build()
        return self

    # -- host settings: interface groups, rp_filter and routes back --

    def host_build(self):
        h = self.hr
        for dev, p in (("eth0", 0.75), ("veth-ctr", 0.6)):
            if h.random() < p:
                self.groups[dev] = h.choice(GROUPS[1:])
                self.host.append("group %s %d" % (dev, self.groups[dev]))
        # rp_filter: all and eth0, the effective value is the larger one.
        # (Mostly one of them 0, so the effective value is the other one's.)
        rp_all, rp_eth0 = h.choice([(0, 0), (1, 0), (2, 0), (1, 0), (2, 0), (0, 1), (0, 2),
                                    (0, 1), (1, 2), (2, 1), (1, 1), (2, 2)])
        for key, v in (("all", rp_all), ("eth0", rp_eth0)):
            if v or h.random() < 0.3:
                self.host.append("sysctl net.ipv4.conf.%s.rp_filter %d" % (key, v))
        eff = max(rp_all, rp_eth0)
        # Routes back to some sources that make the filter drop their probes. Only
        # where it does: a probe the kernel took would be answered into a blackhole
        # or towards the container, silence for the client, an accept for the engine.
        nets = h.sample(HOST_NETS, len(HOST_NETS))
        # A reject before the routing decision (prerouting, or a chain it may jump
        # to) answers a probe the filter then never sees: that answer takes the
        # route back too, so the client would hear nothing. No such routes then.
        early_reject = any(self.rejects_before_routing(t) for t in self.tables)
        if eff >= 1 and not early_reject and h.random() < 0.85:
            for _ in range(h.choice([1, 1, 2])):
                net = nets.pop()
                self.host.append("route %s %s" % (h.choice(NOROUTE), net))
                self.rp_nets.append(net)
        if eff == 1 and not early_reject and h.random() < 0.85:  # strict: the way back must be eth0
            net = nets.pop()
            self.host.append("route via-ctr %s" % net)
            self.rp_nets.append(net)
        # meta iifgroup / oifgroup rules in filter chains the probes pass.
        chains = [(t, c) for t in self.tables for c in t.chains
                  if c.kind == "filter" and c.hook in ("prerouting", "input", "forward",
                                                       "postrouting")]
        if not chains:
            return
        for _ in range(h.choice([1, 1, 2, 2, 3]) if self.host else h.choice([0, 1])):
            t, c = h.choice(chains)
            self.rule_count += 1
            rule = self.group_rule(t, c)
            # Never before a chain's first rule: it would hide the inverted lookup
            # there (see build); mostly right after it.
            c.rules.insert(0 if not c.rules else 1 if h.random() < 0.5 else
                           h.randint(1, len(c.rules)), rule)

    @staticmethod
    def rejects_before_routing(t):
        """Whether an IPv4 packet may meet a reject in t's prerouting base chains or a
        chain they jump or go to (a rule that names IPv6 only does not count)."""
        if t.family not in ("ip", "inet"):
            return False
        todo = [c for c in t.chains if c.hook == "prerouting"]
        seen = set()
        while todo:
            c = todo.pop()
            if c.name in seen:
                continue
            seen.add(c.name)
            for rule in c.rules:
                words = rule.replace(",", " ").replace("}", " ").split()
                for i, w in enumerate(words[:-1]):
                    if w in ("jump", "goto"):
                        todo += [x for x in t.chains if x.name == words[i + 1]]
                if "reject" in rule and not any(x in rule for x in (
                        "ip6 ", "nfproto ipv6", "icmpv6")):
                    return True
        return False

    def group_rule(self, t, c):
        h = self.hr
        out_side = c.hook in ("forward", "postrouting")
        # oifgroup where there is no output device (prerouting, input) breaks.
        key = "oifgroup" if (out_side and h.random() < 0.4) or h.random() < 0.1 else "iifgroup"
        dev = "veth-ctr" if key == "oifgroup" else "eth0"
        mine = self.groups[dev]
        vals = sorted({mine, h.choice(GROUPS), h.choice(GROUPS)})
        k = h.random()
        if k < 0.4:
            m = "meta %s %d" % (key, mine if h.random() < 0.6 else h.choice(GROUPS))
        elif k < 0.7:
            m = "meta %s != %d" % (key, mine if h.random() < 0.5 else h.choice(GROUPS))
        elif len(vals) > 1:
            m = "meta %s %s{ %s }" % (key, "!= " if h.random() < 0.4 else "",
                                       ", ".join(str(v) for v in vals))
        else:
            m = "meta %s %d" % (key, vals[0])
        ms = [m]
        if h.random() < 0.4:
            fam = t.family if t.family != "inet" else h.choice(["ip", "ip6"])
            # (the secondary address on the input side, the container on the output side)
            ms.append("%s daddr %s" % (FAM[fam]["kw"], FAM[fam]["ctr"] if out_side else
                                       V4_SEC if fam == "ip" else V6_SEC))
        if h.random() < 0.4:
            ms.insert(0, "meta l4proto %s" % h.choice(["tcp", "udp"]))
        # (no reject on postrouting: nft refuses it there; none on prerouting when
        # routes back are set: see host_build)
        final = h.choice(["drop", "drop", "accept", "counter"] if c.hook == "postrouting" or (
            c.hook == "prerouting" and self.rp_nets) else ["drop", "reject", "reject", "accept", "counter"])
        if final == "reject" and h.random() < 0.5 and ms[0] == "meta l4proto tcp":
            final = "reject with tcp reset"
        return " ".join(ms + [final])

    # -- issue #9: symbolic sources (own random stream self.sr) --

    def src_build(self, prio):
        """Rules on the source port, odd masks on the source address, big interval sets
        of sources, concatenations and verdict maps keyed by the source, numgen/jhash
        whose outcomes all agree: each in some cases, in filter chains the probes pass
        (never before a chain's first rule: the inverted lookup there stays first), the
        numgen/jhash DNATs in nat prerouting chains (a new one if none)."""
        s = self.sr
        if any(":1024-65535" in rule or ":20000-65000" in rule for t in self.tables
               for c in t.chains for rule in c.rules):
            self.sport_lo = SPORT_SNAT_LO
        chains = [(t, c) for t in self.tables for c in t.chains
                  if (c.kind == "filter" and c.hook in ("prerouting", "input", "forward"))
                  or c.hook is None]
        if not chains:
            return
        # (the base chains three times as often as the regular ones)
        chains += [(t, c) for t, c in chains if c.hook] * 2
        hooks = ("prerouting", "input", "forward")
        head = sorted([(t, c) for t, c in chains if c.hook in hooks],
                      key=lambda tc: (hooks.index(tc[1].hook), tc[1].prio))
        plan = [("sport", 0.5, self.x_sport), ("mask", 0.35, self.x_mask),
                ("concat", 0.3, self.x_concat), ("vmap", 0.3, self.x_vmap),
                ("numgen", 0.3, self.x_numgen), ("big", 0.15, self.x_big)]
        for name, p, fn in plan:
            if s.random() >= p:
                continue
            self.features.append(name)
            for i in range(1 if name == "big" else s.choice([1, 1, 2, 3])):
                t, c = s.choice(chains)
                # The first rule of a kind mostly in the first filter chain every probe
                # passes, with no other match (source ports: the protocol only): most
                # probes meet it, so an engine that gets it wrong shows.
                self.x_plain = i == 0 and head and s.random() < 0.7
                if self.x_plain:
                    t, c = head[0]
                rule = fn(t, c, prio)
                if rule is None:
                    continue
                if rule[0] == "nat":  # (a DNAT: the chain it goes to comes with it)
                    _, t, c, rule = rule
                    c.rules.insert(s.randint(0, len(c.rules)), rule)
                else:
                    # Mostly right after a chain's first rule, where most probes meet
                    # them (big sets always), else anywhere after it.
                    early = name == "big" or s.random() < 0.7
                    pos = 0 if not c.rules else s.randint(1, min(2, len(c.rules))) if early \
                        else s.randint(1, len(c.rules))
                    c.rules.insert(pos, rule)
                self.rule_count += 1

    def x_sub(self, t):
        return t.family if t.family != "inet" else self.sr.choice(["ip", "ip6"])

    def x_final(self, t, c, sub, proto):
        """drop, reject (a variant of the family) or accept."""
        s = self.sr
        k = s.random()
        if k < 0.35:
            return "drop"
        if k < 0.7:
            opts = ["reject"]
            if sub == "ip":
                opts.append("reject with icmp type %s" % s.choice(ICMP_REJECT))
            if sub == "ip6":
                opts.append("reject with icmpv6 type %s" % s.choice(ICMPV6_REJECT))
            if t.family == "inet":
                opts.append("reject with icmpx type %s" % s.choice(ICMPX_REJECT))
            if proto == "tcp":
                opts += ["reject with tcp reset"] * 2
            return s.choice(opts)
        return "accept"

    def x_sport_atom(self):
        """A source-port value or range (text, lo, hi) in the probes' port range: single
        ports, short ranges, and ranges over a good part of the space (so a probe's port
        and any one fixed port are as often in different classes as in one)."""
        s = self.sr
        if s.random() < 0.3:
            lo = s.randint(self.sport_lo, SPORT_HI)
            self.sport_atoms.append((lo, lo))
            return str(lo), lo, lo
        lo = s.randint(self.sport_lo, SPORT_HI - 10)
        if s.random() < 0.15:
            lo = 1024  # from the first unprivileged port
        hi = min(SPORT_HI if s.random() < 0.2 else 65535,
                 lo + s.choice([1, 10, 500, 5000, 15000, 25000, 40000]))
        self.sport_atoms.append((lo, hi))
        return "%d-%d" % (lo, hi), lo, hi

    def x_sport(self, t, c, prio):
        """tcp sport / udp sport / th sport: ==, !=, a range, an anonymous or a named set."""
        s = self.sr
        proto = s.choice(["tcp", "tcp", "udp", "th"])
        kw = "th sport" if proto == "th" else "%s sport" % proto
        k = s.random()
        if k < 0.3:
            m = "%s %s%s" % (kw, "!= " if s.random() < 0.4 else "", self.x_sport_atom()[0])
        else:
            els = disjoint([self.x_sport_atom() for _ in range(s.randint(2, 5))], 5)
            neg = "!= " if s.random() < 0.4 else ""
            if k < 0.65 and len(els) >= 2:
                m = "%s %s{ %s }" % (kw, neg, ", ".join(e[0] for e in els))
            else:
                name = "sp%d" % sum(1 for n, _ in t.sets if n.startswith("sp"))
                interval = any(lo != hi for _, lo, hi in els)
                t.sets.append((name, "set %s { type inet_service; %selements = { %s } }" % (
                    name, "flags interval; " if interval else "",
                    ", ".join(e[0] for e in els))))
                m = "%s %s@%s" % (kw, neg, name)
        ms = [m]
        if proto == "th":
            ms.insert(0, "meta l4proto { tcp, udp }")
        if self.x_plain:
            return " ".join(ms + [self.x_final(t, c, self.x_sub(t), proto)])
        if s.random() < 0.3:  # with the destination port, too
            ms.append("th dport %s" % s.choice(TCP_PORTS if proto == "tcp" else UDP_PORTS
                                               if proto == "udp" else
                                               sorted(set(TCP_PORTS + UDP_PORTS))))
        sub = self.x_sub(t)
        if s.random() < 0.25:  # and a source address
            ms.append("%s saddr %s" % (FAM[sub]["kw"], Atoms(s, sub).any()[0]))
        return " ".join(ms + [self.x_final(t, c, sub, proto)])

    def x_mask(self, t, c, prio):
        """ip saddr & 0.0.0.1 == 0.0.0.1, ip6 saddr & ::ff == ::5: masks that are no
        prefix, with a value some client sources have and others not."""
        s = self.sr
        sub = self.x_sub(t)
        f = FAM[sub]
        mask = int(f["ctor"](s.choice(ODD_MASK4 if sub == "ip" else ODD_MASK6)))
        value = int(f["ctor"](s.choice(f["src"]))) & mask
        if s.random() < 0.25:
            low = mask & -mask  # flip the lowest bit of the mask
            value ^= low
        op = "!= " if s.random() < 0.25 else "== "
        ms = ["%s saddr & %s %s%s" % (f["kw"], f["ctor"](mask), op, f["ctor"](value))]
        proto = None
        if s.random() < 0.4:
            proto = s.choice(["tcp", "udp"])
            ms.insert(0, "meta l4proto %s" % proto)
        return " ".join(ms + [self.x_final(t, c, sub, proto)])

    def x_concat(self, t, c, prio):
        """ip saddr . tcp dport @s / ip6 saddr . th dport { ... }, with intervals."""
        s = self.sr
        sub = self.x_sub(t)
        proto = s.choice(["tcp", "udp", "th"])
        a = Atoms(s, sub)
        els, boxes = [], []
        for _ in range(s.randint(2, 8)):
            at, alo, ahi = a.any()
            pt, plo, phi = port_atom(s, proto)
            if any(not (ahi < bl or alo > bh or phi < cl or plo > ch) for bl, bh, cl, ch in boxes):
                continue
            boxes.append((alo, ahi, plo, phi))
            els.append("%s . %s" % (at, pt))
        pkw = "th dport" if proto == "th" else "%s dport" % proto
        neg = "!= " if s.random() < 0.3 else ""
        if s.random() < 0.6:
            name = "cc%d" % sum(1 for n, _ in t.sets if n.startswith("cc"))
            t.sets.append((name, "set %s { type %s . inet_service; flags interval; "
                           "elements = { %s } }" % (name, FAM[sub]["type"], ", ".join(els))))
            m = "%s saddr . %s %s@%s" % (FAM[sub]["kw"], pkw, neg, name)
        else:
            m = "%s saddr . %s %s{ %s }" % (FAM[sub]["kw"], pkw, neg, ", ".join(els))
        ms = [m]
        if proto == "th":
            ms.insert(0, "meta l4proto { tcp, udp }")
        return " ".join(ms + [self.x_final(t, c, sub, proto if proto != "th" else None)])

    def x_vmap(self, t, c, prio):
        """ip saddr vmap { 192.0.2.0/28 : drop, ... }, intervals, anonymous or named."""
        s = self.sr
        sub = self.x_sub(t)
        els = Atoms(s, sub).elements(s.randint(2, 6))
        if not els:
            return None
        items = ["%s : %s" % (e[0], s.choice(["accept", "drop", "drop", "continue"]))
                 for e in els]
        kw = "%s saddr" % FAM[sub]["kw"]
        ms = []
        if s.random() < 0.3:
            ms.append("meta l4proto %s" % s.choice(["tcp", "udp"]))
        if s.random() < 0.5:
            name = "vm%d" % sum(1 for n, _ in t.sets if n.startswith("vm"))
            items = [i.replace(": continue", ": accept") for i in items]
            t.sets.append((name, "map %s { type %s : verdict; flags interval; elements = { %s } }"
                           % (name, FAM[sub]["type"], ", ".join(items))))
            return " ".join(ms + ["%s vmap @%s" % (kw, name)])
        return " ".join(ms + ["%s vmap { %s }" % (kw, ", ".join(items))])

    def x_numgen(self, t, c, prio):
        """numgen random/inc mod 1 or 2 and jhash on the source, where every outcome has
        the same verdict (vmap) or DNAT target (map): the engine must be exact."""
        s = self.sr
        sub = self.x_sub(t)
        kw = FAM[sub]["kw"]
        mod = s.choice([1, 2, 2])
        k = s.random()
        pre = []
        if k < 0.45:
            gen = "numgen %s mod %d" % (s.choice(["random", "random", "inc"]), mod)
        else:
            what = "%s saddr" % kw
            if s.random() < 0.3:
                what += " . tcp sport"
                pre.append("meta l4proto tcp")
            gen = "jhash %s mod %d%s" % (what, mod, " seed 0x%x" % s.randrange(1 << 16)
                                         if s.random() < 0.5 else "")
            if t.family == "inet":
                pre.insert(0, "meta nfproto %s" % FAM[sub]["nfproto"])
        if s.random() < 0.5:  # a DNAT by the draw: every outcome the same target
            nat = [(tt, cc) for tt in self.tables for cc in tt.chains if cc.kind == "nat" and
                   cc.hook == "prerouting" and tt.family in (sub, "inet")]
            if not nat and prio["nat"]:
                tt = s.choice([x for x in self.tables if x.family in (sub, "inet")] or [None])
                if tt is not None:
                    cc = Chain("nat7", "prerouting", "nat", prio["nat"].pop(), "accept")
                    tt.chains.insert(0, cc)
                    nat = [(tt, cc)]
            if nat:
                tt, cc = s.choice(nat)
                proto = s.choice(["tcp", "udp"])
                if "meta l4proto tcp" in pre:  # (jhash ... . tcp sport)
                    proto = "tcp"
                ports = TCP_PORTS if proto == "tcp" else UDP_PORTS
                target = s.choice(FAM[sub]["dst"] + [FAM[sub]["ctr"], FAM[sub]["ctr"]])
                ms = [] if "meta l4proto tcp" in pre else ["meta l4proto %s" % proto]
                if s.random() < 0.7:
                    ms.append("th dport %s" % s.choice(ports))
                if t.family == "inet" and not pre and tt.family == "inet":
                    pre.insert(0, "meta nfproto %s" % FAM[sub]["nfproto"])
                famkw = " %s" % sub if tt.family == "inet" else ""
                if tt.family != t.family and gen.startswith("jhash") and tt.family == "inet":
                    pre = ["meta nfproto %s" % FAM[sub]["nfproto"]] + [x for x in pre if
                                                                        "nfproto" not in x]
                pre = [x for x in pre if tt.family == "inet" or "nfproto" not in x]
                if s.random() < 0.5:
                    items = ", ".join("%d : %s" % (i, target) for i in range(mod))
                    final = "dnat%s to %s map { %s }" % (famkw, gen, items)
                else:
                    port = s.choice(ports)
                    items = ", ".join("%d : %s . %d" % (i, target, port) for i in range(mod))
                    final = "dnat %s addr . port to %s map { %s }" % (sub, gen, items)
                return ("nat", tt, cc, " ".join(pre + ms + [final]))
        v = s.choice(["accept", "drop", "drop"])
        ms = []
        if s.random() < 0.5:
            proto = s.choice(["tcp", "udp"])
            if "meta l4proto tcp" not in pre:
                ms.append("meta l4proto %s" % proto)
            ms.append("th dport %s" % s.choice(TCP_PORTS if proto == "tcp" else UDP_PORTS))
        items = ", ".join("%d : %s" % (i, v) for i in range(mod))
        return " ".join(pre + ms + ["%s vmap { %s }" % (gen, items)])

    def x_big(self, t, c, prio):
        """A set of >= 10,000 source addresses and ranges (198.18.0.0/15, 2001:db8::/32),
        some covering client sources, looked up (or not) by the rule."""
        s = self.sr
        sub = self.x_sub(t)
        name = "big%s" % ("4" if sub == "ip" else "6")
        if not any(n == name for n, _ in t.sets):
            els = self.big_elements(sub)
            t.sets.append((name, "set %s { type %s; flags interval; elements = { %s } }" % (
                name, FAM[sub]["type"], ", ".join(els))))
        neg = "!= " if s.random() < 0.4 else ""
        ms = ["%s saddr %s@%s" % (FAM[sub]["kw"], neg, name)]
        proto = None
        if s.random() < 0.3:
            proto = s.choice(["tcp", "udp"])
            ms.insert(0, "meta l4proto %s" % proto)
        return " ".join(ms + [self.x_final(t, c, sub, proto)])

    def big_elements(self, sub):
        """BIG_MIN..BIG_MIN+2000 disjoint, non-touching elements: single addresses and
        short ranges through BIG4 / BIG6, and (at random) ones around client sources."""
        s = self.sr
        net = BIG4 if sub == "ip" else BIG6
        ctor = FAM[sub]["ctor"]
        base, top = int(net.network_address), int(net.broadcast_address)
        want = s.randint(BIG_MIN + 50, BIG_MIN + 2000)
        srcs = [int(ctor(a)) for a in FAM[sub]["src"]]
        # Client sources (those in 198.18.0.0/15, all IPv6 ones: 2001:db8::/32): covered
        # by an element around them, or kept clear of the set.
        near = [a for a in srcs if ipaddress.ip_address(ctor(a)) in
                (BIG4 if sub == "ip" else ipaddress.ip_network("2001:db8::/32"))]
        onlink = lambda a: sub == "ip6" and (a >> 64) == int(ctor("2001:db8:1::")) >> 64  # noqa: E731
        cover = [a for a in near if s.random() < 0.5]
        if sum(map(onlink, cover)) > 1:  # (neighbours: one of them at most)
            first = [a for a in cover if onlink(a)][0]
            cover = [a for a in cover if not onlink(a) or a == first]
        out = []  # (lo, hi)
        doc = BIG4 if sub == "ip" else ipaddress.ip_network("2001:db8::/32")
        for a in cover:  # (within the documentation range)
            out.append((a, a) if onlink(a) else (max(int(doc.network_address), a - s.randint(0, 3)),
                                                 min(int(doc.broadcast_address), a + s.randint(0, 3))))
        o = base + s.randrange(16)
        for _ in range(want * 2):  # bounded
            if len(out) >= want or o > top:
                break
            n = 1 if s.random() < 0.7 else s.randint(2, 16)
            hi = min(top, o + n - 1)
            if not any(o - 12 <= a <= hi + 12 for a in srcs):
                out.append((o, hi))
            o = hi + 1 + s.randint(2, 8)
        out.sort()
        txt, last = [], -2
        for lo, hi in out:
            if lo <= last + 1:  # (never overlapping or touching: nft refuses overlaps)
                continue
            last = hi
            txt.append(str(ctor(lo)) if lo == hi else "%s-%s" % (ctor(lo), ctor(hi)))
        return txt

    def probe_sports(self, n):
        """A source port per probe, unique in the case (so one run never reuses a tuple;
        between runs test_differential.sh flushes the server's conntrack table): mostly at
        or next to what the rules compare source ports with, so they match some probes
        and miss others."""
        s = self.sr
        lo_, hi_ = self.sport_lo, SPORT_HI
        used, out = set(), []
        for _ in range(n):
            p = s.randint(lo_, hi_)
            if self.sport_atoms and s.random() < 0.8:
                lo, hi = s.choice(self.sport_atoms)
                k = s.random()
                if k < 0.5:  # inside (at an end, or anywhere)
                    p = s.choice([lo, hi, s.randint(lo, hi)])
                elif k < 0.75:  # just outside
                    p = s.choice([lo - 1, hi + 1])
                elif lo > lo_ or hi < hi_:  # anywhere outside
                    p = s.choice(([s.randint(lo_, lo - 1)] if lo > lo_ else []) +
                                 ([s.randint(hi + 1, hi_)] if hi < hi_ else []))
                p = min(max(p, lo_), hi_)
            for _ in range(100):  # bounded: 100 tries at a fresh one, then the next free
                if p not in used:
                    break
                p = s.randint(self.sport_lo, SPORT_HI)
            while p in used:
                p = p + 1 if p < SPORT_HI else self.sport_lo
            used.add(p)
            out.append(p)
        return out


    def text(self):
        out = ["# diffgen.py seed %d: %d rules%s" % (self.seed, self.rule_count, "".join(
            " +" + f for f in self.features))]
        for t in self.tables:
            out.append("table %s %s {" % (t.family, t.name))
            for _, s in t.sets:
                out.append("\t" + s)
            for c in t.chains:
                out.append("\tchain %s {" % c.name)
                if c.hook:
                    out.append("\t\ttype %s hook %s priority %d; policy %s;" % (
                        c.kind, c.hook, c.prio, c.policy))
                    # The probes' answers must get back: the container's come in on
                    # veth-ctr (prerouting, forward), the server's own go out through
                    # postrouting. What is compared is the fate of the SYN or the
                    # datagram itself, so these rules never match a probe. (In nat
                    # chains too: the answer to an untracked probe is a new flow.)
                    if c.hook in ("prerouting", "forward"):
                        out.append('\t\tiifname "veth-ctr" accept')
                    elif c.hook == "postrouting":
                        out.append('\t\toifname != "veth-ctr" accept')
                for rule in c.rules:
                    out.append("\t\t" + rule)
                out.append("\t}")
            out.append("}")
        return "\n".join(out) + "\n"

    def probes(self):
        r = self.rng
        fams = set()
        for t in self.tables:
            fams |= {"ip", "ip6"} if t.family == "inet" else {t.family}
        text = self.text() + "".join(self.ipt.values())
        for f in self.ipt:
            fams.add(f)
        forwarding = any(c.hook in ("forward", "postrouting") or "198.51.100.2" in text or
                         "2001:db8:3::2" in text for t in self.tables for c in t.chains)
        # The sources the ruleset names (as themselves, or as the start of a prefix
        # or range): a probe from one of them meets the rules written for it.
        named = {f: [a for a in FAM[f]["src"] if any(
            a + sep in text for sep in (" ", ",", "/", "-", "}", "\n"))] for f in FAM}
        out, seen = [], set()
        for _ in range(self.nprobes * 4):
            if len(out) >= self.nprobes:
                break
            # Mostly the families the ruleset filters; some of the other, too.
            fam = r.choice(sorted(fams)) if r.random() < 0.85 else r.choice(["ip", "ip6"])
            proto = "tcp" if r.random() < 0.62 else "udp"
            ports = TCP_PORTS if proto == "tcp" else UDP_PORTS
            mentioned = [p for p in ports if str(p) in text]
            port = r.choice(mentioned) if mentioned and r.random() < 0.6 else r.choice(ports)
            src = r.choice(named[fam]) if named[fam] and r.random() < 0.5 else \
                r.choice(FAM[fam]["src"])
            k = r.random()
            if k < (0.25 if forwarding else 0.08):
                dst = FAM[fam]["ctr"]  # the forward path
            elif k < 0.8:
                dst = FAM[fam]["dst"][0]
            else:
                dst = FAM[fam]["dst"][1]
            # (the host's own random stream: see __init__)
            h = self.hr
            if dst == FAM[fam]["dst"][0] and h.random() < 0.3:
                dst = V4_SEC if fam == "ip" else V6_SEC
            if fam == "ip" and self.rp_nets and h.random() < 0.5:
                src = h.choice([a for a in V4_SRC if any(
                    ipaddress.ip_address(a) in ipaddress.ip_network(n)
                    for n in self.rp_nets)])
            key = (fam, proto, src, dst, port)
            if key in seen:
                continue
            seen.add(key)
            out.append(key)
        sports = self.probe_sports(len(out))
        return ["%d\t%s\t%s\t%s\t%s\t%d\t%d" % (i, "ipv4" if f == "ip" else "ipv6", p, s, d, port,
                                              sports[i])
                for i, (f, p, s, d, port) in enumerate(out)]


def parse_seeds(spec):
    seeds = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            a, b = int(a), int(b)
            if b < a or b - a > 1000000:
                raise ValueError("bad seed range %r" % part)
            seeds.extend(range(a, b + 1))
        else:
            seeds.append(int(part))
    return seeds


def generate(seed, nprobes):
    """The ruleset (nft -f), the probes, and {family: iptables-nft-restore text}."""
    g = Gen(seed, nprobes).build()
    text, probes = g.text(), g.probes()
    return text, probes, g.ipt, "".join(l + "\n" for l in g.host)


def check(seeds, nprobes):
    """nft -c every ruleset in a throwaway network namespace; report the bad ones."""
    bad = 0
    with tempfile.TemporaryDirectory() as d:
        for s in seeds:
            text, _, ipt, _ = generate(s, nprobes)
            path = os.path.join(d, "case.nft")
            with open(path, "w") as f:
                f.write(text)
            for fam in ("ip", "ip6"):
                with open(os.path.join(d, "case.ipt" + IPT_SUFFIX[fam]), "w") as f:
                    f.write(ipt.get(fam, "*filter\nCOMMIT\n"))
            # iif needs the interface to exist: a veth pair named like the lab's.
            # (iptables-nft-restore has no check mode: load it into the throwaway
            # namespace, after the ruleset as the lab does.)
            p = subprocess.run(["unshare", "-n", "sh", "-c",
                                "ip link add eth0 type veth peer name eth1 && "
                                "ip link add veth-ctr type veth peer name eth2 && "
                                'nft -f "$1" && iptables-nft-restore -w <"$2" && '
                                'exec ip6tables-nft-restore -w <"$3"', "sh", path,
                                os.path.join(d, "case.ipt4"), os.path.join(d, "case.ipt6")],
                               capture_output=True, text=True, timeout=30)
            if p.returncode != 0:
                bad += 1
                sys.stderr.write("seed %d: nft -f or iptables-nft-restore failed:\n%s\n%s\n%s\n" % (
                    s, p.stderr, text, "".join(ipt.values())))
    print("%d of %d rulesets rejected by nft or iptables-nft-restore" % (bad, len(seeds)))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--env", action="store_true", help="print the lab's addresses and ports")
    ap.add_argument("--seed", type=int, help="print one case")
    ap.add_argument("--seeds", help="seeds: A-B or A,B,C (with --out or --check)")
    ap.add_argument("--out", help="directory for case-N.nft and case-N.probes")
    ap.add_argument("--probes", type=int, default=20, help="probes per case (default 20)")
    ap.add_argument("--check", action="store_true", help="nft -c each ruleset (root)")
    args = ap.parse_args()
    if args.env:
        sys.stdout.write(env_shell())
        return 0
    if args.seed is not None:
        text, probes, ipt, host = generate(args.seed, args.probes)
        sys.stdout.write(text)
        sys.stdout.write("".join("# host: %s\n" % l for l in host.splitlines()))
        for fam in sorted(ipt):
            sys.stdout.write("".join("# ipt%s: %s\n" % (IPT_SUFFIX[fam], l) for l in ipt[fam].splitlines()))
        sys.stdout.write("# probes: ID FAMILY PROTO SOURCE DESTINATION PORT SPORT\n")
        sys.stdout.write("".join("# %s\n" % p for p in probes))
        return 0
    if not args.seeds:
        ap.error("one of --env, --seed or --seeds is required")
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as e:
        ap.error(str(e))
    if args.check:
        return check(seeds, args.probes)
    if not args.out:
        ap.error("--seeds needs --out or --check")
    os.makedirs(args.out, exist_ok=True)
    for s in seeds:
        text, probes, ipt, host = generate(s, args.probes)
        if host:
            # case-N.host: the server's settings for this case (see HOST_NETS)
            with open(os.path.join(args.out, "case-%d.host" % s), "w") as f:
                f.write(host)
        with open(os.path.join(args.out, "case-%d.nft" % s), "w") as f:
            f.write(text)
        for fam, t in ipt.items():
            # case-N.ipt4 / case-N.ipt6: loaded after case-N.nft (iptables-nft-restore)
            with open(os.path.join(args.out, "case-%d.ipt%s" % (s, IPT_SUFFIX[fam])), "w") as f:
                f.write(t)
        with open(os.path.join(args.out, "case-%d.probes" % s), "w") as f:
            f.write("".join(p + "\n" for p in probes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
