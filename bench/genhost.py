#!/usr/bin/python3
"""Generate the bench host for bench/run.sh: an nftables ruleset, or the listeners.

usage: genhost.py ruleset --elements N [--doc-only] > FILE    the ruleset (nft -f FILE, in the namespace)
       genhost.py listen --lifetime SECONDS [--ready-file PATH]

The ruleset (one inet table, "pcbench", replaced as a whole: the file deletes the table
first, if it exists, in the same transaction; nothing else is touched):
  set block4   ipv4_addr, interval: N prefixes and ranges (a blocklist), matched on ip saddr
  set allow4   ipv4_addr . inet_service, interval: N elements (an allowlist), on ip saddr . tcp dport
  map svc      inet_service : verdict, interval: 500 port ranges, each a jump to a chain
  chain input  base chain (hook input, policy drop): conntrack, loopback, ICMP, the two
               lookups, the verdict map dispatch by iifname and port, a final reject
  chains svc0..svc499: 100 rules each (10 per port: counters, flags, marks, source
               prefixes, accept / drop / reject), 50,000 rules in all

With --doc-only (bench/snapshot.sh) every address is a documentation one:
  set block4   ipv4_addr, interval: min(N, 65,536) single addresses, every other address of
               198.18.0.0/15 (2 kernel elements each)
  set block6   ipv6_addr, interval: N prefixes and ranges in 2001:db8::/32, matched on ip6 saddr
  allow4 as above; the input chain gains `ip6 saddr @block6 counter drop`.

Addresses: block4 elements lie in 240.0.0.0/4 (reserved "Class E": 200,000 disjoint
ranges do not fit in the documentation ranges; they are match data only, never configured,
routed or sent to); allow4 in 198.18.0.0/15; rule prefixes in 198.18.0.0/15 and
2001:db8::/32.

The listeners: 5,000 TCP sockets in this one process, ports 10000-14999: 2,500 on 0.0.0.0
and 2,500 on [::] without IPV6_V6ONLY (both families). "ready" on stdout (and the ready
file) once all listen; exits after --lifetime seconds, on SIGTERM, or when its parent dies.
"""

import argparse
import ctypes
import ipaddress
import os
import resource
import signal
import socket
import sys
import time

PORT_BASE = 10000
N_PORTS = 5000
N_CHAINS = 500
PORTS_PER_CHAIN = N_PORTS // N_CHAINS  # 10, with 10 rules each: 100 rules per chain

CLASS_E = int(ipaddress.IPv4Address("240.0.0.0"))
BENCH_NET = int(ipaddress.IPv4Address("198.18.0.0"))  # 198.18.0.0/15


def ip4(n):
    return str(ipaddress.IPv4Address(n))


def block4_elements(n):
    """n disjoint elements, one per 256-address block of 240.0.0.0/4, with gaps between."""
    if n > (1 << 20):
        raise SystemExit("block4: at most 1048576 elements fit in 240.0.0.0/4")
    out = []
    for i in range(n):
        base = CLASS_E + i * 256
        k = i % 4
        if k == 0:
            out.append(f"{ip4(base)}/25")
        elif k == 1:
            out.append(ip4(base + 7))
        elif k == 2:
            out.append(f"{ip4(base + 10)}-{ip4(base + 99)}")
        else:
            out.append(f"{ip4(base + 128)}/28")
    return out


def block4_doc_elements(n):
    """min(n, 65536) single addresses of 198.18.0.0/15, every other one (never adjacent)."""
    return [ip4(BENCH_NET + 2 * i) for i in range(min(n, 65536))]


def block6_elements(n):
    """n disjoint prefixes and ranges of 2001:db8::/32, one per /64 (16 bits of subnet per
    /48: 2001:db8:XXXX:YYYY::), with gaps between."""
    if n > (1 << 32):
        raise SystemExit("block6: too many elements")
    out = []
    for i in range(n):
        net = f"2001:db8:{(i >> 16) & 0xffff:x}:{i & 0xffff:x}"
        k = i % 3
        if k == 0:
            out.append(f"{net}::/80")
        elif k == 1:
            out.append(f"{net}::7")
        else:
            out.append(f"{net}::10-{net}::99")
    return out


def allow4_elements(n):
    """n (address . port) pairs: two ports per address of 198.18.0.0/15."""
    if n > 2 * 131072:
        raise SystemExit("allow4: at most 262144 elements fit in 198.18.0.0/15 x 2 ports")
    out = []
    for i in range(n):
        port = PORT_BASE + (i * 37) % N_PORTS
        out.append(f"{ip4(BENCH_NET + (i >> 1))} . {port}")
    return out


def emit_set_elements(w, elems, per_line=8):
    w("\t\telements = {\n")
    for i in range(0, len(elems), per_line):
        w("\t\t\t" + ", ".join(elems[i:i + per_line]) + ",\n")
    w("\t\t}\n")


