#!/usr/bin/python3
"""tests/lab/srcform.py (the decider of a path's "sources" form) on hand-written forms
and set listings in nft -j's shapes. No root, no nft.

usage: test_srcform.py [SRCFORM_PY]   (default: tests/lab/srcform.py of this tree; another
                                       file to check that a mutant of it is caught)
Prints one line per failed check and "N passed, N failed"; exit status 1 on a failure.
"""

import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "lab", "srcform.py")
spec = importlib.util.spec_from_file_location("srcform", path)
sf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sf)

passed = failed = 0


def check(name, got, want):
    """got may be a callable: an exception it raises is a failure of this check only."""
    global passed, failed
    if callable(got):
        try:
            got = got()
        except Exception as e:  # noqa: BLE001
            got = "raised %s: %s" % (type(e).__name__, e)
    if got == want:
        passed += 1
    else:
        failed += 1
        print("FAIL %s: got %r, want %r" % (name, got, want))


def _uncaught(kind, e, tb):
    """A check that raised outside check()/raises(): one more failure, and the count."""
    import traceback
    traceback.print_exception(kind, e, tb)
    print("FAIL uncaught %s: %s" % (kind.__name__, e))
    print("test_srcform: %d passed, %d failed (stopped early)" % (passed, failed + 1))
    sys.exit(1)


sys.excepthook = _uncaught


def raises(name, fn):
    global passed, failed
    try:
        r = fn()
    except sf.SrcFormError:
        passed += 1
        return
    except Exception as e:  # noqa: BLE001 (any other exception is a bug of the decider)
        failed += 1
        print("FAIL %s: raised %s: %s, want SrcFormError" % (name, type(e).__name__, e))
        return
    failed += 1
    print("FAIL %s: returned %r, want SrcFormError" % (name, r))


def form(*conjs):
    return {"version": 1, "any_of": [{"all_of": list(c)} for c in conjs],
            "example": {"address": "203.0.113.1", "port": 40000}}


