#!/usr/bin/python3
# The nftables ruleset that crowdsec-firewall-bouncer (nftables mode, default
# configuration) leaves in the kernel once it holds a blocklist.
#
# Derived from crowdsecurity/cs-firewall-bouncer at commit
# bcb81cd563e813335a3141086b7f2fc5fe1a9725:
#   pkg/nftables/nftables_context.go  initOwnTable (a table per family, one filter
#       chain per hook named CHAIN-HOOK, priority from the config, a named counter
#       "processed" and a first rule referring to it), createRule (payload load of
#       the source address, lookup in the origin's set, the set's own named counter,
#       DROP by default or reject with icmpx admin-prohibited for deny_action REJECT)
#   pkg/nftables/nftables.go          createSetAndRuleForOrigin (one set per decision
#       origin, BLACKLISTS-ORIGIN, key ipv4_addr/ipv6_addr, timeout flag, a rule per
#       chain), commitAddedDecisions (each element carries its decision's duration as
#       its timeout; origin "lists" becomes lists-SCENARIO)
#   config/crowdsec-firewall-bouncer.yaml  the packaged defaults: tables crowdsec /
#       crowdsec6, chains crowdsec-chain / crowdsec6-chain, priority -10, hooks input
#       and forward, blacklists crowdsec-blacklists / crowdsec6-blacklists, deny DROP
#   pkg/cfg/config.go                 nftablesConfig (the same defaults in code)
# Documentation: https://docs.crowdsec.net/u/bouncers/firewall/
#
# Written from reading those files; no upstream code is copied. The bouncer talks
# netlink (google/nftables), not nft; this emits nft syntax for the same objects.
# Not reproduced: the rule's raw userdata (the set name as bytes, which nft does
# not show), and the order of the chains' rules per origin, which follows Go map
# iteration in the bouncer (one rule per origin set, all of them dropping).
#
# Addresses are documentation ranges only: IPv4 blocklist elements from
# 198.18.0.0/15, IPv6 ones from 2001:db8:ff00::/40.
#
# usage: crowdsec.py [--v4 N] [--v6 N] [--member ADDR]... [--nonmember ADDR]...
#                    [--seed N] [--deny-action DROP|REJECT] [--hooks input,forward]
#   --member ADDR     an address that must be in the blocklist; the first goes to the
#                     community blocklist (origin CAPI), the second to the local
#                     engine's decisions (origin crowdsec), the third to cscli's,
#                     and so on round-robin
#   --nonmember ADDR  an address of the blocklist's range that must stay out of it
# Prints the ruleset on stdout (an nft -f script).

import argparse
import ipaddress
import random
import sys

V4_RANGE = ipaddress.ip_network("198.18.0.0/15")
V6_RANGE = ipaddress.ip_network("2001:db8:ff00::/40")

# Decision origins in the order the bouncer would first see them, with a typical
# decision duration for each (the element's timeout): the community blocklist's
# decisions last about a week, the local ones the default profile's 4h.
ORIGINS = (("CAPI", "167h"), ("crowdsec", "4h"), ("cscli", "4h"))
# Share of each origin in the generated elements (the rest of a small blocklist is
# local detections and manual bans).
LOCAL_ELEMENTS, CSCLI_ELEMENTS = 40, 5


def pick(rng, net, count, must, mustnot):
    """count distinct addresses of net: the must ones plus random others, none of mustnot."""
    must = [ipaddress.ip_address(a) for a in must]
    mustnot = {int(ipaddress.ip_address(a)) for a in mustnot}
    base, size = int(net.network_address), net.num_addresses
    if count > size - len(mustnot):
        sys.exit("crowdsec.py: %d elements do not fit in %s" % (count, net))
    chosen = {int(a) for a in must}
    if size <= 1 << 20:
        pool = [base + i for i in range(size) if base + i not in chosen and base + i not in mustnot]
        chosen.update(rng.sample(pool, count - len(chosen)))
    else:
        tries = 0
        while len(chosen) < count:
            tries += 1
            if tries > 50 * count + 1000:
                sys.exit("crowdsec.py: cannot pick %d addresses" % count)
            a = base + rng.randrange(size)
            if a not in mustnot:
                chosen.add(a)
    return chosen


