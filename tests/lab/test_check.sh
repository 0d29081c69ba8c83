#!/bin/bash
# test_check.sh: `portcheck check` against the real daemon and a real firewalld, every
# claim about reachability checked with a real probe from the client namespace:
#   - the incident host plus a runtime-only port (9090), mDNS on 5353/udp (ignored by a
#     drop-in's [Findings]) and two SO_REUSEPORT sockets on 7000/tcp under different
#     process names (one metrics series, one finding);
#   - one line per finding with its fix, nothing with --quiet, the Nagios line, --json
#     with the ignored listener marked; exit 1 (Nagios: 2);
#   - the metrics file from TextfilePath= ($LAB_DIR/confroot), mode 0644, whose
#     blocked/open values agree with the probes (and with promtool, when installed);
#   - running the fix commands check printed: exit 0, Nagios OK, probes open, the
#     runtime-only setting still counted; after `firewall-cmd --reload` it is gone and
#     9090 is a finding, as the metric warned;
#   - portcheckd stopped: exit 3, metrics with portcheck_last_check_success 0; Nagios
#     UNKNOWN; a bad --config: exit 2 naming file:line.
#
# Needs root (exits 77, SKIP, otherwise) and the built binaries in PORTCHECK and
# PORTCHECKD (default: build/ of this checkout).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

lab_require_root nmap python3
lab_binaries || lab_die "portcheck is not built: set PORTCHECK and PORTCHECKD (now '$PORTCHECK', '$PORTCHECKD')"
lab_init
lab_incident
lab_listeners tcp:0.0.0.0:9090:cockpit-ws udp:0.0.0.0:5353:avahi-daemon

# Two processes sharing 0.0.0.0:7000 with SO_REUSEPORT, as haproxy or nginx workers do.
cat >"$LAB_DIR/reuseport.py" <<'PY'
import ctypes, os, signal, socket, sys, time
libc = ctypes.CDLL(None)
r, w = os.pipe()
for name in (b"haproxy-a", b"haproxy-b"):
    if os.fork() == 0:
        libc.prctl(15, name, 0, 0, 0)                # PR_SET_NAME
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)       # PR_SET_PDEATHSIG
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("0.0.0.0", 7000))
        s.listen(16)
        os.write(w, b"x")
        s.settimeout(1)
        end = time.time() + 600
        while time.time() < end:
            try:
                s.accept()[0].close()
            except OSError:
                pass
        os._exit(0)
got = b""
while len(got) < 2:
    got += os.read(r, 2)
print("ready", flush=True)
time.sleep(600)
PY
_lab_spawn "$LAB_SRV" "$LAB_DIR/reuseport.log" "$LAB_PYTHON" "$LAB_DIR/reuseport.py"
lab_wait --pid "$LAB_SPAWNED" 15 "the SO_REUSEPORT listeners" grep -qx ready "$LAB_DIR/reuseport.log" ||
	lab_die "the SO_REUSEPORT listeners did not start"

# Someone opened 9090 at runtime only: reachable now, gone on the next reload.
lab_fwcmd --zone=public --add-port=9090/tcp >/dev/null || lab_die "cannot open 9090/tcp at runtime"

# The configuration check (and portcheckd) read: lab_portcheck and lab_portcheckd_start
# look it up under $LAB_DIR/confroot. A main file and a drop-in.
conf_root=$LAB_DIR/confroot
prom=$LAB_DIR/textfile/portcheck.prom
mkdir -p "$conf_root/etc/portcheck/portcheck.conf.d" "$LAB_DIR/textfile"
printf '[Check]\nTextfilePath=%s\n' "$prom" >"$conf_root/etc/portcheck/portcheck.conf"
printf '[Findings]\n# mDNS is meant for the local network only\nIgnorePorts=5353/udp\n' \
	>"$conf_root/etc/portcheck/portcheck.conf.d/50-mdns.conf"

lab_portcheckd_start

# --- helpers -------------------------------------------------------------------

# metric SERIES: the value of the sample in $prom whose name and labels start with
# SERIES ("portcheck_findings", 'portcheck_listener_blocked{proto="tcp",port="80",').
metric() {
	awk -v s="$1" 'index($0, s) == 1 && $0 !~ /^#/ { print $NF; n++ } END { exit n != 1 }' "$prom" ||
		lab_die "not exactly one sample $1 in $prom: $(grep -F "$1" "$prom" | head -3)"
}

# agree PORT: the metrics' verdict on PORT/tcp and a real probe from the client agree.
# Called as a command, never inside $(...): there lab_die would only end the subshell.
agree() {
	local port=$1 blocked exposure probe
	blocked=$(metric "portcheck_listener_blocked{proto=\"tcp\",port=\"$port\",")
	exposure=$(grep "^portcheck_listener_exposure{proto=\"tcp\",port=\"$port\"," "$prom" |
		awk '$NF == 1' | sed 's/.*exposure="\([^"]*\)".*/\1/')
	probe=$(lab_probe_tcp "$port" ipv4)
	case $exposure in
	open) [[ $blocked == 0 && $probe == open ]] ;;
	blocked) [[ $blocked == 1 && $probe == reject-* ]] ;;
	*) false ;;
	esac || lab_die "$port/tcp: the metrics say exposure $exposure, blocked $blocked; the probe says $probe"
	lab_log "$port/tcp $exposure, probe $probe"
}

