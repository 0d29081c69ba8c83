#!/usr/bin/python3
"""Probe a server with new connections from chosen source addresses; report what came back.

usage: prober.py [--timeout SECONDS] [--sport-base PORT] < PROBES

PROBES: one probe a line, tab- or space-separated:  ID FAMILY PROTO SOURCE DESTINATION PORT [SPORT]
(FAMILY ipv4|ipv6, PROTO tcp|udp; the format diffgen.py writes; SPORT the source
port, 1-65535; without it probe i of the run uses --sport-base + i). Lines
starting with # are ignored. Run it in the client's network namespace; every
SOURCE must be an address of that namespace.

Output: one line per probe, in input order, tab-separated:  ID RESULT DETAIL
  accept  -      TCP: the SYN was answered by a SYN-ACK (connect() succeeded; the
                 detail is then-ERRNO when the client's ACK met an error after that)
  accept  A P    TCP: the same, and the listener's banner came (listeners.py
                 --tcp-banner): A P is the local address and port it was reached on
  accept  A P    UDP: the server's echo listener answered; A P is the local address
                 and port the datagram reached there (after any DNAT)
  rst     -      TCP: answered by a RST (connect() refused, no ICMP error queued)
  icmp    T/C    an ICMP (IPv4) or ICMPv6 (IPv6) error of type T, code C, read from
                 the socket's error queue (IP_RECVERR / IPV6_RECVERR:
                 struct sock_extended_err, ee_origin ICMP/ICMP6, ee_type, ee_code)
  none    -      nothing within the timeout (dropped)
  error   TEXT   the probe could not be sent (a local problem, not an answer)

How: an ordinary socket bound to (SOURCE, sport) with IP_RECVERR set, so the
kernel does the handshake and reports exactly what arrived. TCP: a non-blocking
connect(); SO_LINGER 0 so the connection ends with a RST and leaves nothing in
TIME_WAIT. UDP: a connected socket sends one datagram and waits for the echo or
an error. All probes run at once and the whole run is bounded by --timeout after
the last one is sent (a dropped SYN is retransmitted after 1 s, so keep it at
about 1 s). A probe's source port is its SPORT (the rules may compare it), else
sport-base + its index, so a caller that moves the base between runs never
reuses a 5-tuple that conntrack may still remember; with explicit SPORTs the
caller empties the server's conntrack table between runs instead
(diffcheck.py ct-flush). Two probes of one run with the same protocol, source
address and source port are refused.
"""

import argparse
import errno
import os
import select
import socket
import struct
import sys
import time

SOL_IP, SOL_IPV6 = 0, 41
IP_RECVERR, IPV6_RECVERR = 11, 25
SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 2, 3


class Probe:
    def __init__(self, line):
        f = line.split()
        if len(f) not in (6, 7):
            raise ValueError("expected 6 or 7 fields: ID FAMILY PROTO SOURCE DESTINATION PORT [SPORT]")
        self.id, self.family, self.proto, self.src, self.dst = f[:5]
        self.port = int(f[5])
        self.sport = int(f[6]) if len(f) == 7 else None
        if self.sport is not None and not 1 <= self.sport <= 65535:
            raise ValueError("SPORT must be 1..65535")
        if self.family not in ("ipv4", "ipv6") or self.proto not in ("tcp", "udp"):
            raise ValueError("bad family or protocol")
        self.sock = None
        self.result = None  # (RESULT, DETAIL)
        self.connected = False  # TCP: handshake done, waiting for the banner

    def af(self):
        return socket.AF_INET if self.family == "ipv4" else socket.AF_INET6


