#!/usr/bin/python3
"""Decide a path's "sources" form (JSON contract version 1, issue #9) for one concrete source.

The form (docs/json.md, "The sources of a path"; first drafted in srcform-spec.md):

  "sources": {"version": 1, "any_of": [{"all_of": [LITERAL, ...]}, ...], ...}

A source (address A, port P) takes the path iff some conjunction of any_of holds; a
conjunction holds iff all its literals do (an empty all_of always holds; an empty
any_of never does). A LITERAL has exactly one of "address", "port", "address_mask",
"port_mask", "address_in", "port_in", "set", and optionally "not": true.

API:
  load_sets(nft_json)                   the sets and maps of `nft -j list ruleset` (or of
                                        `nft -j list set ...`, or several such outputs
                                        merged) as {(family, table, name): NftSet}
  decide(sources, address, port, sets)  True or False; raises SrcFormError when the form
                                        is malformed or cannot be decided (an unknown
                                        literal, a set that is not in `sets`, a key that
                                        does not fit the set, an address of the wrong
                                        family, a verdict map whose matching elements
                                        disagree)
  which_path(paths, address, port, sets)  the one path (a dict with "sources", or a bare
                                        sources form) whose sources hold; raises
                                        SrcFormError when none or several do
  status_view(report)                   a Status reply of version 2 (paths name their
                                        sources, rule and sets by index in the reply's
                                        tables, and leave out what is null or false) as
                                        version 1 had it: every path with "source" (the
                                        words), "rule" and "sources" (a version 1 form:
                                        set descriptors inline, "destination_port" the
                                        listener's port) inline, and the left-out fields
                                        back. A version 1 reply comes back unchanged.

No root, no I/O: the caller runs nft. `python3 srcform.py RULESET.json SOURCES.json
ADDRESS PORT` prints true or false (for trying it by hand).
"""

import ipaddress
import json
import socket
import sys

__all__ = ["SrcFormError", "NftSet", "load_sets", "decide", "which_path", "status_view"]

LITERAL_KINDS = ("address", "port", "address_mask", "port_mask", "address_in", "port_in", "set")


class SrcFormError(ValueError):
    pass


# --- values ------------------------------------------------------------------------
#
# Every value is reduced to a comparable scalar: an address to (version, int), a number
# (a port, a mark, a protocol) to int, anything else (an interface name, ...) to its
# string. Elements' fields become closed intervals [lo, hi] of such scalars.

def _addr(s):
    try:
        a = ipaddress.ip_address(s)
    except (ValueError, TypeError):
        return None
    return (a.version, int(a))


def _scalar(v):
    if isinstance(v, bool):
        raise SrcFormError("a boolean where a value belongs: %r" % (v,))
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        a = _addr(v)
        if a is not None:
            return a
        if v.isdigit():
            return int(v)
        if v.startswith("0x"):
            try:
                return int(v, 16)
            except ValueError:
                pass
        try:  # nft -j without -n may print a port by its service name
            return socket.getservbyname(v)
        except OSError:
            return v
    raise SrcFormError("not a value: %r" % (v,))


def _field(v):
    """One field of a set element: (lo, hi), inclusive; None for the catch-all "*"."""
    if isinstance(v, dict):
        if "prefix" in v:
            p = v["prefix"]
            try:
                net = ipaddress.ip_network("%s/%s" % (p["addr"], p["len"]), strict=False)
            except (KeyError, TypeError, ValueError) as e:
                raise SrcFormError("bad prefix %r: %s" % (p, e))
            return ((net.version, int(net.network_address)),
                    (net.version, int(net.broadcast_address)))
        if "range" in v:
            r = v["range"]
            if not isinstance(r, list) or len(r) != 2:
                raise SrcFormError("bad range %r" % (r,))
            lo, hi = _scalar(r[0]), _scalar(r[1])
            if type(lo) is not type(hi):
                raise SrcFormError("range of mixed kinds %r" % (r,))
            return (lo, hi)
        raise SrcFormError("unknown element field %r" % (v,))
    s = _scalar(v)
    return (s, s)


def _unwrap(e):
    """An element as nft -j shows it, without the {"elem": {"val": ...}} wrapper (which
    carries timeouts, counters, comments)."""
    for _ in range(4):  # bounded
        if isinstance(e, dict) and "elem" in e:
            inner = e["elem"]
            e = inner.get("val") if isinstance(inner, dict) else inner
        else:
            return e
    raise SrcFormError("elem nested too deep")


