#!/bin/bash
# test_zones.sh: firewalld zone features beyond the incident, each verdict checked
# against a real probe from the client namespace:
#   - a port allowed at runtime only: accept + runtime_only, and after a reload the
#     report and the probe both say rejected;
#   - a source-bound zone (trusted for the client's /32): the report splits the
#     address space, and the probes follow it: open from the client's address, rejected
#     from a second client address outside the source;
#   - the interface moved to zone drop: verdict drop, the probe sees no answer.
#
# Needs root (exits 77, SKIP, otherwise) and the built binaries in PORTCHECK
# and PORTCHECKD (default: build/ of this checkout).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

lab_require_root nmap python3
lab_binaries || lab_die "portcheck is not built: set PORTCHECK and PORTCHECKD (now '$PORTCHECK', '$PORTCHECKD')"
lab_init
lab_netns_server_client
lab_dbus_start
lab_firewalld_start nftables
lab_listeners tcp:0.0.0.0:22:sshd tcp:0.0.0.0:8080:app
lab_portcheckd_start

# path PORT FIELD: FIELD of the eth0 IPv4 path of listener PORT/tcp whose source
# contains the client's address (192.0.2.2), from a fresh `status --json`.
path() {
	local rc=0 json=$LAB_DIR/status.json
	lab_portcheck status --json >"$json" || rc=$?
	((rc == 0 || rc == 1)) || lab_die "portcheck status --json: exit status $rc"
	"$LAB_PYTHON" - "$json" "$1" "$2" <<'PY'
import ipaddress, json, sys
import srcform  # tests/lab (lab.sh puts it on PYTHONPATH)
report, port, field = srcform.status_view(json.load(open(sys.argv[1]))), int(sys.argv[2]), sys.argv[3]
client = ipaddress.ip_address("192.0.2.2")
def in_word(s):  # a prefix, or a range "lo-hi" (the words of a path's sources)
    if "-" in s:
        lo, hi = (ipaddress.ip_address(x) for x in s.split("-"))
        return lo.version == client.version and lo <= client <= hi
    return client in ipaddress.ip_network(s)
def covers(source):
    return source == "any" or any(in_word(s) for s in source.split(","))
for l in report["listeners"]:
    if l["port"] != port or l["protocol"] != "tcp":
        continue
    for p in l["paths"]:
        if p["interface"] == "eth0" and p["family"] == "ipv4" and covers(p["source"]):
            v = p[field]
            print(json.dumps(v) if not isinstance(v, str) else v)
            sys.exit()
print("no-path")
PY
}

# expect PORT FIELD WANT WHAT
expect() {
	local got
	got=$(path "$1" "$2")
	[[ $got == "$3" ]] || lab_die "$4: $1/tcp $2 is '$got', want '$3'"
}

# --- runtime only ---
lab_fwcmd --zone=public --add-port=8080/tcp >/dev/null
expect 8080 verdict accept "runtime port"
expect 8080 runtime_only true "runtime port"
expect 8080 allowed_by "port 8080/tcp" "runtime port"
[[ $(lab_probe_tcp 8080 ipv4) == open ]] || lab_die "runtime port 8080 does not probe open"
lab_pass "8080/tcp allowed at runtime only: report says accept, runtime_only; probe open"

lab_fwcmd --reload >/dev/null
expect 8080 verdict reject "after reload"
[[ $(lab_probe_tcp 8080 ipv4) == reject-admin-prohibited ]] || lab_die "after reload 8080 does not probe rejected"
lab_pass "after firewall-cmd --reload: report says reject, probe rejected (as runtime_only predicted)"

# --- a source-bound zone takes precedence over the interface's zone ---
# A second client address, outside the source the trusted zone binds, to probe "the
# rest" from (the client namespace only; a documentation address).
_lab_ip "$LAB_CLI" addr add 192.0.2.3/24 dev eth0 nodad
lab_fwcmd --zone=trusted --add-source=192.0.2.2/32 >/dev/null
expect 8080 zone trusted "source zone"
expect 8080 verdict accept "source zone"
[[ $(lab_probe_tcp 8080 ipv4) == open ]] || lab_die "with the client in zone trusted, 8080 does not probe open"
json=$LAB_DIR/status.json
"$LAB_PYTHON" - "$json" <<'PY' || lab_die "the rest of the IPv4 space is not left to zone public"
import ipaddress, json, sys
def covers(words, a):  # prefixes and "lo-hi" ranges, as the words write them
    for w in words.split(","):
        lo, _, hi = w.partition("-")
        if hi and ipaddress.ip_address(lo) <= a <= ipaddress.ip_address(hi):
            return True
        if not hi and a in ipaddress.ip_network(w):
            return True
    return False
import srcform  # tests/lab (lab.sh puts it on PYTHONPATH): Status version 2 read as 1
l = [l for l in srcform.status_view(json.load(open(sys.argv[1])))["listeners"] if l["port"] == 8080][0]
rest = [p for p in l["paths"] if p["interface"] == "eth0" and p["zone"] == "public"]
assert rest and rest[0]["verdict"] == "reject", rest
assert covers(rest[0]["source"], ipaddress.ip_address("192.0.2.3")), rest
assert not covers(rest[0]["source"], ipaddress.ip_address("192.0.2.2")), rest
assert l["exposure"] == "partial", l["exposure"]
PY
# The rest, as the kernel sees it: a client address outside the trusted source. The
# report above is the engine's own word; this probe is what a real packet gets.
[[ $(lab_probe_tcp 8080 ipv4 192.0.2.3) == reject-admin-prohibited ]] ||
	lab_die "from 192.0.2.3 (not in zone trusted), 8080 does not probe rejected: $(lab_probe_tcp 8080 ipv4 192.0.2.3)"
[[ $(lab_probe_tcp 8080 ipv4) == open ]] || lab_die "with the client in zone trusted, 8080 does not probe open (second probe)"
lab_pass "source 192.0.2.2/32 in zone trusted: that path accepts (probe open), the rest rejects (probe from 192.0.2.3 rejected), exposure partial"
lab_fwcmd --zone=trusted --remove-source=192.0.2.2/32 >/dev/null

# --- the interface in zone drop ---
lab_fwcmd --zone=drop --change-interface=eth0 >/dev/null
expect 8080 zone drop "drop zone"
expect 8080 verdict drop "drop zone"
expect 22 verdict drop "drop zone"
[[ $(lab_probe_tcp 22 ipv4) == filtered ]] || lab_die "with eth0 in zone drop, 22 does not probe filtered"
lab_pass "eth0 in zone drop: report says drop, the probe gets no answer"