def icmp_from_errqueue(s):
    """The first ICMP error on the socket's error queue as "T/C", or None."""
    for _ in range(8):  # bounded: the queue holds one entry per error
        try:
            _, anc, _, _ = s.recvmsg(512, 1024, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return None
        for level, kind, data in anc:
            if (level, kind) in ((SOL_IP, IP_RECVERR), (SOL_IPV6, IPV6_RECVERR)) and len(data) >= 16:
                # struct sock_extended_err { u32 errno; u8 origin, type, code, pad; u32 info, data; }
                _, origin, etype, ecode, _, _, _ = struct.unpack("=IBBBBII", data[:16])
                if origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
                    return "%d/%d" % (etype, ecode)
    return None


def start(p, sport):
    s = socket.socket(p.af(), socket.SOCK_STREAM if p.proto == "tcp" else socket.SOCK_DGRAM)
    p.sock = s
    if p.family == "ipv4":
        s.setsockopt(SOL_IP, IP_RECVERR, 1)
    else:
        s.setsockopt(SOL_IPV6, IPV6_RECVERR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if p.proto == "tcp":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.bind((p.src, sport))
    s.setblocking(False)
    if p.proto == "tcp":
        rc = s.connect_ex((p.dst, p.port))
        if rc not in (0, errno.EINPROGRESS):
            finish_tcp(p, rc)
    else:
        s.connect((p.dst, p.port))
        s.send(("portcheck differential probe %s\n" % p.id).encode())


TCP_CLOSE = 7  # tcpi_state, <netinet/tcp.h>


def tcp_state(s):
    try:
        return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
    except OSError:
        return None


def finish_tcp(p, err):
    """Classify a finished connect(). The SYN's own answer is what counts: when the
    SYN-ACK came, the client's ACK may already have been rejected or reset by the
    time we look (a ruleset that drops or rejects ct state established), which sets
    an error on the established connection; an ICMP port-unreachable then even gives
    the same ECONNREFUSED as a RST to the SYN. But the kernel queues an ICMP error
    on the error queue only while the socket is in SYN_SENT, and an error after the
    handshake leaves the connection ESTABLISHED (a RST after it: ECONNRESET), so:
      ICMP on the error queue            -> the SYN got that ICMP error
      closed with ECONNREFUSED           -> the SYN got a RST
      anything else                      -> the SYN got a SYN-ACK (detail: what came after)"""
    icmp = icmp_from_errqueue(p.sock)
    if icmp:
        p.result = ("icmp", icmp)
    elif err == errno.ECONNREFUSED and tcp_state(p.sock) == TCP_CLOSE:
        p.result = ("rst", "-")
    elif err == 0:
        p.result = ("accept", "-")
    else:
        p.result = ("accept", "then-%s" % errno.errorcode.get(err, str(err)))


def event(p, mask):
    s = p.sock
    if p.proto == "tcp" and p.connected:
        # The SYN's answer is known (a SYN-ACK); the banner only says where it went.
        try:
            words = s.recv(512).decode(errors="replace").split()
            p.result = ("accept", " ".join(words[:2]) if len(words) >= 2 else "-")
        except BlockingIOError:
            return
        except OSError as e:
            p.result = ("accept", "then-%s" % errno.errorcode.get(e.errno, str(e.errno)))
        return
    if p.proto == "tcp":
        finish_tcp(p, s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        if p.result == ("accept", "-"):
            p.result, p.connected = None, True
        return
    if mask & select.POLLERR:
        icmp = icmp_from_errqueue(s)
        if icmp:
            p.result = ("icmp", icmp)
            return
    if mask & select.POLLIN:
        try:
            data = s.recv(512)
        except OSError as e:
            icmp = icmp_from_errqueue(s)
            p.result = ("icmp", icmp) if icmp else ("error", "recv: %s" % e.strerror)
            return
        words = data.decode(errors="replace").split()
        p.result = ("accept", " ".join(words[:2]) if len(words) >= 2 else "-")
        return
    if mask & select.POLLERR:
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        p.result = ("error", "socket error: %s" % os.strerror(err))


def run(probes, timeout, sport_base):
    poller = select.poll()
    byfd = {}
    for i, p in enumerate(probes):
        try:
            start(p, p.sport if p.sport is not None else sport_base + i)
        except OSError as e:
            p.result = ("error", "%s: %s" % (type(e).__name__, e.strerror or e))
        if p.result is None:
            byfd[p.sock.fileno()] = p
            poller.register(p.sock, (select.POLLOUT if p.proto == "tcp" else select.POLLIN)
                            | select.POLLERR)
    deadline = time.monotonic() + timeout
    while byfd:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for fd, mask in poller.poll(max(1, int(left * 1000))):
            p = byfd.get(fd)
            if p is None:
                continue
            was = p.connected
            event(p, mask)
            if p.connected and not was:
                poller.modify(fd, select.POLLIN | select.POLLERR)
            if p.result is not None:
                poller.unregister(fd)
                del byfd[fd]
    for p in probes:
        if p.result is None:
            p.result = ("accept", "-") if p.connected else ("none", "-")
        if p.sock is not None:
            p.sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--timeout", type=float, default=1.0,
                    help="seconds to wait for answers after sending (default 1.0)")
    ap.add_argument("--sport-base", type=int, default=20000,
                    help="source port of probe 0 (probe i uses base + i; default 20000)")
    args = ap.parse_args()
    if not 0 < args.timeout <= 30:
        ap.error("--timeout must be in (0, 30]")
    probes = []
    for n, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            probes.append(Probe(line))
        except ValueError as e:
            ap.error("line %d: %s" % (n, e))
    if len(probes) > 1000:
        ap.error("at most 1000 probes per run")
    if not 1024 <= args.sport_base <= 65535 - len(probes):
        ap.error("--sport-base out of range for %d probes" % len(probes))
    seen = {}
    for i, p in enumerate(probes):
        key = (p.proto, p.src, p.sport if p.sport is not None else args.sport_base + i)
        if key in seen:
            ap.error("probes %s and %s share protocol, source and source port" % (seen[key], p.id))
        seen[key] = p.id
    run(probes, args.timeout, args.sport_base)
    for p in probes:
        print("%s\t%s\t%s" % (p.id, p.result[0], p.result[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
