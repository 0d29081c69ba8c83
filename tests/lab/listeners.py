#!/usr/bin/python3
"""Open listening sockets under realistic process names, for the portcheck lab.

usage: listeners.py [--lifetime SECONDS] [--ready-file PATH] [--udp-echo] [--tcp-banner] SPEC...

SPEC is PROTO:ADDRESS:PORT:NAME[:FLAG]...
  PROTO    tcp or udp
  ADDRESS  an IPv4 address, or an IPv6 address in brackets: [::], [2001:db8:1::1]
  NAME     the process name (comm, at most 15 bytes) the socket's owner shows,
           so portcheck reports "sshd", "nginx", ... instead of "python3"
  FLAG     for IPv6 only: "dual" (IPV6_V6ONLY=0, the socket also accepts IPv4,
           like nginx's "listen [::]:80 ipv6only=off") or "v6only" (the default,
           set explicitly so the result does not depend on net.ipv6.bindv6only);
           for any address: "dev=IFNAME" binds the socket to that device
           (SO_BINDTODEVICE, like a daemon's BindToDevice= or bind-interface option)

examples: tcp:0.0.0.0:22:sshd  tcp:[::]:80:nginx:dual  tcp:127.0.0.1:5432:postgres
          tcp:0.0.0.0:9000:app:dev=eth1

Each spec gets its own child process that renames itself, binds, listens and
then accepts and closes connections (TCP) or reads and drops datagrams (UDP).
With --udp-echo, UDP listeners answer each datagram with "ADDRESS PORT\n", the
local address and port it was delivered to (after any DNAT), sent from that very
address (IP_PKTINFO / IPV6_PKTINFO) so that a wildcard socket's reply matches the
client's connected socket and conntrack's reply tuple.
With --tcp-banner, TCP listeners send "ADDRESS PORT\n" on every accepted
connection (its local address and port: where a DNAT took it; an IPv4-mapped
address as plain IPv4), then close it.
The socket is created in the child after the fork, so the child alone owns it.
Once every child is listening the parent prints "ready" on stdout (and writes
the ready file if asked), so callers wait for that instead of sleeping blindly.
If a child fails (address in use, bad spec) the parent prints the error on
stderr, stops the others and exits 1 without printing "ready".

Lifetime is bounded: everything exits after --lifetime seconds (default 600),
on SIGTERM/SIGINT to the parent, or when the parent dies (PR_SET_PDEATHSIG).
"""

import argparse
import ctypes
import os
import select
import signal
import socket
import sys
import time

PR_SET_NAME = 15
PR_SET_PDEATHSIG = 1
# <linux/in.h>, <linux/in6.h>; Python's socket module lacks some of them.
SOL_IP, SOL_IPV6 = 0, 41
IP_PKTINFO = 8
IPV6_RECVPKTINFO, IPV6_PKTINFO = 49, 50

_libc = ctypes.CDLL(None, use_errno=True)


def prctl(option, arg):
    if _libc.prctl(option, ctypes.c_ulong(arg) if isinstance(arg, int) else arg, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def set_comm(name):
    # comm is what sock_diag consumers usually show (/proc/PID/comm); the kernel
    # truncates it to 15 bytes, do the same so there is no surprise.
    prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]))


def parse_spec(spec):
    """Return (proto, family, address, port, name, v6only, device) or raise ValueError."""
    rest = spec
    proto, sep, rest = rest.partition(":")
    if not sep or proto not in ("tcp", "udp"):
        raise ValueError("protocol must be tcp or udp")
    if rest.startswith("["):
        addr, sep, rest = rest[1:].partition("]:")
        if not sep:
            raise ValueError("IPv6 address must be written [ADDR]:PORT")
        family = socket.AF_INET6
    else:
        addr, sep, rest = rest.partition(":")
        if not sep:
            raise ValueError("missing port")
        family = socket.AF_INET
    fields = rest.split(":")
    if len(fields) not in (2, 3, 4):
        raise ValueError("expected PORT:NAME[:FLAG]... after the address")
    port, name = fields[0], fields[1]
    flag, device = None, None
    for f in fields[2:]:
        if f.startswith("dev="):
            if device is not None or not f[4:] or len(f[4:]) > 15:
                raise ValueError("bad or repeated dev= flag %r" % f)
            device = f[4:]
        elif flag is None:
            flag = f
        else:
            raise ValueError("repeated flag %r" % f)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("bad port %r" % port)
    if not name:
        raise ValueError("empty process name")
    socket.inet_pton(family, addr)  # raises OSError on a bad address
    if flag not in (None, "dual", "v6only"):
        raise ValueError("unknown flag %r (dual or v6only)" % flag)
    if flag and family != socket.AF_INET6:
        raise ValueError("flag %r only applies to IPv6 addresses" % flag)
    return proto, family, addr, int(port), name, flag != "dual", device


