#!/bin/bash
# test_open.sh: `portcheck open` / `portcheck close` against a real firewalld,
# every claim checked with a real probe from the client namespace and with
# firewall-cmd (runtime and permanent) plus the private permanent configuration:
#   - bad inputs, a non-root caller and --dry-run change nothing;
#   - the incident: `open 80/tcp --permanent` makes 80 reachable (IPv4 and IPv6),
#     survives `firewall-cmd --reload` and a firewalld restart, leaves someone
#     else's runtime-only port alone, and the zone's XML differs only by the port;
#   - without --permanent: reachable, flagged runtime_only, gone after a reload;
#   - --timeout expires; close reverses open (exit 0); open http adds the service; a
#     port the service already allows is "already", and closing it exits 1 (the
#     service keeps it open); a comma list;
#   - another nft table still drops the port: exit 1, the reply names the rule;
#   - faults: the permanent write fails (runtime change undone), firewalld killed
#     mid-request, firewalld stopped: exit 3, nothing half-applied.
#
# Needs root (exits 77, SKIP, otherwise) and the built binaries in PORTCHECK
# and PORTCHECKD (default: build/ of this checkout).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

lab_require_root nmap nft python3
lab_binaries || lab_die "portcheck is not built: set PORTCHECK and PORTCHECKD (now '$PORTCHECK', '$PORTCHECKD')"
lab_init
lab_incident
lab_listeners tcp:0.0.0.0:8080:app

# --- helpers -------------------------------------------------------------------

# jcheck NAME PYTHON: assertions on the --json reply in $LAB_DIR/NAME.out, as `r`.
# ch(item) is the change for item; lst(port) the listeners on PORT/tcp.
jcheck() {
	"$LAB_PYTHON" - "$LAB_DIR/$1.out" "$2" <<'PY' || lab_die "reply check failed: $(lab_shown "$1")"
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit("not JSON: %s" % e)
def ch(item):
    found = [c for c in r.get("changes") or [] if c.get("item") == item]
    assert len(found) == 1, "want one change for %s, got %s" % (item, r.get("changes"))
    return found[0]
def lst(port):
    return [l for l in r.get("listeners") or [] if l.get("protocol") == "tcp" and l.get("port") == port]
assert r.get("version") == 1, "version %r" % r.get("version")
try:
    exec(sys.argv[2])
except AssertionError as e:
    sys.exit("assertion failed: %s" % e)
PY
}

# expect_probe PORT FAMILY WANT WHAT: the ground truth from the client namespace.
expect_probe() {
	local got
	got=$(lab_probe_tcp "$1" "$2")
	[[ $got == "$3" ]] || lab_die "$4: probe $1/tcp $2 from the client: got '$got', want '$3'"
}

# fw_snapshot NAME: firewalld's runtime and permanent state (firewall-cmd) and a
# copy of the private permanent configuration directory.
fw_snapshot() {
	lab_fwcmd --list-all-zones >"$LAB_DIR/$1.rt" || lab_die "firewall-cmd --list-all-zones failed"
	lab_fwcmd --permanent --list-all-zones >"$LAB_DIR/$1.perm" ||
		lab_die "firewall-cmd --permanent --list-all-zones failed"
	rm -rf "$LAB_DIR/$1.conf"
	cp -a "$LAB_DIR/fwconf" "$LAB_DIR/$1.conf"
}