def _verdict(d):
    """A verdict in nft -j's form, normalised for comparison, or None if d is not one."""
    if isinstance(d, dict) and len(d) == 1:
        (k, v), = d.items()
        if k in ("accept", "drop", "continue", "return", "queue"):
            return (k,)
        if k in ("jump", "goto") and isinstance(v, dict) and "target" in v:
            return (k, v["target"])
    return None


def _data(d):
    v = _verdict(d)
    if v is not None:
        return ("verdict",) + v
    return ("value", _field(d))


class NftSet:
    """One set or map: its key's field count, and its elements as lists of per-field
    intervals (None: the catch-all), with their data for a map."""

    def __init__(self, family, table, name, kind, type_, flags, elems, data_type=None):
        self.family, self.table, self.name = family, table, name
        self.kind = kind  # "set" or "map"
        self.type = type_
        self.flags = flags
        self.data_type = data_type
        self.width = len(type_) if isinstance(type_, list) else 1
        self.elems = []  # (fields or None, data or None)
        for raw in elems:
            data = None
            if kind == "map":
                if not isinstance(raw, list) or len(raw) != 2:
                    raise SrcFormError("map %s: element %r is not [key, data]" % (name, raw))
                raw, data = raw
                data = _data(_unwrap(data))
            key = _unwrap(raw)
            if key == "*":
                self.elems.append((None, data))
                continue
            parts = key["concat"] if isinstance(key, dict) and "concat" in key else [key]
            if len(parts) != self.width:
                raise SrcFormError("%s %s: element %r has %d fields, the type %d" % (
                    kind, name, key, len(parts), self.width))
            self.elems.append(([_field(_unwrap(p)) for p in parts], data))

    def __repr__(self):
        return "NftSet(%s %s %s, %d elements)" % (self.family, self.table, self.name,
                                                  len(self.elems))

    def matching(self, key):
        """The data (None for a set) of each element that matches the key (a list of
        scalars, one per field), in listing order."""
        if len(key) != self.width:
            raise SrcFormError("set %s has %d key fields, the literal names %d" % (
                self.name, self.width, len(key)))
        out = []
        for fields, data in self.elems:
            if fields is None or all(_within(k, lo, hi) for k, (lo, hi) in zip(key, fields)):
                out.append(data)
        return out


def _ifname(v):
    """A string field (an interface name, IFNAMSIZ bytes) as the "0x" hex constant of the
    form names it: its bytes, zero-padded."""
    return int.from_bytes(v.encode()[:16].ljust(16, b"\0"), "big")


def _within(k, lo, hi):
    if type(k) is not type(lo):
        if isinstance(k, tuple) or isinstance(lo, tuple):
            raise SrcFormError("an address compared with a non-address (%r in %r-%r)" % (
                k, lo, hi))
        if isinstance(k, int) and isinstance(lo, str) and isinstance(hi, str):
            return _ifname(lo) <= k <= _ifname(hi)
        return False  # (a name against a number: never equal)
    if isinstance(k, tuple) and k[0] != lo[0]:
        raise SrcFormError("an IPv%d address compared with IPv%d elements" % (k[0], lo[0]))
    return lo <= k <= hi


def load_sets(nft_json):
    """{(family, table, name): NftSet} from `nft -j list ruleset` output (a dict or its
    text), or a list of such outputs."""
    if isinstance(nft_json, (str, bytes)):
        nft_json = json.loads(nft_json)
    docs = nft_json if isinstance(nft_json, list) else [nft_json]
    sets = {}
    for doc in docs:
        if not isinstance(doc, dict) or not isinstance(doc.get("nftables"), list):
            raise SrcFormError("not nft -j output (no \"nftables\" list)")
        for obj in doc["nftables"]:
            if not isinstance(obj, dict):
                continue
            for kind in ("set", "map"):
                s = obj.get(kind)
                if not isinstance(s, dict):
                    continue
                key = (s.get("family"), s.get("table"), s.get("name"))
                sets[key] = NftSet(key[0], key[1], key[2], kind, s.get("type"),
                                   s.get("flags") or [], s.get("elem") or [], s.get("map"))
    return sets


# --- the decision ------------------------------------------------------------------

def _source(address, port):
    a = _addr(address) if isinstance(address, str) else None
    if a is None:
        raise SrcFormError("not an address: %r" % (address,))
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise SrcFormError("not a port: %r" % (port,))
    return a, port