# promtool_ok: promtool accepts $prom (when installed: test_metrics_tools.sh skips loudly).
promtool_ok() {
	local out
	command -v promtool >/dev/null 2>&1 || return 0
	out=$(promtool check metrics <"$prom" 2>&1) || lab_die "promtool check metrics rejects $prom: $out"
	[[ -z $out ]] || lab_die "promtool check metrics complains about $prom: $out"
}

# --- 1. the incident, as check sees it ------------------------------------------------

lab_pc c1 check
lab_expect_rc c1 1
n=$(wc -l <"$LAB_DIR/c1.out")
((n == 3)) || lab_die "want 3 findings (80/tcp, 7000/tcp, 8000/tcp), got $n: $(lab_shown c1)"
grep -q '^80/tcp on :: (nginx): blocked by inet firewalld filter_IN_public handle [0-9]*: reject with icmpx admin-prohibited; fix: portcheck open http --zone public --permanent$' "$LAB_DIR/c1.out" ||
	lab_die "no finding line for nginx on 80/tcp with its fix: $(lab_shown c1)"
grep -q '^7000/tcp on 0.0.0.0 (haproxy-a,haproxy-b): blocked .*; fix: portcheck open 7000/tcp --zone public --permanent$' "$LAB_DIR/c1.out" ||
	lab_die "the two SO_REUSEPORT sockets on 7000/tcp are not one finding: $(lab_shown c1)"
grep -q '^8000/tcp on 0.0.0.0 (docker-proxy): partly blocked ' "$LAB_DIR/c1.out" ||
	lab_die "8000/tcp is not partly blocked: $(lab_shown c1)"
if grep -q '5353\|5432\|9090\|^22/' "$LAB_DIR/c1.out"; then
	lab_die "an ignored, local-only or open listener is a finding: $(lab_shown c1)"
fi
lab_pass "check: exit 1, 3 findings with their fixes (5353/udp ignored by the drop-in, 7000/tcp's two sockets one line)"
sed 's/^/  /' "$LAB_DIR/c1.out"

[[ -s $prom ]] || lab_die "TextfilePath= $prom not written"
[[ $(stat -c %a "$prom") == 644 ]] || lab_die "$prom has mode $(stat -c %a "$prom"), want 644"
leftovers=$(find "$LAB_DIR/textfile" -mindepth 1 -not -name portcheck.prom)
[[ -z $leftovers ]] || lab_die "left in the textfile directory: $leftovers"
[[ $(metric portcheck_findings) == 3 ]] || lab_die "portcheck_findings is not 3"
[[ $(metric portcheck_last_check_success) == 1 ]] || lab_die "portcheck_last_check_success is not 1"
[[ $(metric portcheck_runtime_only_rules) == 1 ]] || lab_die "portcheck_runtime_only_rules is not 1 (9090/tcp is runtime only)"
[[ $(metric 'portcheck_listener_blocked{proto="tcp",port="8000",') == 1 ]] || lab_die "8000/tcp (partial) is not blocked=1"
[[ $(metric 'portcheck_listener_blocked{proto="tcp",port="7000",address="0.0.0.0",process="haproxy-a,haproxy-b",zone="public"}') == 1 ]] ||
	lab_die "7000/tcp is not one series for both processes"
if grep -q 'port="5353"' "$prom"; then
	lab_die "the ignored 5353/udp has series in $prom"
fi
ts=$(metric portcheck_last_check_timestamp_seconds)
((${ts%.*} >= $(date +%s) - 120)) || lab_die "portcheck_last_check_timestamp_seconds $ts is not now"
promtool_ok
for port in 22 80 7000 9090; do
	agree "$port"
done
lab_pass "metrics in TextfilePath= (mode 0644): findings 3, runtime-only 1, and blocked/open for 22, 80, 7000, 9090 agree with real probes"

lab_pc q check --quiet
lab_expect_rc q 1
[[ ! -s $LAB_DIR/q.out ]] || lab_die "--quiet printed something: $(lab_shown q)"
lab_pc n1 check --nagios
lab_expect_rc n1 2
grep -qE '^PORTCHECK CRITICAL - 2 blocked, 1 partly blocked: 80/tcp on :: \(nginx\) blocked, 7000/tcp .* \| findings=3;0;;0 blocked=2;;0;0 partial=1;0;;0 unknown=0;0;;0 open=2;;;0 local_only=1;;;0 ignored=1;;;0 runtime_only_rules=1;;;0$' "$LAB_DIR/n1.out" ||
	lab_die "unexpected Nagios line: $(lab_shown n1)"