# fw_changes NAME: what changed in firewalld since fw_snapshot NAME, one line per
# item, sorted: "runtime public ports: +80/tcp", "permanent public services: -http",
# then "file zones/public.xml" for each file of the configuration that changed
# (firewalld's *.old backups left out). Empty: nothing changed. Fails (lab_die, so
# call it as `x=$(fw_changes S) || lab_die ...`) when the diff itself fails: an empty
# output from a crashed diff would pass every "nothing changed" check.
fw_changes() {
	local now=$LAB_DIR/fw-now
	lab_fwcmd --list-all-zones >"$now.rt" || lab_die "firewall-cmd --list-all-zones failed"
	lab_fwcmd --permanent --list-all-zones >"$now.perm" ||
		lab_die "firewall-cmd --permanent --list-all-zones failed"
	if ! "$LAB_PYTHON" - "$LAB_DIR/$1" "$now" <<'PY'
import re, sys
def parse(path):
    zones, cur, key = {}, None, None
    for line in open(path):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        if not line[0].isspace():
            cur, key = line.split()[0], None
            zones[cur] = {}
            continue
        m = re.match(r"^  ([a-z][a-z -]*):(.*)$", line)
        if m:
            key = m.group(1)
            v = m.group(2).strip()
            zones[cur][key] = {v} if key == "rich rules" and v else set(v.split()) if key != "rich rules" else set()
        elif cur and key:
            zones[cur][key].add(line.strip())  # a rich rule on its own line
    return zones
out = []
for kind, ext in (("runtime", "rt"), ("permanent", "perm")):
    a, b = parse(sys.argv[1] + "." + ext), parse(sys.argv[2] + "." + ext)
    for z in sorted(set(a) | set(b)):
        if z not in a or z not in b:
            out.append("%s zone %s %s" % (kind, z, "added" if z in b else "removed"))
            continue
        for k in sorted(set(a[z]) | set(b[z])):
            x, y = a[z].get(k, set()), b[z].get(k, set())
            out += ["%s %s %s: +%s" % (kind, z, k, i) for i in sorted(y - x)]
            out += ["%s %s %s: -%s" % (kind, z, k, i) for i in sorted(x - y)]
print("\n".join(out))
PY
	then
		lab_die "fw_changes $1: the diff of firewall-cmd's listings failed"
	fi
	fw_files_changed "$1" || lab_die "fw_changes $1: cannot compare the configuration files"
}

# fw_files_changed NAME: the files of the private configuration that differ
# from snapshot NAME ("file PATH"), leaving out firewalld's *.old backups.
fw_files_changed() {
	local f
	(cd "$LAB_DIR/$1.conf" && find . -type f ! -name '*.old' | sort) >"$LAB_DIR/fw-files-a" || return 1
	(cd "$LAB_DIR/fwconf" && find . -type f ! -name '*.old' | sort) >"$LAB_DIR/fw-files-b" || return 1
	sort -u "$LAB_DIR/fw-files-a" "$LAB_DIR/fw-files-b" >"$LAB_DIR/fw-files" || return 1
	while read -r f; do
		cmp -s "$LAB_DIR/$1.conf/$f" "$LAB_DIR/fwconf/$f" || echo "file ${f#./}"
	done <"$LAB_DIR/fw-files"
}

# expect_changes NAME WHAT [LINE...]: exactly these fw_changes since snapshot NAME.
expect_changes() {
	local name=$1 what=$2 got want
	shift 2
	got=$(fw_changes "$name") || lab_die "$what: cannot tell what changed in firewalld"
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
	got=$(sort <<<"$got" | sed '/^$/d')
	[[ $got == "$want" ]] ||
		lab_die "$what: firewalld changed unexpectedly; want [${want//$'\n'/; }], got [${got//$'\n'/; }]"
}

# status_path PORT FAMILY FIELD: FIELD of listener PORT/tcp's eth0 path of FAMILY
# covering the client's address, from a fresh `status --json`.
status_path() {
	local rc=0 json=$LAB_DIR/status.json
	lab_portcheck status --json >"$json" || rc=$?
	((rc == 0 || rc == 1)) || lab_die "portcheck status --json: exit status $rc: $(head -c 1000 "$json")"
	"$LAB_PYTHON" - "$json" "$1" "$2" "$3" <<'PY'
import ipaddress, json, sys
import srcform  # tests/lab (lab.sh puts it on PYTHONPATH)
report, port, family, field = srcform.status_view(json.load(open(sys.argv[1]))), int(sys.argv[2]), sys.argv[3], sys.argv[4]
client = ipaddress.ip_address("192.0.2.2" if family == "ipv4" else "2001:db8:1::2")
def in_word(s):  # a prefix, or a range "lo-hi" (the words of a path's sources)
    if "-" in s:
        lo, hi = (ipaddress.ip_address(x) for x in s.split("-"))
        return lo.version == client.version and lo <= client <= hi
    net = ipaddress.ip_network(s)
    return net.version == client.version and client in net
def covers(source):
    return source == "any" or any(in_word(s) for s in source.split(","))
for l in report["listeners"]:
    if l["port"] != port or l["protocol"] != "tcp":
        continue
    for p in l.get("paths") or []:
        if p.get("interface") == "eth0" and p.get("family") == family and covers(p.get("source") or ""):
            v = p.get(field)
            print(json.dumps(v) if not isinstance(v, str) else v)
            sys.exit()
print("no-path")
PY
}