def _lit_addr(s, a):
    v = _addr(s)
    if v is None:
        raise SrcFormError("not an address in a literal: %r" % (s,))
    if v[0] != a[0]:
        raise SrcFormError("an IPv%d literal on an IPv%d source" % (v[0], a[0]))
    return v[1]


def _int(v, what):
    if isinstance(v, bool) or not isinstance(v, int):
        raise SrcFormError("%s must be an integer, got %r" % (what, v))
    return v


def _literal(lit, a, port, sets):
    if not isinstance(lit, dict):
        raise SrcFormError("a literal must be an object: %r" % (lit,))
    neg = lit.get("not", False)
    if not isinstance(neg, bool):
        raise SrcFormError('"not" must be a boolean: %r' % (lit,))
    keys = [k for k in lit if k != "not"]
    if len(keys) != 1 or keys[0] not in LITERAL_KINDS:
        raise SrcFormError("a literal needs exactly one of %s: %r" % (
            ", ".join(LITERAL_KINDS), lit))
    kind, v = keys[0], lit[keys[0]]
    if kind == "address":
        if not isinstance(v, list) or len(v) != 2:
            raise SrcFormError("address needs [LO, HI]: %r" % (v,))
        held = _lit_addr(v[0], a) <= a[1] <= _lit_addr(v[1], a)
    elif kind == "port":
        if not isinstance(v, list) or len(v) != 2:
            raise SrcFormError("port needs [LO, HI]: %r" % (v,))
        held = _int(v[0], "port LO") <= port <= _int(v[1], "port HI")
    elif kind == "address_mask":
        if not isinstance(v, dict) or set(v) != {"mask", "value"}:
            raise SrcFormError("address_mask needs mask and value: %r" % (v,))
        held = a[1] & _lit_addr(v["mask"], a) == _lit_addr(v["value"], a)
    elif kind == "port_mask":
        if not isinstance(v, dict) or set(v) != {"mask", "value"}:
            raise SrcFormError("port_mask needs mask and value: %r" % (v,))
        held = port & _int(v["mask"], "port_mask mask") == _int(v["value"], "port_mask value")
    elif kind == "address_in":
        held = False
        for r in _ranges(v, kind):  # (every range checked: a malformed one always shows)
            held |= _lit_addr(r[0], a) <= a[1] <= _lit_addr(r[1], a)
    elif kind == "port_in":
        held = False
        for r in _ranges(v, kind):
            held |= _int(r[0], "port_in LO") <= port <= _int(r[1], "port_in HI")
    else:
        held = _set_literal(v, a, port, sets)
    return held != neg


def _ranges(v, kind):
    if not isinstance(v, list) or not all(isinstance(r, list) and len(r) == 2 for r in v):
        raise SrcFormError("%s needs a list of [LO, HI]: %r" % (kind, v))
    return v


def _set_literal(v, a, port, sets):
    if not isinstance(v, dict):
        raise SrcFormError("set needs an object: %r" % (v,))
    ident = (v.get("family"), v.get("table"), v.get("name"))
    s = sets.get(ident)
    if s is None:
        raise SrcFormError("set %s %s %s is not in the listing" % ident)
    parts = v.get("key")
    if not isinstance(parts, list) or not parts:
        raise SrcFormError("set literal needs a key list: %r" % (v,))
    key = []
    for p in parts:
        if p == "address":
            key.append(a)
        elif p == "port":
            key.append(port)
        else:
            key.append(_scalar(p))
    found = s.matching(key)
    if "data" not in v:
        return bool(found)
    if s.kind != "map":
        raise SrcFormError("set literal with data on a set (not a map): %s" % s.name)
    got = {d for d in found}
    if len(got) > 1:
        raise SrcFormError("map %s: the source matches elements with different data %s" % (
            s.name, sorted(map(repr, got))))
    if not got:
        return False
    (have,) = got
    want = _verdict(v["data"])
    if want is not None:
        return have == ("verdict",) + want
    # A data map's value: "0x" and hex, compared with the element's data as a number (an
    # address as its integer); other forms as nft -j writes them.
    d = v["data"]
    if have[0] != "value" or have[1][0] != have[1][1]:
        return False
    hv = have[1][0]
    if isinstance(d, str) and d.startswith("0x"):
        try:
            dv = int(d, 16)
        except ValueError:
            raise SrcFormError("set literal data %r is not hex" % (d,))
        return (hv[1] if isinstance(hv, tuple) else hv) == dv
    return _field(d) == have[1]