def ruleset(n, w, doc_only=False):
    # Create-then-delete: the table is gone whether or not it existed, in this transaction.
    w("table inet pcbench {}\n")
    w("delete table inet pcbench\n")
    w("table inet pcbench {\n")
    w("\tset block4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n")
    if n:
        emit_set_elements(w, block4_doc_elements(n) if doc_only else block4_elements(n))
    w("\t}\n")
    if doc_only:
        w("\tset block6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n")
        if n:
            emit_set_elements(w, block6_elements(n), per_line=4)
        w("\t}\n")
    w("\tset allow4 {\n\t\ttype ipv4_addr . inet_service\n\t\tflags interval\n")
    if n:
        emit_set_elements(w, allow4_elements(n))
    w("\t}\n")
    w("\tmap svc {\n\t\ttype inet_service : verdict\n\t\tflags interval\n")
    vm = []
    for c in range(N_CHAINS):
        lo = PORT_BASE + c * PORTS_PER_CHAIN
        vm.append(f"{lo}-{lo + PORTS_PER_CHAIN - 1} : jump svc{c}")
    emit_set_elements(w, vm, per_line=4)
    w("\t}\n")
    w("\tchain input {\n")
    w("\t\ttype filter hook input priority filter; policy drop;\n")
    w("\t\tct state established,related accept\n")
    w("\t\tct state invalid drop\n")
    w('\t\tiif "lo" accept\n')
    w("\t\tmeta l4proto { icmp, ipv6-icmp } accept\n")
    w("\t\tip saddr @block4 counter drop\n")
    if doc_only:
        w("\t\tip6 saddr @block6 counter drop\n")
    w("\t\tip saddr . tcp dport @allow4 counter accept\n")
    w('\t\tiifname "eth0" tcp dport vmap @svc\n')
    w("\t\tcounter reject with icmpx admin-prohibited\n")
    w("\t}\n")
    for c in range(N_CHAINS):
        w(f"\tchain svc{c} {{\n")
        v4 = ip4(BENCH_NET + c * 256)  # 198.18.0.0/24 ... 198.19.243.0/24
        for j in range(PORTS_PER_CHAIN):
            p = PORT_BASE + c * PORTS_PER_CHAIN + j
            w(f"\t\ttcp dport {p} counter\n")
            w(f"\t\ttcp dport {p} tcp flags & (fin|syn|rst|ack) != syn counter drop\n")
            w(f"\t\ttcp dport {p} meta mark 0x0000002a counter accept\n")
            if j == 0:
                w(f"\t\tip saddr {v4}/24 tcp dport {p} counter accept\n")
                w(f"\t\tip6 saddr 2001:db8:{c + 0x100:x}::/48 tcp dport {p} counter accept\n")
            else:
                w(f'\t\ttcp dport {p} iifname "eth1" counter accept\n')
                w(f'\t\ttcp dport {p} iifname "eth2" counter accept\n')
            w(f"\t\tudp dport {p} counter accept\n")
            w(f"\t\ttcp dport {p} ct status dnat counter accept\n")
            w(f"\t\ttcp dport {p} meta nfproto ipv4 counter\n")
            if p % 7 == 0:
                w(f"\t\ttcp dport {p} counter drop\n")
            else:
                w(f"\t\ttcp dport {p} ct state new counter accept\n")
            w(f"\t\ttcp dport {p} counter reject with tcp reset\n")
        w("\t}\n")
    w("}\n")


def listen(lifetime, ready_file):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    libc.prctl(15, b"bench-listener", 0, 0, 0)  # PR_SET_NAME
    if os.getppid() == 1:
        sys.exit(1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = N_PORTS + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    socks = []
    for i in range(N_PORTS):
        port = PORT_BASE + i
        if i < N_PORTS // 2:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            addr = ("0.0.0.0", port)
        else:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            addr = ("::", port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(addr)
        s.listen(4)
        socks.append(s)
    print("ready", flush=True)
    if ready_file:
        with open(ready_file, "w") as f:
            f.write("ready\n")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    time.sleep(lifetime)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["ruleset", "listen"])
    ap.add_argument("--elements", type=int, default=200000)
    ap.add_argument("--lifetime", type=int, default=600)
    ap.add_argument("--ready-file")
    ap.add_argument("--doc-only", action="store_true",
                    help="documentation addresses only (block4 in 198.18.0.0/15, block6)")
    a = ap.parse_args()
    if a.what == "listen":
        listen(a.lifetime, a.ready_file)
        return
    buf = []
    ruleset(a.elements, buf.append, a.doc_only)
    sys.stdout.write("".join(buf))


if __name__ == "__main__":
    main()