lab_pc j1 check --json
lab_expect_rc j1 1
"$LAB_PYTHON" - "$LAB_DIR/j1.out" <<'PY' || lab_die "check --json: $(lab_shown j1)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["version"] == 2, r.get("version")
marks = {(l["protocol"], l["port"], l["process"]["name"]): l.get("ignored") for l in r["listeners"]}
assert marks.pop(("udp", 5353, "avahi-daemon")) is True, marks
assert all(v is False for v in marks.values()), marks
PY
lab_pass "check --quiet: exit 1, silent; --nagios: exit 2, CRITICAL with perfdata; --json: exit 1, 5353/udp marked ignored"

# --- 2. the fixes check printed ----------------------------------------------------------

mapfile -t fixes < <(sed -n 's/.*; fix: \(portcheck open .*\)$/\1/p' "$LAB_DIR/c1.out")
((${#fixes[@]} == 3)) || lab_die "want 3 fix commands, got ${#fixes[@]}: $(cat "$LAB_DIR/c1.out")"
for fix in "${fixes[@]}"; do
	read -ra words <<<"$fix"
	lab_pc fix "${words[@]:1}"
	lab_expect_rc fix 0
	lab_log "ran: $fix"
done
got=1
for ((i = 0; i < 20; i++)); do
	lab_pc c2 check
	got=$RC
	((got == 0)) && break
	sleep 0.5
done
((got == 0)) || lab_die "after running the fixes, check still finds: $(lab_shown c2)"
[[ ! -s $LAB_DIR/c2.out ]] || lab_die "exit 0 but lines printed: $(lab_shown c2)"
[[ $(metric portcheck_findings) == 0 ]] || lab_die "portcheck_findings is not 0 after the fixes"
[[ $(metric portcheck_runtime_only_rules) == 1 ]] || lab_die "9090/tcp is still runtime only, yet portcheck_runtime_only_rules is not 1"
for port in 80 7000; do
	agree "$port"
done
promtool_ok
lab_pc n2 check --nagios
lab_expect_rc n2 0
grep -qE '^PORTCHECK OK - no listener blocked \(5 open, 1 local-only, 1 ignored\) \| findings=0;' "$LAB_DIR/n2.out" ||
	lab_die "unexpected Nagios line: $(lab_shown n2)"
lab_pass "the ${#fixes[@]} fixes check printed work: check exit 0, silent, findings 0, Nagios OK; 80 and 7000 probe open"

# --- 3. the reload the runtime-only metric warned about ----------------------------------

lab_fwcmd --reload >/dev/null || lab_die "firewall-cmd --reload failed"
got=0
for ((i = 0; i < 20; i++)); do
	lab_pc c3 check
	got=$RC
	((got == 1)) && break
	sleep 0.5
done
((got == 1)) || lab_die "after the reload, 9090/tcp (runtime only) should be a finding: $(lab_shown c3)"
grep -q '^9090/tcp on 0.0.0.0 (cockpit-ws): blocked ' "$LAB_DIR/c3.out" || lab_die "9090/tcp is not the finding: $(lab_shown c3)"
[[ $(metric portcheck_runtime_only_rules) == 0 ]] || lab_die "portcheck_runtime_only_rules is not 0 after the reload"
agree 9090
lab_pass "after firewall-cmd --reload: 9090/tcp blocked (probe rejected), runtime-only settings 0, as the metric warned"

# --- 4. no answer, bad configuration ------------------------------------------------------

lab_pc bad check --config "$conf_root/etc/portcheck/portcheck.conf.d/missing.conf"
lab_expect_rc bad 2
printf '[Findings]\nIgnorePorts=80/tcpx\n' >"$LAB_DIR/bad.conf"
lab_pc bad check --config "$LAB_DIR/bad.conf"
lab_expect_rc bad 2
grep -qF "$LAB_DIR/bad.conf:2:" "$LAB_DIR/bad.err" || lab_die "the config error does not name file:line: $(lab_shown bad)"
lab_pass "bad --config: exit 2, \"$(head -n 1 "$LAB_DIR/bad.err")\""

_lab_stop 5 "$LAB_PORTCHECKD_PID:$(_lab_starttime "$LAB_PORTCHECKD_PID")"
lab_pc d check
lab_expect_rc d 3
grep -qi 'portcheckd' "$LAB_DIR/d.err" || lab_die "no word on the missing daemon: $(lab_shown d)"
[[ $(metric portcheck_last_check_success) == 0 ]] || lab_die "daemon stopped, yet portcheck_last_check_success is not 0"
if grep -q '^portcheck_listener' "$prom"; then
	lab_die "daemon stopped, yet listener series were written"
fi
promtool_ok
lab_pc dn check --nagios
lab_expect_rc dn 3
grep -q '^PORTCHECK UNKNOWN - portcheckd ' "$LAB_DIR/dn.out" || lab_die "unexpected Nagios line: $(lab_shown dn)"
lab_pass "portcheckd stopped: exit 3 (\"$(head -n 1 "$LAB_DIR/d.err")\"), metrics say success 0 with no listener series; Nagios UNKNOWN"