# xml_diff BEFORE AFTER: the zone XML's lines added (+) and removed (-), each
# stripped of surrounding whitespace, blank lines ignored; XML attributes of
# an element printed in sorted order so attribute order does not matter.
xml_diff() {
	"$LAB_PYTHON" - "$1" "$2" <<'PY'
import difflib, re, sys, xml.etree.ElementTree as ET
def lines(path):
    out = []
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        try:  # one self-contained element per line: normalise attribute order
            e = ET.fromstring(line)
            line = "<%s %s/>" % (e.tag, " ".join('%s="%s"' % kv for kv in sorted(e.attrib.items()))) \
                if len(e) == 0 and not (e.text or "").strip() else line
        except ET.ParseError:
            pass
        out.append(re.sub(r"\s+", " ", line))
    return out
for d in difflib.ndiff(lines(sys.argv[1]), lines(sys.argv[2])):
    if d[:1] in "+-":
        print(d[:1] + d[2:])
PY
}

# The zone's permanent XML as firewalld sees it: the private copy once written,
# before that firewalld's default.
zone_xml() {
	if [[ -e $LAB_DIR/fwconf/zones/$1.xml ]]; then
		echo "$LAB_DIR/fwconf/zones/$1.xml"
	else
		echo "/usr/lib/firewalld/zones/$1.xml"
	fi
}

# Nothing may be open before the tests start: the incident, as probed.
expect_probe 80 ipv4 reject-admin-prohibited "before open"
expect_probe 80 ipv6 reject-admin-prohibited "before open"
expect_probe 8080 ipv4 reject-admin-prohibited "before open"
lab_pass "before: 80/tcp (IPv4, IPv6) and 8080/tcp probe rejected from the client"

lab_portcheckd_start
lab_pc help open --help
lab_expect_rc help 0
grep -qw open "$LAB_DIR/help.out" "$LAB_DIR/help.err" ||
	lab_die "the client has no open command (its help does not mention it): $(lab_shown help)"
lab_pass "portcheck open --help works"

# --- 6. bad input: exit 2, a message, nothing changed -------------------------