def split(rng, chosen, must):
    """The elements per origin: must[i] to origin i mod 3, the rest mostly CAPI."""
    per = {o: [] for o, _ in ORIGINS}
    must_ints = [int(ipaddress.ip_address(a)) for a in must]
    for i, a in enumerate(must_ints):
        per[ORIGINS[i % len(ORIGINS)][0]].append(a)
    rest = sorted(chosen - set(must_ints))
    rng.shuffle(rest)
    local = min(LOCAL_ELEMENTS, len(rest) // 4)
    cscli = min(CSCLI_ELEMENTS, len(rest) // 8)
    per["crowdsec"] += rest[:local]
    per["cscli"] += rest[local:local + cscli]
    per["CAPI"] += rest[local + cscli:]
    return per


def table(out, family, version, table_name, chain, blacklists, priority, hooks, per, deny):
    addr_type = "ipv4_addr" if version == 4 else "ipv6_addr"
    saddr = "ip saddr" if version == 4 else "ip6 saddr"
    to_text = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    verdict = "drop" if deny == "DROP" else "reject with icmpx admin-prohibited"
    origins = [(o, t) for o, t in ORIGINS if per[o]]
    w = out.write
    w("table %s %s {\n" % (family, table_name))
    w("\tcounter processed {\n\t}\n")
    for origin, _ in origins:
        w("\tcounter %s-%s {\n\t}\n" % (blacklists, origin))
    for origin, timeout in origins:
        w("\tset %s-%s {\n\t\ttype %s\n\t\tflags timeout\n" % (blacklists, origin, addr_type))
        elems = per[origin]
        w("\t\telements = {")
        for i, a in enumerate(elems):
            w("%s%s timeout %s" % (",\n\t\t\t" if i else " ", to_text(a), timeout))
        w(" }\n\t}\n")
    for hook in hooks:
        w("\tchain %s-%s {\n" % (chain, hook))
        w("\t\ttype filter hook %s priority %d; policy accept;\n" % (hook, priority))
        w("\t\tcounter name \"processed\"\n")
        for origin, _ in origins:
            w("\t\t%s @%s-%s counter name \"%s-%s\" %s\n" % (saddr, blacklists, origin, blacklists,
                                                           origin, verdict))
        w("\t}\n")
    w("}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--v4", type=int, default=20000, help="IPv4 elements in all (default 20000)")
    ap.add_argument("--v6", type=int, default=20000, help="IPv6 elements in all (default 20000)")
    ap.add_argument("--member", action="append", default=[])
    ap.add_argument("--nonmember", action="append", default=[])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--deny-action", choices=("DROP", "REJECT"), default="DROP")
    ap.add_argument("--hooks", default="input,forward")
    ap.add_argument("--priority", type=int, default=-10)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    hooks = [h for h in args.hooks.split(",") if h]
    out = sys.stdout
    out.write("# crowdsec-firewall-bouncer (nftables mode), generated by %s: %d IPv4 and %d IPv6 "
              "elements, seed %d\n" % (sys.argv[0].rsplit("/", 1)[-1], args.v4, args.v6, args.seed))
    for version, n, net, table_name, chain, blacklists in (
            (4, args.v4, V4_RANGE, "crowdsec", "crowdsec-chain", "crowdsec-blacklists"),
            (6, args.v6, V6_RANGE, "crowdsec6", "crowdsec6-chain", "crowdsec6-blacklists")):
        must = [a for a in args.member if ipaddress.ip_address(a).version == version]
        mustnot = [a for a in args.nonmember if ipaddress.ip_address(a).version == version]
        for a in must + mustnot:
            if ipaddress.ip_address(a) not in net:
                sys.exit("crowdsec.py: %s is not in %s" % (a, net))
        if n < len(must):
            sys.exit("crowdsec.py: --v%d %d is fewer than the members asked for" % (version, n))
        if n == 0:
            continue
        chosen = pick(rng, net, n, must, mustnot)
        per = split(rng, chosen, must)
        table(out, "ip" if version == 4 else "ip6", version, table_name, chain, blacklists,
              args.priority, hooks, per, args.deny_action)


if __name__ == "__main__":
    main()