def decide(sources, address, port, sets):
    """Whether the source (address, port) is in the sources form."""
    if isinstance(sources, (str, bytes)):
        sources = json.loads(sources)
    if not isinstance(sources, dict):
        raise SrcFormError("the sources form must be an object")
    if sources.get("version") != 1:
        raise SrcFormError("sources version %r is not 1" % (sources.get("version"),))
    any_of = sources.get("any_of")
    if not isinstance(any_of, list):
        raise SrcFormError("any_of must be a list")
    a, port = _source(address, port)
    result = False
    for conj in any_of:
        if not isinstance(conj, dict) or not isinstance(conj.get("all_of"), list):
            raise SrcFormError("each any_of entry needs an all_of list: %r" % (conj,))
        # Every literal is evaluated (no short cut), so a malformed one always shows.
        held = [_literal(lit, a, port, sets) for lit in conj["all_of"]]
        if all(held):
            result = True
    return result


def which_path(paths, address, port, sets):
    """The one path whose sources hold for (address, port)."""
    hits = []
    for i, p in enumerate(paths):
        form = p.get("sources") if isinstance(p, dict) and "any_of" not in p else p
        if form is None:
            raise SrcFormError("path %d has no sources form" % i)
        if decide(form, address, port, sets):
            hits.append(i)
    if len(hits) != 1:
        raise SrcFormError("%s of %d paths hold for %s port %d%s" % (
            len(hits) or "none", len(paths), address, port,
            "" if not hits else " (paths %s: they overlap)" % ", ".join(map(str, hits))))
    return paths[hits[0]]


# --- Status version 2 -----------------------------------------------------------------

# What a version 2 path leaves out when it is null or false, and its value then.
_PATH_DEFAULTS = {"zone": None, "reject": None, "forwarded_to": None, "endpoints": None,
                  "rule": None, "allowed_by": None, "runtime_only": False,
                  "firewalld_verdict": "unknown", "disagrees": False, "reason": None,
                  "spoofed": False, "ignored": False, "destination": None}


def _table(report, name, ref):
    table = report.get(name)
    if not isinstance(table, list) or not isinstance(ref, int) or isinstance(ref, bool) \
            or not 0 <= ref < len(table):
        raise SrcFormError("%s index %r is not in the reply's %s table" % (name, ref, name))
    return table[ref]


def _form_v1(report, entry, port):
    """A sources table entry (version 2) as a version 1 form."""
    if "any_of" not in entry:
        return None
    any_of = []
    for conj in entry["any_of"]:
        lits = []
        for lit in conj.get("all_of", []):
            if "set" in lit:
                lit = dict(lit)
                desc = dict(_table(report, "sets", lit.pop("set")))
                key = lit.pop("key", None)
                if key is not None:
                    desc["key"] = [port if k == "destination_port" else k for k in key]
                if "data" in lit:
                    desc["data"] = lit.pop("data")
                lit["set"] = desc
            lits.append(lit)
        any_of.append({"all_of": lits})
    return {"version": 1, "any_of": any_of, "example": entry.get("example"),
            "address_ranges": entry.get("address_ranges")}


def status_view(report):
    """A version 2 Status reply as version 1 had it (see the API above)."""
    if not isinstance(report, dict) or report.get("version") != 2:
        return report
    out = {k: v for k, v in report.items() if k not in ("sets", "rules", "sources")}
    out["listeners"] = []
    for l in report.get("listeners", []):
        l = dict(l)
        paths = []
        for p in l.get("paths", []):
            q = dict(_PATH_DEFAULTS)
            q.update(p)
            entry = _table(report, "sources", p.get("sources"))
            q["source"] = entry.get("words")
            q["sources"] = _form_v1(report, entry, l.get("port"))
            if "rule" in p:
                q["rule"] = _table(report, "rules", p["rule"])
            paths.append(q)
        l["paths"] = paths
        out["listeners"].append(l)
    return out


def main(argv):
    if len(argv) != 5:
        sys.stderr.write("usage: srcform.py RULESET.json SOURCES.json ADDRESS PORT\n")
        return 2
    with open(argv[1]) as f:
        sets = load_sets(f.read())
    with open(argv[2]) as f:
        form = json.load(f)
    print("true" if decide(form, argv[3], int(argv[4]), sets) else "false")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