fw_snapshot s-bad
# bad_input KEYWORD-REGEX ARGS...: exit 2, a message matching KEYWORD-REGEX
# (case-insensitive, stdout or stderr), no firewalld error text passed through.
bad_input() {
	local re=$1 text
	shift
	lab_pc bad "$@"
	lab_expect_rc bad 2
	text=$(cat "$LAB_DIR/bad.out" "$LAB_DIR/bad.err")
	[[ -n ${text//[[:space:]]/} ]] || lab_die "no message: $(lab_shown bad)"
	grep -Eiq -- "$re" <<<"$text" || lab_die "the message does not match /$re/: $(lab_shown bad)"
	! grep -Eq 'INVALID_[A-Z]+|Traceback|org\.fedoraproject' <<<"$text" ||
		lab_die "firewalld's own error text passed through (validate first): $(lab_shown bad)"
	lab_pass "\`$PC_CMD\`: exit 2, \"$(head -n 1 <<<"$text")\""
}
bad_input 'port' open 0/tcp
bad_input 'port|65536|range' open 65536/tcp
bad_input 'range|90|80' open 90-80/tcp
bad_input 'protocol|foo' open 80/foo
bad_input 'service|nosuchservice' open nosuchservice
bad_input 'zone|nosuchzone' open 80/tcp --zone nosuchzone
bad_input 'timeout|permanent' open 80/tcp --timeout 5s --permanent
bad_input 'port' close 0/tcp
bad_input 'port|65536|range' open 80/tcp,65536/tcp
# The client checks SPEC itself: a typo is a usage error even with no daemon to ask.
RC=0
out=$("$PORTCHECK" --socket "$LAB_DIR/no-daemon.sock" open 80/tcpp 2>&1) || RC=$?
((RC == 2)) && grep -q "unknown protocol 'tcpp'" <<<"$out" ||
	lab_die "bad SPEC with no daemon: exit $RC, want 2 naming the protocol: $out"
lab_pass "a bad SPEC with no daemon running: exit 2, \"$(head -n 1 <<<"$out")\""
expect_changes s-bad "after the bad inputs"
lab_pass "bad inputs changed nothing in firewalld (runtime, permanent, config files)"

# --- 7. a non-root caller is refused, nothing changes ---------------------------

rc=0
text=$(_lab_in "$LAB_SRV" timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$PORTCHECK" --socket "$LAB_DIR/pc.sock" open 80/tcp 2>&1) || rc=$?
((rc == 3)) || lab_die "open 80/tcp as nobody: exit status $rc, want 3; output: $text"
grep -Eiq 'permission|not authori|refused|denied|root' <<<"$text" ||
	lab_die "open 80/tcp as nobody: the message does not say why: $text"
expect_changes s-bad "after the refused non-root open"
expect_probe 80 ipv4 reject-admin-prohibited "after the refused non-root open"
lab_pass "open 80/tcp as nobody: exit 3, \"$(head -n 1 <<<"$text")\"; nothing changed, 80 still rejected"

# --- 5. --dry-run changes nothing ------------------------------------------------

lab_pc dry open 80/tcp --permanent --dry-run --json
lab_expect_rc dry 0
jcheck dry '
c = ch("80/tcp")
assert c.get("zone") == "public" and c.get("kind") == "port", c
assert c.get("runtime") == "would add" and c.get("permanent") == "would add", c
'
expect_changes s-bad "after open --dry-run"
expect_probe 80 ipv4 reject-admin-prohibited "after open --dry-run"
lab_pc dry-text open 80/tcp --permanent --dry-run
lab_expect_rc dry-text 0
grep -q '80/tcp' "$LAB_DIR/dry-text.out" || lab_die "open --dry-run (text) does not name 80/tcp: $(lab_shown dry-text)"
grep -q 'public' "$LAB_DIR/dry-text.out" || lab_die "open --dry-run (text) does not name the zone: $(lab_shown dry-text)"
expect_changes s-bad "after open --dry-run (text)"
lab_pass "open 80/tcp --permanent --dry-run (exit $RC): \"would add\" runtime and permanent in zone public; nothing changed, 80 still rejected"

# --- 1 + 2. the incident: open 80/tcp --permanent ---------------------------------

# Someone else's runtime-only change, which a reload would silently drop.
lab_fwcmd --zone=public --add-port=9090/tcp >/dev/null
xml_before=$LAB_DIR/public.xml.before
cp "$(zone_xml public)" "$xml_before"
fw_snapshot s-incident

lab_pc incident open 80/tcp --permanent --json
lab_expect_rc incident 0
jcheck incident '
c = ch("80/tcp")
assert c.get("zone") == "public" and c.get("kind") == "port", c
assert c.get("runtime") == "added" and c.get("permanent") == "added", c
assert len(r["changes"]) == 1, r["changes"]
ls = lst(80)
assert ls and all(l.get("exposure") == "open" for l in ls), ls
'
lab_pass "open 80/tcp --permanent: exit 0, added runtime and permanent in zone public, listener 80 reported open"
# The audit trail: the daemon logs (stderr here) who changed what, where.
audit=$(grep -F '80/tcp' "$LAB_DIR/portcheckd.log" | grep -F public | grep -Ei 'uid[^0-9]{0,3}0([^0-9]|$)' |
	grep -Ei 'pid' | grep -i 'permanent' || true)
[[ -n $audit ]] || lab_die "portcheckd logged no change line with 80/tcp, public, uid 0, pid and permanent: $(tail -n 5 "$LAB_DIR/portcheckd.log")"
lab_pass "portcheckd logged the change: \"$(head -n 1 <<<"$audit")\""
expect_probe 80 ipv4 open "after open 80/tcp --permanent"
expect_probe 80 ipv6 open "after open 80/tcp --permanent"
lab_pass "after open: 80/tcp probes open from the client over IPv4 and IPv6"

[[ $(lab_fwcmd --zone=public --query-port=9090/tcp || true) == yes ]] ||
	lab_die "someone else's runtime-only port 9090/tcp is gone after open 80/tcp --permanent (was there a reload?)"
lab_pass "the runtime-only port 9090/tcp added by someone else is still there (no reload)"

expect_changes s-incident "open 80/tcp --permanent" \
	"runtime public ports: +80/tcp" "permanent public ports: +80/tcp" "file zones/public.xml"
lab_pass "firewalld changed only by 80/tcp in zone public (runtime and permanent), config file zones/public.xml only"

diff=$(xml_diff "$xml_before" "$LAB_DIR/fwconf/zones/public.xml")
[[ $diff == '+<port port="80" protocol="tcp"/>' ]] ||
	lab_die "zones/public.xml differs from before by more (or less) than the port: ${diff//$'\n'/ | }"
lab_pass "zones/public.xml differs from before only by <port port=\"80\" protocol=\"tcp\"/>"

# Idempotent: already open is success, and changes nothing.
fw_snapshot s-again
lab_pc again open 80/tcp --permanent --json
lab_expect_rc again 0
jcheck again '
c = ch("80/tcp")
assert c.get("runtime") == "already" and c.get("permanent") == "already", c
'
expect_changes s-again "open 80/tcp --permanent a second time"
lab_pass "open 80/tcp --permanent again: exit 0, \"already\" runtime and permanent, nothing changed"

lab_pc dryclose close 80/tcp --permanent --dry-run --json
lab_expect_rc dryclose 0
jcheck dryclose '
c = ch("80/tcp")
assert c.get("runtime") == "would remove" and c.get("permanent") == "would remove", c
'
expect_changes s-again "close 80/tcp --permanent --dry-run"
expect_probe 80 ipv4 open "after close --dry-run"
lab_pass "close 80/tcp --permanent --dry-run: \"would remove\", nothing changed, 80 still open"

lab_fwcmd --reload >/dev/null
expect_probe 80 ipv4 open "after firewall-cmd --reload"
expect_probe 80 ipv6 open "after firewall-cmd --reload"
lab_pass "after firewall-cmd --reload: 80/tcp still probes open (IPv4, IPv6)"

lab_firewalld_restart
# The restart really rebuilt the firewall from the permanent configuration:
# someone else's runtime-only port is gone (the reload already dropped it).
[[ $(lab_fwcmd --zone=public --query-port=9090/tcp || true) == no ]] ||
	lab_die "after the firewalld restart 9090/tcp (runtime only) is still there: not a real restart?"
expect_probe 80 ipv4 open "after a firewalld restart"
expect_probe 80 ipv6 open "after a firewalld restart"
lab_pass "after a firewalld restart (same config dir): 80/tcp still probes open (IPv4, IPv6)"
# portcheckd follows firewalld across the restart.
got=""
for ((i = 0; i < 20 && SECONDS < 250; i++)); do
	got=$(status_path 80 ipv4 verdict)
	[[ $got == accept ]] && break
	sleep 0.5
done
[[ $got == accept ]] || lab_die "after the firewalld restart, status says 80/tcp ipv4 verdict '$got', want accept"
[[ $(status_path 80 ipv4 runtime_only) != true ]] ||
	lab_die "after the restart, status says 80/tcp is runtime_only, but it is permanent"
lab_pass "after the restart, status --json says 80/tcp accept, not runtime_only"

# --- 3. without --permanent: runtime only --------------------------------------------

fw_snapshot s-rt
lab_pc rt open 8080/tcp --json
lab_expect_rc rt 0
jcheck rt '
c = ch("8080/tcp")
assert c.get("zone") == "public" and c.get("kind") == "port", c
assert c.get("runtime") == "added" and c.get("permanent") == "not requested", c
assert any("reload" in n.lower() for n in r.get("notes") or []), "no note about the reload: %r" % r.get("notes")
ls = lst(8080)
assert ls and all(l.get("exposure") == "open" for l in ls), ls
'
expect_changes s-rt "open 8080/tcp (runtime)" "runtime public ports: +8080/tcp"
expect_probe 8080 ipv4 open "after open 8080/tcp (runtime)"
[[ $(status_path 8080 ipv4 runtime_only) == true ]] ||
	lab_die "after open 8080/tcp without --permanent, status does not flag the path runtime_only: $(status_path 8080 ipv4 runtime_only)"
lab_pass "open 8080/tcp: exit 0, runtime added, permanent \"not requested\", a note about reload; probe open; status says runtime_only"
lab_pc rt-text open 8080/tcp
lab_expect_rc rt-text 0
grep -qi 'reload' "$LAB_DIR/rt-text.out" "$LAB_DIR/rt-text.err" ||
	lab_die "open 8080/tcp (text) does not warn that a reload drops it: $(lab_shown rt-text)"
lab_fwcmd --reload >/dev/null
expect_probe 8080 ipv4 reject-admin-prohibited "runtime-only 8080 after firewall-cmd --reload"
[[ $(status_path 8080 ipv4 verdict) == reject ]] || lab_die "after reload, status does not say 8080/tcp reject"
lab_pass "after firewall-cmd --reload: 8080/tcp gone (probe rejected, status reject), as runtime_only said"

# --- 4. --timeout, close, open http -------------------------------------------------

lab_pc to open 8080/tcp --timeout 5s --json
start=$SECONDS
lab_expect_rc to 0
jcheck to '
c = ch("8080/tcp")
assert c.get("runtime") == "added" and c.get("permanent") == "not requested", c
assert c.get("timeout") not in (None, 0, "", "0"), "no timeout in the change: %r" % c
'
expect_probe 8080 ipv4 open "right after open 8080/tcp --timeout 5s"
got=open
for ((i = 0; i < 30 && SECONDS - start < 20; i++)); do
	got=$(lab_probe_tcp 8080 ipv4)
	[[ $got == open ]] || break
	sleep 0.5
done
elapsed=$((SECONDS - start))
[[ $got == reject-admin-prohibited ]] || lab_die "open 8080/tcp --timeout 5s: after ${elapsed}s the probe says '$got', want rejected"
((elapsed >= 3)) || lab_die "open 8080/tcp --timeout 5s: closed already after ${elapsed}s"
[[ $(lab_fwcmd --zone=public --query-port=8080/tcp || true) == no ]] || lab_die "8080/tcp still in zone public after the timeout"
lab_pass "open 8080/tcp --timeout 5s: open at once, rejected again after ${elapsed}s"

fw_snapshot s-close
lab_pc o8080 open 8080/tcp
lab_expect_rc o8080 0
expect_probe 8080 ipv4 open "after open 8080/tcp"
lab_pc c8080 close 8080/tcp --json
lab_expect_rc c8080 0
jcheck c8080 '
c = ch("8080/tcp")
assert c.get("zone") == "public" and c.get("runtime") == "removed", c
'
expect_probe 8080 ipv4 reject-admin-prohibited "after close 8080/tcp"
expect_changes s-close "open 8080/tcp then close 8080/tcp"
lab_pass "close 8080/tcp (exit $RC) reverses open 8080/tcp: probe rejected, firewalld as before"
lab_pc c8080b close 8080/tcp --json
lab_expect_rc c8080b 0
jcheck c8080b '
c = ch("8080/tcp")
assert c.get("runtime") == "absent", c
assert r.get("notes"), "closing what is not open gets no note"
'
expect_changes s-close "close 8080/tcp when not open"
lab_pass "close 8080/tcp again (exit $RC): \"absent\" with a note, nothing changed"

lab_pc c80 close 80/tcp --permanent --json
lab_expect_rc c80 0
jcheck c80 '
c = ch("80/tcp")
assert c.get("runtime") == "removed" and c.get("permanent") == "removed", c
'
expect_probe 80 ipv4 reject-admin-prohibited "after close 80/tcp --permanent"
expect_probe 80 ipv6 reject-admin-prohibited "after close 80/tcp --permanent"
[[ $(lab_fwcmd --permanent --zone=public --query-port=80/tcp || true) == no ]] ||
	lab_die "80/tcp still in the permanent zone public after close --permanent"
diff=$(xml_diff "$xml_before" "$LAB_DIR/fwconf/zones/public.xml")
[[ -z $diff ]] || lab_die "after close 80/tcp --permanent, zones/public.xml differs from the original: ${diff//$'\n'/ | }"
lab_pass "close 80/tcp --permanent (exit $RC) reverses the incident fix: probes rejected, zones/public.xml as originally"

fw_snapshot s-http
lab_pc http open http --json
lab_expect_rc http 0
jcheck http '
c = ch("http")
assert c.get("zone") == "public" and c.get("kind") == "service" and c.get("runtime") == "added", c
'
[[ $(lab_fwcmd --zone=public --query-service=http || true) == yes ]] || lab_die "after open http, --query-service=http is not yes"
expect_changes s-http "open http" "runtime public services: +http"
expect_probe 80 ipv4 open "after open http"
lab_pass "open http: exit 0, service http added to zone public (query-service yes), 80/tcp probes open"
# Already allowed by the service: open 80/tcp is success, changes nothing, and says why.
fw_snapshot s-http2
lab_pc p80 open 80/tcp --json
lab_expect_rc p80 0
jcheck p80 '
c = ch("80/tcp")
assert c.get("runtime") == "already", c
assert any("service http" in n for n in r.get("notes") or []), "no note naming service http: %r" % r.get("notes")
'
expect_changes s-http2 "open 80/tcp while service http is open"
note=$("$LAB_PYTHON" -c 'import json,sys; print([n for n in json.load(open(sys.argv[1]))["notes"] if "service http" in n][0])' "$LAB_DIR/p80.out")
lab_pass "open 80/tcp with service http open: exit 0, \"already\", nothing changed; note \"$note\""
# Close's exit 1 (portcheck(1): "done, but a listener is still open"): the port is not
# in the zone, so there is nothing to remove, and the service keeps 80 open.
lab_pc c80svc close 80/tcp --json
lab_expect_rc c80svc 1
jcheck c80svc '
c = ch("80/tcp")
assert c.get("runtime") == "absent", c
ls = lst(80)
assert ls and any(l.get("exposure") == "open" for l in ls), ls
'
expect_changes s-http2 "close 80/tcp while service http is open"
expect_probe 80 ipv4 open "after close 80/tcp while service http is open"
lab_pass "close 80/tcp with service http open: exit 1, \"absent\", listener 80 still open (probe open), nothing changed"
lab_pc chttp close http
lab_expect_rc chttp 0
[[ $(lab_fwcmd --zone=public --query-service=http || true) == no ]] || lab_die "after close http, --query-service=http is not no"
expect_changes s-http "open http then close http"
expect_probe 80 ipv4 reject-admin-prohibited "after close http"
lab_pass "close http: service removed, 80/tcp rejected again"

# A comma list: each item its own change.
lab_pc list open 8080/tcp,http --json
lab_expect_rc list 0
jcheck list '
assert ch("8080/tcp").get("runtime") == "added" and ch("http").get("runtime") == "added", r["changes"]
'
expect_changes s-http "open 8080/tcp,http" "runtime public ports: +8080/tcp" "runtime public services: +http"
lab_pc clist close 8080/tcp,http
lab_expect_rc clist 0
expect_changes s-http "open then close 8080/tcp,http"
lab_pass "open/close 8080/tcp,http: both items changed, and reversed"

# --- something else still blocks: exit 1, and the reply says what -----------------------

# A table of someone else's, ahead of firewalld, dropping 8080: opening it in firewalld
# is done, but the listener stays blocked.
lab_nft -f - <<'EOF' || lab_die "cannot load the blocking nft table"
table inet portcheck_lab_block {
	chain input {
		type filter hook input priority filter - 10; policy accept;
		tcp dport 8080 drop
	}
}
EOF
lab_pc blocked open 8080/tcp --json
lab_expect_rc blocked 1
jcheck blocked '
c = ch("8080/tcp")
assert c.get("runtime") == "added", c
ls = lst(8080)
assert ls and all(l.get("exposure") != "open" for l in ls), ls
assert any("portcheck_lab_block" in json.dumps(l.get("reason")) for l in ls), "the reason does not name the blocking table: %r" % ls
'
expect_probe 8080 ipv4 filtered "8080 opened in firewalld but dropped by another table"
reason=$("$LAB_PYTHON" -c 'import json,sys; print(json.dumps([l.get("reason") for l in json.load(open(sys.argv[1]))["listeners"] if l.get("port") == 8080][0]))' "$LAB_DIR/blocked.out")
lab_pass "open 8080/tcp with another table dropping it: exit 1, listener still blocked, reason $reason; probe filtered"
lab_nft delete table inet portcheck_lab_block || lab_die "cannot delete the blocking nft table"
lab_pc unblocked close 8080/tcp
lab_expect_rc unblocked 0
[[ $(lab_fwcmd --zone=public --query-port=8080/tcp || true) == no ]] || lab_die "close 8080/tcp left it in zone public"

# --- faults: the permanent change fails after the runtime one succeeded ------------------

# firewalld runs with only NET_ADMIN, NET_RAW and SYS_MODULE (no DAC override), so a
# read-only zones directory and zone files make its permanent write fail with EACCES,
# after the runtime change went through. daemon/fix/open.c undoes the runtime change it
# made and says so: exit 3, firewalld as before, "... was undone: zone public is as
# before" (only when the undo itself fails may the runtime change stay, reported; here
# firewalld is healthy, so that would be a bug).
fw_snapshot s-fault
zone_files=("$LAB_DIR"/fwconf/zones/*.xml)
[[ -e ${zone_files[0]} ]] || zone_files=()
chmod 0555 "$LAB_DIR/fwconf/zones"
((${#zone_files[@]} == 0)) || chmod 0444 "${zone_files[@]}"
log_lines=$(wc -l <"$LAB_DIR/portcheckd.log")
lab_pc fault open 8080/tcp --permanent
chmod 0755 "$LAB_DIR/fwconf/zones"
((${#zone_files[@]} == 0)) || chmod 0644 "${zone_files[@]}"
lab_expect_rc fault 3
rt=$(lab_fwcmd --zone=public --query-port=8080/tcp || true)
pm=$(lab_fwcmd --permanent --zone=public --query-port=8080/tcp || true)
[[ $pm == no ]] || lab_die "permanent write failed, yet 8080/tcp is in the permanent zone public: $(lab_shown fault)"
[[ $rt == no ]] || lab_die "permanent write failed: 8080/tcp left in zone public at runtime (query says '$rt'), want the runtime change undone: $(lab_shown fault)"
expect_changes s-fault "the failed permanent open"
expect_probe 8080 ipv4 reject-admin-prohibited "after the failed permanent open"
grep -qF 'the runtime change to port 8080/tcp in zone public was undone: zone public is as before' \
	"$LAB_DIR/fault.out" "$LAB_DIR/fault.err" ||
	lab_die "the reply does not say that the runtime change was undone: $(lab_shown fault)"
grep -qiE 'permission|denied|failed' "$LAB_DIR/fault.out" "$LAB_DIR/fault.err" ||
	lab_die "the failed permanent change is not explained: $(lab_shown fault)"
lab_pass "open 8080/tcp --permanent, permanent write denied: exit 3, runtime change undone and said so, nothing changed (\"$(head -n 1 "$LAB_DIR/fault.err")\")"
# Informational: what the daemon logged (the runtime add and its undo).
tail -n +"$((log_lines + 1))" "$LAB_DIR/portcheckd.log" | sed 's/^/  portcheckd.log: /'

# firewalld hangs with the request in flight, then dies (SIGKILL: no cleanup, nothing
# it had queued is ever applied): the client gets a bounded, clear exit 3, and the
# restarted firewalld has nothing of the change.
kill -STOP "$LAB_FIREWALLD_PID"
mid_start=$SECONDS
(
	rc=0
	lab_portcheck open 8080/tcp --permanent >"$LAB_DIR/mid.out" 2>"$LAB_DIR/mid.err" || rc=$?
	echo "$rc" >"$LAB_DIR/mid.rc"
) &
mid_pid=$!
sleep 2
kill -KILL "$LAB_FIREWALLD_PID"
wait "$mid_pid" || true
mid_elapsed=$((SECONDS - mid_start))
RC=$(cat "$LAB_DIR/mid.rc" 2>/dev/null || echo 255) PC_CMD="portcheck open 8080/tcp --permanent (firewalld stopped, then killed, mid-request)"
lab_expect_rc mid 3
grep -qi 'firewalld' "$LAB_DIR/mid.out" "$LAB_DIR/mid.err" ||
	lab_die "the failure does not mention firewalld: $(lab_shown mid)"
kill -0 "$LAB_PORTCHECKD_PID" 2>/dev/null || lab_die "portcheckd died when firewalld was killed mid-request"
lab_firewalld_restart
[[ $(lab_fwcmd --permanent --zone=public --query-port=8080/tcp || true) == no ]] ||
	lab_die "firewalld killed mid-request, yet 8080/tcp is in the permanent configuration"
expect_probe 8080 ipv4 reject-admin-prohibited "after firewalld was killed mid-request and restarted"
lab_pass "firewalld hung then killed mid-request: answered after ${mid_elapsed} s (killed at 2 s), exit 3 (\"$(head -n 1 "$LAB_DIR/mid.err")\"), portcheckd alive, nothing applied"

# --- 8. firewalld stopped: refused, nothing written -------------------------------------

lab_firewalld_stop
[[ $(lab_fwcmd --state 2>&1 || true) == "not running" ]] || lab_die "firewalld did not stop"
rm -rf "$LAB_DIR/s-stopped.conf"
cp -a "$LAB_DIR/fwconf" "$LAB_DIR/s-stopped.conf"
lab_nft list ruleset >"$LAB_DIR/nft-before" || lab_die "nft list ruleset failed"
lab_pc stopped open 80/tcp --permanent
lab_expect_rc stopped 3
grep -qi 'firewalld' "$LAB_DIR/stopped.out" "$LAB_DIR/stopped.err" ||
	lab_die "open with firewalld stopped: the message does not mention firewalld: $(lab_shown stopped)"
lab_nft list ruleset >"$LAB_DIR/nft-after" || lab_die "nft list ruleset failed"
cmp -s "$LAB_DIR/nft-before" "$LAB_DIR/nft-after" ||
	lab_die "open with firewalld stopped changed the nftables ruleset: $(diff "$LAB_DIR/nft-before" "$LAB_DIR/nft-after" | head -20)"
files=$(fw_files_changed s-stopped) || lab_die "cannot compare the configuration files"
[[ -z $files ]] || lab_die "open with firewalld stopped changed the configuration: $files"
lab_pass "open 80/tcp --permanent with firewalld stopped: exit 3, \"$(head -n 1 "$LAB_DIR/stopped.err")\"; ruleset and configuration untouched"
lab_firewalld_restart
expect_probe 80 ipv4 reject-admin-prohibited "after firewalld came back (nothing may have been half-applied)"
[[ $(lab_fwcmd --permanent --zone=public --query-port=80/tcp || true) == no ]] ||
	lab_die "after firewalld came back, 80/tcp is in the permanent zone public"
lab_pass "firewalld back: 80/tcp not in the permanent configuration, probe rejected"