# A ruleset listing in the shapes `nft -j list ruleset` prints (nft 1.0.6): plain values,
# prefixes, ranges, concatenations, {"elem": {"val": ...}} wrappers (counters,
# timeouts, comments), map elements [key, data], verdict data, an empty set, a catch-all.
RULESET = {"nftables": [
    {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
    {"table": {"family": "inet", "name": "t", "handle": 1}},
    {"set": {"family": "inet", "name": "a4", "table": "t", "type": "ipv4_addr", "handle": 2,
             "flags": ["interval"],
             "elem": [{"prefix": {"addr": "192.0.2.0", "len": 28}},
                      {"range": ["198.18.0.1", "198.18.0.9"]}, "203.0.113.7"]}},
    {"set": {"family": "inet", "name": "p", "table": "t", "type": "inet_service",
             "flags": ["interval"], "elem": [22, {"range": [1024, 2047]}]}},
    {"set": {"family": "inet", "name": "c", "table": "t", "type": ["ipv4_addr", "inet_service"],
             "flags": ["interval"],
             "elem": [{"concat": [{"prefix": {"addr": "192.0.2.0", "len": 24}}, 80]},
                      {"concat": [{"prefix": {"addr": "198.18.0.0", "len": 15}},
                                  {"range": [1000, 2000]}]}]}},
    {"set": {"family": "inet", "name": "c6", "table": "t", "type": ["ipv6_addr", "inet_service"],
             "flags": ["interval"],
             "elem": [{"concat": [{"prefix": {"addr": "2001:db8::", "len": 32}},
                                  {"range": [80, 90]}]}]}},
    # address . source port . destination port: two concrete parts around the symbolic ones
    {"set": {"family": "ip", "name": "asp", "table": "f",
             "type": ["ipv4_addr", "inet_service", "inet_service"], "flags": ["interval"],
             "elem": [{"concat": ["192.0.2.5", {"range": [30000, 39999]}, 443]},
                      {"concat": [{"range": ["192.0.2.0", "192.0.2.255"]}, 53, 53]}]}},
    {"set": {"family": "inet", "name": "h", "table": "t", "type": "ipv4_addr",
             "elem": [{"elem": {"val": "192.0.2.5", "counter": {"packets": 0, "bytes": 0}}},
                      {"elem": {"val": "192.0.2.6", "timeout": 60, "expires": 30}}]}},
    {"set": {"family": "ip6", "name": "b6", "table": "f", "type": "ipv6_addr",
             "flags": ["interval"],
             "elem": [{"prefix": {"addr": "2001:db8:2::", "len": 48}},
                      {"elem": {"val": {"range": ["2001:db8:8000::1", "2001:db8:8000::ff"]},
                                "comment": "x"}}]}},
    {"map": {"family": "inet", "name": "v", "table": "t", "type": "ipv4_addr", "map": "verdict",
             "flags": ["interval"],
             "elem": [[{"prefix": {"addr": "198.18.0.0", "len": 15}}, {"jump": {"target": "c1"}}],
                      [{"prefix": {"addr": "192.0.2.0", "len": 28}}, {"drop": None}],
                      [{"range": ["192.0.2.16", "192.0.2.20"]}, {"accept": None}],
                      [{"elem": {"val": "192.0.2.30", "counter": {"packets": 1, "bytes": 60}}},
                       {"goto": {"target": "c2"}}]]}},
    # a verdict map on address . source port
    {"map": {"family": "ip", "name": "vp", "table": "f", "type": ["ipv4_addr", "inet_service"],
             "map": "verdict", "flags": ["interval"],
             "elem": [[{"concat": [{"prefix": {"addr": "192.0.2.0", "len": 24}},
                                   {"range": [1024, 4999]}]}, {"accept": None}],
                      [{"concat": [{"prefix": {"addr": "192.0.2.0", "len": 24}},
                                   {"range": [5000, 65535]}]}, {"drop": None}]]}},
    # elements that overlap with different verdicts: not decidable from the listing
    {"map": {"family": "ip", "name": "vo", "table": "f", "type": "ipv4_addr", "map": "verdict",
             "flags": ["interval"],
             "elem": [[{"prefix": {"addr": "192.0.2.0", "len": 24}}, {"accept": None}],
                      [{"prefix": {"addr": "192.0.2.0", "len": 28}}, {"drop": None}],
                      [{"prefix": {"addr": "198.18.0.0", "len": 24}}, {"drop": None}],
                      [{"prefix": {"addr": "198.18.0.0", "len": 28}}, {"drop": None}]]}},
    {"map": {"family": "inet", "name": "d", "table": "t", "type": "ipv4_addr", "map": "ipv4_addr",
             "elem": [["192.0.2.9", "198.51.100.2"]]}},
    {"set": {"family": "inet", "name": "e", "table": "t", "type": "ipv4_addr",
             "flags": ["interval"]}},
    {"set": {"family": "ip", "name": "all", "table": "f", "type": "ipv4_addr", "elem": ["*"]}},
    {"set": {"family": "inet", "name": "ifa", "table": "t", "type": ["ifname", "ipv4_addr"],
             "flags": ["interval"],
             "elem": [{"concat": ["eth0", {"prefix": {"addr": "192.0.2.0", "len": 24}}]}]}},
    {"chain": {"family": "inet", "table": "t", "name": "c1", "handle": 1}},
]}

sets = sf.load_sets(json.dumps(RULESET))  # (its text, as nft prints it)
check("load_sets keys", sorted(sets), sorted([
    ("inet", "t", "a4"), ("inet", "t", "p"), ("inet", "t", "c"), ("inet", "t", "c6"),
    ("ip", "f", "asp"), ("inet", "t", "h"), ("ip6", "f", "b6"), ("inet", "t", "v"),
    ("ip", "f", "vp"), ("ip", "f", "vo"), ("inet", "t", "d"), ("inet", "t", "e"),
    ("ip", "f", "all"), ("inet", "t", "ifa")]))
check("load_sets a dict and a list of outputs", sorted(sf.load_sets([RULESET, RULESET])),
      sorted(sets))


def d(f, a, p=40000):
    return sf.decide(f, a, p, sets)


def S(fam, table, name, key, data=None, neg=False):
    lit = {"set": {"family": fam, "table": table, "name": name, "elements": 3, "key": key}}
    if data is not None:
        lit["set"]["data"] = data
    if neg:
        lit["not"] = True
    return lit


# --- every literal kind, held and not held, at the bounds --------------------------
A = {"address": ["192.0.2.8", "192.0.2.15"]}
check("address at LO", d(form([A]), "192.0.2.8"), True)
check("address at HI", d(form([A]), "192.0.2.15"), True)
check("address below", d(form([A]), "192.0.2.7"), False)
check("address above", d(form([A]), "192.0.2.16"), False)
A6 = {"address": ["2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"]}
check("IPv6 address in", d(form([A6]), "2001:db8:1::5"), True)
check("IPv6 address out", d(form([A6]), "2001:db9::"), False)
check("IPv6 address, other spelling", d(form([{"address": ["2001:DB8:0::0", "2001:db8::ff"]}]),
                                        "2001:0db8::00ff"), True)
P = {"port": [1024, 2047]}
check("port at LO", d(form([P]), "192.0.2.1", 1024), True)
check("port at HI", d(form([P]), "192.0.2.1", 2047), True)
check("port below", d(form([P]), "192.0.2.1", 1023), False)
check("port above", d(form([P]), "192.0.2.1", 2048), False)
M = {"address_mask": {"mask": "0.0.0.1", "value": "0.0.0.1"}}
check("address_mask odd", d(form([M]), "192.0.2.9"), True)
check("address_mask even", d(form([M]), "192.0.2.8"), False)
M6 = {"address_mask": {"mask": "::ff", "value": "::5"}}
check("IPv6 address_mask holds", d(form([M6]), "2001:db8:1::105"), True)
check("IPv6 address_mask not", d(form([M6]), "2001:db8:1::6"), False)
PM = {"port_mask": {"mask": 3, "value": 2}}
check("port_mask holds", d(form([PM]), "192.0.2.1", 40002), True)
check("port_mask not", d(form([PM]), "192.0.2.1", 40003), False)

# sets: a plain value, a prefix, a range, at their bounds
SA = S("inet", "t", "a4", ["address"])
for a, want in (("192.0.2.0", True), ("192.0.2.15", True), ("192.0.2.16", False),
                ("198.18.0.1", True), ("198.18.0.9", True), ("198.18.0.0", False),
                ("198.18.0.10", False), ("203.0.113.7", True), ("203.0.113.8", False)):
    check("set a4 %s" % a, d(form([SA]), a), want)
check("set of ports: plain", d(form([S("inet", "t", "p", ["port"])]), "192.0.2.1", 22), True)
check("set of ports: range", d(form([S("inet", "t", "p", ["port"])]), "192.0.2.1", 2047), True)
check("set of ports: out", d(form([S("inet", "t", "p", ["port"])]), "192.0.2.1", 23), False)
check("elem wrapper (counter)", d(form([S("inet", "t", "h", ["address"])]), "192.0.2.5"), True)
check("elem wrapper (timeout)", d(form([S("inet", "t", "h", ["address"])]), "192.0.2.6"), True)
check("elem wrapper: other", d(form([S("inet", "t", "h", ["address"])]), "192.0.2.7"), False)
check("elem wrapper around a range", d(form([S("ip6", "f", "b6", ["address"])]),
                                       "2001:db8:8000::ff"), True)
check("IPv6 prefix element", d(form([S("ip6", "f", "b6", ["address"])]), "2001:db8:2:ffff::1"),
      True)
check("IPv6 set: out", d(form([S("ip6", "f", "b6", ["address"])]), "2001:db8:8000::100"), False)
check("empty set", d(form([S("inet", "t", "e", ["address"])]), "192.0.2.1"), False)
check("empty set, not", d(form([S("inet", "t", "e", ["address"], neg=True)]), "192.0.2.1"), True)
check("catch-all element", d(form([S("ip", "f", "all", ["address"])]), "203.0.113.1"), True)
check("map without data: membership", d(form([S("inet", "t", "d", ["address"])]), "192.0.2.9"),
      True)

AI = {"address_in": [["192.0.2.0", "192.0.2.3"], ["198.18.0.0", "198.19.255.255"]]}
check("address_in first range", d(form([AI]), "192.0.2.3"), True)
check("address_in second range", d(form([AI]), "198.19.255.255"), True)
check("address_in between", d(form([AI]), "192.0.2.4"), False)
check("address_in empty list", d(form([{"address_in": []}]), "192.0.2.4"), False)
check("IPv6 address_in", d(form([{"address_in": [["2001:db8:1::", "2001:db8:1::ff"]]}]),
                           "2001:db8:1::9"), True)
PI = {"port_in": [[22, 22], [1024, 2047]]}
check("port_in single", d(form([PI]), "192.0.2.1", 22), True)
check("port_in range end", d(form([PI]), "192.0.2.1", 2047), True)
check("port_in out", d(form([PI]), "192.0.2.1", 23), False)
raises("address_in not a list of pairs", lambda: d(form([{"address_in": ["192.0.2.1"]}]),
                                                   "192.0.2.1"))
raises("port_in not a list of pairs", lambda: d(form([{"port_in": [[1, 2, 3]]}]), "192.0.2.1", 1))
raises("address_in with an IPv6 range on IPv4", lambda: d(form([{"address_in": [
    ["192.0.2.0", "192.0.2.3"], ["2001:db8::", "2001:db8::1"]]}]), "192.0.2.1"))

# --- "not" on every kind -------------------------------------------------------------
for name, lit, a, p in (("address", A, "192.0.2.8", 40000), ("port", P, "192.0.2.1", 1024),
                        ("address_mask", M, "192.0.2.9", 40000),
                        ("port_mask", PM, "192.0.2.1", 40002), ("set", SA, "192.0.2.1", 40000),
                        ("address_in", AI, "192.0.2.1", 1), ("port_in", PI, "192.0.2.1", 22)):
    neg = dict(lit, **{"not": True})
    check("not %s (held)" % name, d(form([neg]), a, p), False)
    check("not %s (plain holds)" % name, d(form([lit]), a, p), True)
check("not false is plain", d(form([dict(A, **{"not": False})]), "192.0.2.8"), True)
check("not address, outside", d(form([dict(A, **{"not": True})]), "192.0.2.200"), True)

# --- conjunctions and disjunctions ---------------------------------------------------
check("empty all_of holds", d(form([]), "203.0.113.1"), True)
check("empty all_of holds for IPv6", d(form([]), "2001:db8::1", 1), True)
check("empty any_of never", d({"version": 1, "any_of": []}, "203.0.113.1"), False)
check("all_of: both", d(form([A, P]), "192.0.2.9", 1500), True)
check("all_of: one fails", d(form([A, P]), "192.0.2.9", 3000), False)
check("any_of: second", d(form([A, P], [M]), "192.0.2.1", 3000), True)
check("any_of: none", d(form([A, P], [M]), "192.0.2.2", 3000), False)
check("the form as JSON text", d(json.dumps(form([A])), "192.0.2.8"), True)

# --- concatenations with a concrete part ---------------------------------------------
C80 = S("inet", "t", "c", ["address", 80])
check("concat . 80: in", d(form([C80]), "192.0.2.77"), True)
check("concat . 80: address out", d(form([C80]), "192.0.3.1"), False)
C1500 = S("inet", "t", "c", ["address", 1500])
check("concat . 1500: prefix and range", d(form([C1500]), "198.19.255.254"), True)
check("concat . 1500: not the /24", d(form([C1500]), "192.0.2.77"), False)
check("concat . 2001: past the range", d(form([S("inet", "t", "c", ["address", 2001])]),
                                          "198.18.0.1"), False)
check("concat . \"80\" (a string)", d(form([S("inet", "t", "c", ["address", "80"])]),
                                      "192.0.2.1"), True)
check("IPv6 concat . 85", d(form([S("inet", "t", "c6", ["address", 85])]), "2001:db8:5::1"), True)
check("IPv6 concat . 91", d(form([S("inet", "t", "c6", ["address", 91])]), "2001:db8:5::1"), False)
ASP = S("ip", "f", "asp", ["address", "port", 443])
check("address . sport . 443: in", d(form([ASP]), "192.0.2.5", 30000), True)
check("address . sport . 443: sport out", d(form([ASP]), "192.0.2.5", 40000), False)
check("address . sport . 443: address out", d(form([ASP]), "192.0.2.6", 30000), False)
check("address . sport . 53", d(form([S("ip", "f", "asp", ["address", "port", 53])]),
                                "192.0.2.200", 53), True)
check("a concrete address part", d(form([S("ip", "f", "asp", ["192.0.2.5", "port", 443])]),
                                   "203.0.113.1", 35000), True)

# --- verdict maps -----------------------------------------------------------------
V = lambda data, neg=False: S("inet", "t", "v", ["address"], data, neg)  # noqa: E731
check("vmap drop", d(form([V({"drop": None})]), "192.0.2.3"), True)
check("vmap drop, not accept", d(form([V({"accept": None})]), "192.0.2.3"), False)
check("vmap accept (range)", d(form([V({"accept": None})]), "192.0.2.20"), True)
check("vmap jump", d(form([V({"jump": {"target": "c1"}})]), "198.19.2.3"), True)
check("vmap jump elsewhere", d(form([V({"jump": {"target": "c2"}})]), "198.19.2.3"), False)
check("vmap goto in an elem wrapper", d(form([V({"goto": {"target": "c2"}})]), "192.0.2.30"),
      True)
check("vmap no match", d(form([V({"drop": None})]), "192.0.2.25"), False)
check("vmap no match, not drop", d(form([V({"drop": None}, True)]), "192.0.2.25"), True)
check("vmap membership", d(form([S("inet", "t", "v", ["address"], neg=True)]), "192.0.2.25"),
      True)
VP = lambda data: S("ip", "f", "vp", ["address", "port"], data)  # noqa: E731
check("vmap on address . sport: accept", d(form([VP({"accept": None})]), "192.0.2.1", 4999),
      True)
check("vmap on address . sport: drop", d(form([VP({"drop": None})]), "192.0.2.1", 5000), True)
check("vmap on address . sport: low port", d(form([VP({"drop": None})]), "192.0.2.1", 1023),
      False)
check("overlap with equal data", d(form([S("ip", "f", "vo", ["address"], {"drop": None})]),
                                   "198.18.0.1"), True)
# data maps: the value as "0x" and hex (an address as its integer), or as nft -j writes it
DM = lambda data: S("inet", "t", "d", ["address"], data)  # noqa: E731
check("data map, hex address", d(form([DM("0xc6336402")]), "192.0.2.9"), True)
check("data map, other hex", d(form([DM("0xc6336403")]), "192.0.2.9"), False)
check("data map, nft's form", d(form([DM("198.51.100.2")]), "192.0.2.9"), True)
check("data map, no element", d(form([DM("0xc6336402")]), "192.0.2.10"), False)
check("data map, a verdict wanted", d(form([DM({"accept": None})]), "192.0.2.9"), False)
check("vmap, a value wanted", d(form([V("0x1")]), "192.0.2.3"), False)
raises("data map, bad hex", lambda: d(form([DM("0xzz")]), "192.0.2.9"))
# a concrete part in hex: an interface name (16 bytes) in iifname . ip saddr
check("hex interface name part", d(form([S("inet", "t", "ifa", [
    "0x" + b"eth0".ljust(16, b"\0").hex(), "address"])]), "192.0.2.77"), True)
check("hex interface name part, other name", d(form([S("inet", "t", "ifa", [
    "0x" + b"eth1".ljust(16, b"\0").hex(), "address"])]), "192.0.2.77"), False)
check("interface name part as a string", d(form([S("inet", "t", "ifa", ["eth0", "address"])]),
                                           "192.0.2.77"), True)
raises("overlap with different data", lambda: d(form([S("ip", "f", "vo", ["address"],
                                                        {"drop": None})]), "192.0.2.1"))
raises("data on a set", lambda: d(form([S("inet", "t", "a4", ["address"], {"drop": None})]),
                                  "192.0.2.1"))

# --- which_path: exactly one path -------------------------------------------------
# Three disjoint paths that cover everything: the /28 from ports below 1024 (reject),
# the /28 from the rest, everything else.
p_low = {"verdict": "reject", "sources": form([SA, {"port": [0, 1023]}])}
p_high = {"verdict": "drop", "sources": form([SA, {"port": [1024, 65535]}])}
p_rest = {"verdict": "accept", "sources": form([dict(SA, **{"not": True})])}
paths = [p_low, p_high, p_rest]
check("which_path low", lambda: sf.which_path(paths, "192.0.2.3", 1000, sets)["verdict"],
      "reject")
check("which_path high", lambda: sf.which_path(paths, "192.0.2.3", 1024, sets)["verdict"],
      "drop")
check("which_path rest", lambda: sf.which_path(paths, "192.0.2.99", 1000, sets)["verdict"],
      "accept")
check("which_path bare forms", lambda: sf.which_path([p["sources"] for p in paths],
                                                     "192.0.2.99", 1, sets), p_rest["sources"])
raises("which_path overlapping", lambda: sf.which_path(
    [p_low, p_high, p_rest, {"sources": form([P])}], "192.0.2.99", 1500, sets))
raises("which_path overlapping (two of three)", lambda: sf.which_path(
    [p_low, {"sources": form([{"port": [1000, 1100]}])}, p_rest], "192.0.2.3", 1010, sets))
raises("which_path none", lambda: sf.which_path([p_low, p_high], "192.0.2.99", 1, sets))
raises("which_path no paths", lambda: sf.which_path([], "192.0.2.99", 1, sets))
raises("which_path a path without sources", lambda: sf.which_path(
    [{"verdict": "accept"}], "192.0.2.99", 1, sets))
# multiple conjunctions in one path (the source holds in two of them: still one path)
check("which_path two conjunctions of one path", lambda: sf.which_path(
    [{"verdict": "x", "sources": form([A], [M])}, {"verdict": "y", "sources": form(
        [dict(A, **{"not": True}), dict(M, **{"not": True})])}], "192.0.2.9", 1, sets)["verdict"], "x")

# --- what cannot be decided is an error, never a guess ----------------------------
raises("version 2", lambda: d({"version": 2, "any_of": [{"all_of": []}]}, "192.0.2.1"))
raises("no version", lambda: d({"any_of": [{"all_of": []}]}, "192.0.2.1"))
raises("any_of not a list", lambda: d({"version": 1, "any_of": {}}, "192.0.2.1"))
raises("conjunction without all_of", lambda: d({"version": 1, "any_of": [{}]}, "192.0.2.1"))
raises("unknown literal", lambda: d(form([{"interface": "eth0"}]), "192.0.2.1"))
raises("two kinds in a literal", lambda: d(form([dict(A, **P)]), "192.0.2.1"))
raises("only not", lambda: d(form([{"not": True}]), "192.0.2.1"))
raises("not not a boolean", lambda: d(form([dict(A, **{"not": "yes"})]), "192.0.2.8"))
raises("IPv4 literal on an IPv6 source", lambda: d(form([A]), "2001:db8::1"))
raises("IPv6 set on an IPv4 source", lambda: d(form([S("ip6", "f", "b6", ["address"])]),
                                               "192.0.2.1"))
raises("a set not listed", lambda: d(form([S("inet", "t", "nosuch", ["address"])]),
                                     "192.0.2.1"))
raises("a key that does not fit", lambda: d(form([S("inet", "t", "c", ["address"])]),
                                            "192.0.2.1"))
raises("a bad source address", lambda: d(form([]), "192.0.2", 1))
raises("a bad source port", lambda: d(form([]), "192.0.2.1", 70000))
raises("port literal with strings", lambda: d(form([{"port": ["1", "2"]}]), "192.0.2.1", 1))
# a malformed literal in a conjunction that already failed still shows
raises("a malformed literal after a false one", lambda: d(
    form([{"port": [1, 1]}, {"bogus": 1}]), "192.0.2.1", 2))
raises("not nft -j output", lambda: sf.load_sets({"tables": []}))
raises("a map element that is not a pair", lambda: sf.load_sets({"nftables": [
    {"map": {"family": "ip", "table": "f", "name": "m", "type": "ipv4_addr", "map": "verdict",
             "elem": ["192.0.2.1"]}}]}))

# --- a Status reply of version 2 read as version 1 (status_view) ------------------------
V2 = {"version": 2, "firewalld": {"running": False}, "nftables": {"read": True},
      "sets": [{"family": "inet", "table": "t", "name": "c", "elements": 3}],
      "rules": [{"family": "inet", "table": "t", "chain": "in", "handle": 7, "text": "drop"}],
      "sources": [{"words": "in set inet t c (3 elements)",
                   "any_of": [{"all_of": [{"set": 0, "key": ["address", "destination_port"]}]}],
                   "example": {"address": "192.0.2.1", "port": 40000}},
                  {"words": "any"}],
      "listeners": [{"protocol": "tcp", "port": 22, "paths": [
          {"interface": "eth0", "family": "ipv4", "sources": 0, "verdict": "drop", "rule": 0,
           "spoofed": True},
          {"interface": "eth0", "family": "ipv4", "sources": 1, "verdict": "accept"}]}]}
v1 = sf.status_view(V2)
p0, p1 = v1["listeners"][0]["paths"]
check("v2 view: words", (p0["source"], p1["source"]), ("in set inet t c (3 elements)", "any"))
check("v2 view: rule inline, absent is null", (p0["rule"]["handle"], p1["rule"]), (7, None))
check("v2 view: left-out fields back", (p0["spoofed"], p1["spoofed"], p1["firewalld_verdict"],
                                         p1["forwarded_to"]), (True, False, "unknown", None))
check("v2 view: set inline, destination_port is the listener's",
      p0["sources"]["any_of"][0]["all_of"][0]["set"],
      {"family": "inet", "table": "t", "name": "c", "elements": 3, "key": ["address", 22]})
check("v2 view: a form-less entry", p1["sources"], None)
check("v2 view: the view's form decides", d(p0["sources"], "192.0.2.1"),
      d(form([S("inet", "t", "c", ["address", 22])]), "192.0.2.1"))
check("v2 view: the tables are gone, the reply is untouched",
      ("sets" in v1, V2["listeners"][0]["paths"][0]["sources"]), (False, 0))
check("a version 1 reply comes back as it is", sf.status_view({"version": 1}), {"version": 1})
raises("v2 view: an index past the table", lambda: sf.status_view(dict(V2, rules=[])))

print("test_srcform: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
