#!/usr/bin/python3
"""Send malformed and hostile Varlink messages to portcheckd, one connection each.

usage: load_malformed.py SOCKET

Each case must end, within a bound, the way the contract says: a message that is not a
well-formed call gets an error reply (io.portcheck.ProtocolError) and the connection is
closed (or, when the client is still sending and the server stopped reading, reset); a
well-formed call with bad arguments gets its Varlink error and the connection keeps
serving (a GetInfo on it is answered). A hang (neither an answer nor a close within
BOUND seconds) is a failure. After all cases a fresh connection's GetInfo and Status are
answered: the daemon survived.

Prints PASS/FAIL per case; exit status 1 if any failed.
"""

import json
import random
import socket
import sys
import time

BOUND = 10.0  # seconds a case may take
PROTOCOL_ERROR = "io.portcheck.ProtocolError"

failed = False


def report(ok, what, detail=""):
    global failed
    if ok:
        print("PASS: malformed: " + what)
    else:
        failed = True
        print("FAIL: malformed: %s%s" % (what, ": " + detail if detail else ""), file=sys.stderr)


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(BOUND)
    s.connect(path)
    return s


def send_all(s, data, deadline):
    """Send what the server takes; returns None, or why sending stopped early."""
    view = memoryview(data)
    while view:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            n = s.send(view[:65536])
        except socket.timeout:
            return "send timed out (the server stopped reading without closing)"
        except (BrokenPipeError, ConnectionResetError) as e:
            return "server closed while we sent (%s)" % e.__class__.__name__
        view = view[n:]
    return None


def read_messages(s, deadline, want=None):
    """Read until EOF, reset, `want` messages, or the deadline.

    Returns (messages, end) where end is "eof", "reset", "enough" or "timeout".
    """
    buf, msgs = b"", []
    while True:
        if want is not None and len(msgs) >= want:
            return msgs, "enough"
        left = deadline - time.monotonic()
        if left <= 0:
            return msgs, "timeout"
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return msgs, "timeout"
        except ConnectionResetError:
            return msgs, "reset"
        if not chunk:
            return msgs, "eof"
        buf += chunk
        while b"\0" in buf:
            m, buf = buf.split(b"\0", 1)
            msgs.append(m)


def error_name(raw):
    try:
        j = json.loads(raw)
    except ValueError:
        return "(not JSON: %r)" % raw[:80]
    if not isinstance(j, dict):
        return "(not an object)"
    return j.get("error")


def call(s, method, params=None):
    s.sendall(json.dumps({"method": method, "parameters": params or {}}).encode() + b"\0")


def case_protocol_error(path, what, payload, after=None):
    """Not a well-formed call: a ProtocolError reply (if the server got to send it before
    we saw the reset) and a close; never a hang, never a normal reply."""
    deadline = time.monotonic() + BOUND
    s = connect(path)
    try:
        why = send_all(s, payload, deadline)
        if after == "shut":
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        msgs, end = read_messages(s, deadline)
    finally:
        s.close()
    names = [error_name(m) for m in msgs]
    if end == "timeout":
        report(False, what, "neither answered nor closed within %.0f s (replies %s%s)" %
               (BOUND, names, "; " + why if why else ""))
    elif any(n != PROTOCOL_ERROR for n in names):
        report(False, what, "want only %s, got %s" % (PROTOCOL_ERROR, names))
    elif not names and end != "reset" and not why:
        report(False, what, "closed without the %s reply" % PROTOCOL_ERROR)
    else:
        report(True, "%s: %s, %s" % (what, names[0] if names else "no reply", end))


def case_call_error(path, what, payload, want_error):
    """A well-formed call with bad arguments: its error, and the connection still serves."""
    deadline = time.monotonic() + BOUND
    s = connect(path)
    try:
        s.sendall(payload)
        msgs, end = read_messages(s, deadline, want=1)
        if end != "enough":
            report(False, what, "no reply (%s)" % end)
            return
        name = error_name(msgs[0])
        if name != want_error:
            report(False, what, "want %s, got %s" % (want_error, msgs[0][:300]))
            return
        call(s, "org.varlink.service.GetInfo")
        msgs, end = read_messages(s, deadline, want=1)
        if end != "enough" or error_name(msgs[0]) is not None:
            report(False, what, "after the error the connection no longer serves (%s %s)" %
                   (end, msgs[:1]))
            return
        report(True, "%s: %s, and the connection still serves" % (what, name))
    finally:
        s.close()