def child(spec, parsed, lifetime, ready_w, udp_echo=False, tcp_banner=False):
    """Run in the forked child: never returns."""
    proto, family, addr, port, name, v6only, device = parsed
    status = 1
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.alarm(lifetime + 5)  # backstop in case the parent is SIGKILLed
        set_comm(name)
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(family, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
        if device is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        s.bind((addr, port))
        if proto == "tcp":
            s.listen(128)
        elif udp_echo:
            if family == socket.AF_INET6:
                s.setsockopt(SOL_IPV6, IPV6_RECVPKTINFO, 1)
            else:
                s.setsockopt(SOL_IP, IP_PKTINFO, 1)
        os.write(ready_w, b"+")
        os.close(ready_w)
        if proto == "udp" and udp_echo:
            serve_udp_echo(s, family, port)
        serve(s, proto, tcp_banner)
    except BaseException as e:  # report anything, including KeyboardInterrupt
        msg = "%s: %s" % (spec, e)
        try:
            os.write(ready_w, ("!" + msg + "\n").encode())
        except OSError:
            sys.stderr.write("listeners.py: %s\n" % msg)
    finally:
        os._exit(status)


def serve(s, proto, tcp_banner=False):
    while True:
        if proto == "tcp":
            conn, _ = s.accept()
            if tcp_banner:
                try:
                    addr, port = conn.getsockname()[:2]
                    if addr.startswith("::ffff:") and "." in addr:
                        addr = addr[7:]
                    conn.send(("%s %d\n" % (addr, port)).encode())
                except OSError:
                    pass  # the client may be gone already
            conn.close()
        else:
            s.recvfrom(65535)


def serve_udp_echo(s, family, port):
    """Answer every datagram with the local address and port it reached."""
    while True:
        try:
            _, anc, _, peer = s.recvmsg(65535, 256)
        except OSError:
            continue
        local, reply_anc = None, []
        for level, kind, data in anc:
            if level == SOL_IP and kind == IP_PKTINFO and len(data) >= 12:
                # struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
                addr = data[8:12]
                local = socket.inet_ntop(socket.AF_INET, addr)
                reply_anc = [(SOL_IP, IP_PKTINFO, data[:4] + addr + bytes(4))]
            elif level == SOL_IPV6 and kind == IPV6_PKTINFO and len(data) >= 20:
                # struct in6_pktinfo { in6_addr addr; int ifindex; }; the interface
                # too, so that a link-local address (after a redirect) works.
                local = socket.inet_ntop(socket.AF_INET6, data[:16])
                reply_anc = [(SOL_IPV6, IPV6_PKTINFO, data[:20])]
        if local is None:
            continue
        try:
            s.sendmsg([("%s %d\n" % (local, port)).encode()], reply_anc, 0, peer)
        except OSError:
            pass  # the client may be gone; never let one datagram stop the listener


def wait_ready(ready_r, count, timeout):
    """Read one '+' per child; return None when all are ready, else an error text."""
    got = 0
    buf = b""
    deadline = time.monotonic() + timeout
    while got < count:
        left = deadline - time.monotonic()
        if left <= 0:
            return "timed out waiting for the listeners to bind"
        r, _, _ = select.select([ready_r], [], [], left)
        if not r:
            continue
        data = os.read(ready_r, 4096)
        if not data:
            return "a listener exited before it was ready"
        buf += data
        if b"!" in buf:
            # Give the failing child a moment to finish writing its message.
            time.sleep(0.1)
            try:
                buf += os.read(ready_r, 4096)
            except OSError:
                pass
            return buf[buf.index(b"!") + 1:].decode(errors="replace").strip()
        got = buf.count(b"+")
    return None


def stop_children(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lifetime", type=int, default=600,
                    help="exit after this many seconds (default 600)")
    ap.add_argument("--ready-file", help="also create this file once ready")
    ap.add_argument("--udp-echo", action="store_true",
                    help="UDP listeners answer each datagram with the address and port it reached")
    ap.add_argument("--tcp-banner", action="store_true",
                    help="TCP listeners send each connection the address and port it reached")
    ap.add_argument("specs", nargs="+", metavar="SPEC")
    args = ap.parse_args()
    if args.lifetime <= 0:
        ap.error("--lifetime must be positive")

    try:
        parsed = [(spec, parse_spec(spec)) for spec in args.specs]
    except (ValueError, OSError) as e:
        ap.error("bad spec: %s" % e)

    # Turn SIGTERM/SIGINT into an exception so the children are always reaped.
    def on_signal(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ready_r, ready_w = os.pipe()
    pids = []
    try:
        for spec, p in parsed:
            pid = os.fork()
            if pid == 0:
                os.close(ready_r)
                child(spec, p, args.lifetime, ready_w, args.udp_echo, args.tcp_banner)
            pids.append(pid)
        os.close(ready_w)

        err = wait_ready(ready_r, len(pids), timeout=10)
        if err:
            sys.stderr.write("listeners.py: %s\n" % err)
            return 1
        if args.ready_file:
            with open(args.ready_file, "w") as f:
                f.write("ready\n")
        print("ready", flush=True)

        deadline = time.monotonic() + args.lifetime
        while pids and time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            # A child that died (killed by the test, say) is reaped and forgotten.
            for pid in list(pids):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    pids.remove(pid)
        return 0
    finally:
        stop_children(pids)


if __name__ == "__main__":
    sys.exit(main())
