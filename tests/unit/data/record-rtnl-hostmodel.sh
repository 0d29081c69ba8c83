#!/bin/bash
# Record tests/unit/data/rtnl_link_hostmodel.bin: an RTM_GETLINK dump of a scratch network
# namespace with the link attributes the host model reads: lo; veth hm0 (group 10,
# rp_filter 1, accept_local 1) / hm1 (rp_filter 2, route_localnet 1); a bridge "blue" with
# hm1 enslaved (the recording kernel has no vrf module); hm2 (a dummy, or a veth with
# hm3 where there is no dummy module either). Run as root; the namespace is removed.
# The dump is what the kernel of the recording machine sends (recorded on 6.18).
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)/rtnl_link_hostmodel.bin
ns=pcrec-$$
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
ip -n "$ns" link add hm0 type veth peer name hm1
ip -n "$ns" link add hm2 type dummy 2>/dev/null || ip -n "$ns" link add hm2 type veth peer name hm3
ip -n "$ns" link add blue type bridge
ip -n "$ns" link set hm0 group 10
ip -n "$ns" link set hm1 master blue
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv4.conf.hm0.rp_filter=1 net.ipv4.conf.hm0.accept_local=1 \
	net.ipv4.conf.hm1.rp_filter=2 net.ipv4.conf.hm1.route_localnet=1
ip netns exec "$ns" python3 - "$out" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
s.bind((0, 0))
RTM_GETLINK, NLM_F_REQUEST, NLM_F_DUMP = 18, 1, 0x300
ifi = struct.pack("BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)
# IFLA_EXT_MASK (29) = RTEXT_FILTER_SKIP_STATS (1 << 3), as daemon/sources/rtnl.c asks
attr = struct.pack("HHI", 8, 29, 1 << 3)
body = ifi + attr
s.send(struct.pack("IHHII", 16 + len(body), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
msgs = b""
done = False
for _ in range(100):
    data = s.recv(1 << 20)
    off = 0
    while off < len(data):
        ln, typ = struct.unpack_from("IH", data, off)
        if typ == 3:  # NLMSG_DONE
            done = True
            break
        msgs += data[off:off + ((ln + 3) & ~3)]
        off += (ln + 3) & ~3
    if done:
        break
assert done, "no NLMSG_DONE"
open(sys.argv[1], "wb").write(msgs)
PY
echo "wrote $out"