def case_close_early(path, what, payload):
    """Send and close at once, reading nothing: only the daemon's survival counts."""
    s = connect(path)
    try:
        send_all(s, payload, time.monotonic() + BOUND)
    finally:
        s.close()
    report(True, what + ": sent and closed")


def case_pipelined(path, n):
    """n GetInfo calls in one write: each answered in order, until the per-connection
    request limit (if any) ends the connection with a ProtocolError."""
    deadline = time.monotonic() + BOUND
    s = connect(path)
    try:
        payload = (json.dumps({"method": "org.varlink.service.GetInfo"}).encode() + b"\0") * n
        why = send_all(s, payload, deadline)
        msgs, end = read_messages(s, deadline, want=n)
    finally:
        s.close()
    names = [error_name(m) for m in msgs]
    good = names.count(None)
    tail = names[good:]
    what = "%d pipelined GetInfo calls" % n
    if names[:good] != [None] * good or tail not in ([], [PROTOCOL_ERROR]):
        report(False, what, "replies out of order or unexpected: %s" % sorted(set(map(str, names))))
    elif end == "timeout":
        report(False, what, "stalled after %d replies (%s)" % (len(msgs), why or "sent all"))
    else:
        report(True, "%s: %d answered%s" % (what, good, ", then " + tail[0] if tail else ""))


def main():
    path = sys.argv[1]
    rnd = random.Random(10)  # reproducible garbage
    garbage = bytes(rnd.randrange(256) for _ in range(8192))
    status = b'{"method":"io.portcheck.Status","parameters":{}}'

    case_protocol_error(path, "invalid JSON", b'{"method":\0')
    case_protocol_error(path, "JSON that is not an object", b"[1, 2, 3]\0")
    case_protocol_error(path, "an empty message", b"\0")
    case_protocol_error(path, "a method that is not a string", b'{"method": 1}\0')
    case_protocol_error(path, "invalid UTF-8 in the method", b'{"method":"io.portcheck.\xff\xfe"}\0')
    case_protocol_error(path, "60,000 nested arrays", b"[" * 60000 + b"\0")
    case_protocol_error(path, "no NUL, then end of input", status, after="shut")
    case_protocol_error(path, "1 MiB without a NUL", b"a" * (1 << 20))
    case_protocol_error(path, "a 100 KiB call", b'{"method":"io.portcheck.Status","parameters":'
                        b'{"pad":"' + b"a" * 100000 + b'"}}\0')
    case_protocol_error(path, "8 KiB of binary garbage", garbage)
    case_call_error(path, "an unknown parameter",
                    b'{"method":"io.portcheck.Status","parameters":{"bogus":true}}\0',
                    "org.varlink.service.InvalidParameter")
    case_call_error(path, "fresh that is not a boolean",
                    b'{"method":"io.portcheck.Status","parameters":{"fresh":"yes"}}\0',
                    "org.varlink.service.InvalidParameter")
    case_call_error(path, "an unknown method", b'{"method":"io.portcheck.Nope"}\0',
                    "org.varlink.service.MethodNotFound")
    case_close_early(path, "no NUL, then close", status)
    case_close_early(path, "a oneway Status, then close", b'{"method":"io.portcheck.Status",'
                     b'"oneway":true}\0')
    case_close_early(path, "garbage, then close", garbage[:1000])
    case_pipelined(path, 1100)

    # The daemon survived: a fresh connection is served.
    s = connect(path)
    try:
        deadline = time.monotonic() + 30
        call(s, "org.varlink.service.GetInfo")
        msgs, end = read_messages(s, deadline, want=1)
        ok = end == "enough" and json.loads(msgs[0]).get("parameters", {}).get("product") == "portcheck"
        report(ok, "afterwards GetInfo is answered", "%s %s" % (end, msgs[:1]))
        call(s, "io.portcheck.Status")
        msgs, end = read_messages(s, deadline, want=1)
        ok = end == "enough" and isinstance(json.loads(msgs[0]).get("parameters", {}).get("listeners"), list)
        report(ok, "afterwards Status is answered", "%s %s" % (end, [m[:300] for m in msgs[:1]]))
    finally:
        s.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
