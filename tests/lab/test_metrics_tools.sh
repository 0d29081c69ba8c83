#!/bin/bash
# test_metrics_tools.sh: what `portcheck check --textfile` writes is accepted by
# Prometheus' own tools, and so are the alerting rules:
#   - `promtool check metrics` on the metrics of a recorded Status reply (the lab's
#     incident host, with two SO_REUSEPORT sockets sharing 7000/tcp), of a reply with
#     hostile process names (quote, backslash, newline, escape sequences, non-ASCII,
#     several sockets on one address), and of a check where portcheckd did not answer;
#   - TextfilePath= and [Findings] from portcheck.conf under PORTCHECK_CONFIG_ROOT, and a
#     bad configuration: exit 2 naming file:line, nothing written;
#   - `promtool check rules` and `promtool test rules` (tests/unit/data/
#     check_alerts.test.yml) on etc/portcheck-alerts.rules.yml.
# portcheckd is stood in for by a few lines of Python that answer every Varlink call
# with a recorded reply, so this needs neither root nor a network. Needs promtool
# (Debian: prometheus; tests/install-deps.sh installs it): exits 77 (SKIP) without.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
data=$src/tests/unit/data
rules=$src/etc/portcheck-alerts.rules.yml

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$here/lab.sh"

if ! command -v promtool >/dev/null 2>&1; then
	cat >&2 <<'EOF'
************************************************************************************
SKIP: promtool is not installed, so the metrics and the alerting rules are NOT
checked against Prometheus' own parser. Install it (Debian: apt-get install
prometheus; or run tests/install-deps.sh) and run this test again.
************************************************************************************
EOF
	exit 77
fi
command -v python3 >/dev/null 2>&1 || {
	echo "SKIP: test_metrics_tools.sh needs python3" >&2
	exit 77
}
lab_binaries || lab_die "portcheck is not built: set PORTCHECK (now '$PORTCHECK')"

tmp=$(mktemp -d /tmp/pcmetrics.XXXXXX)
fake_pid=""
cleanup() {
	local rc=$?
	# set -e is still on here: the killed stand-in's status (143) must not become ours.
	if [[ -n $fake_pid ]]; then
		kill "$fake_pid" 2>/dev/null || true
		wait "$fake_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
	return "$rc"
}
trap cleanup EXIT

# fake_portcheckd REPLY.json: answer every call on $tmp/pc.sock with REPLY's parameters,
# for at most 60 s and 100 calls.
fake_portcheckd() {
	[[ -z $fake_pid ]] || {
		kill "$fake_pid" 2>/dev/null
		wait "$fake_pid" 2>/dev/null || true
	}
	rm -f "$tmp/pc.sock" "$tmp/fake.ready"
	python3 - "$tmp/pc.sock" "$1" "$tmp/fake.ready" <<'PY' &
import json, socket, sys
path, reply_file, ready = sys.argv[1:4]
reply = json.dumps({"parameters": json.load(open(reply_file))}).encode() + b"\0"
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(4)
s.settimeout(60)
open(ready, "w").close()
for _ in range(100):
    c, _ = s.accept()
    c.settimeout(10)
    buf = b""
    while b"\0" not in buf:
        d = c.recv(65536)
        if not d:
            break
        buf += d
    c.sendall(reply)
    c.close()
PY
	fake_pid=$!
	lab_wait --pid "$fake_pid" 10 "the stand-in portcheckd" test -e "$tmp/fake.ready" ||
		lab_die "the stand-in portcheckd did not start"
}

# check NAME ARGS...: portcheck check against the stand-in; stdout, stderr in
# $tmp/NAME.out, .err; exit status in RC.
check() {
	local name=$1
	shift
	RC=0
	timeout 30 "$PORTCHECK" --socket "$tmp/pc.sock" check "$@" >"$tmp/$name.out" \
		2>"$tmp/$name.err" || RC=$?
}

expect_rc() {
	((RC == $2)) ||
		lab_die "$1: exit $RC, want $2; stdout: $(head -c 800 "$tmp/$1.out"); stderr: $(head -c 800 "$tmp/$1.err")"
}

# promtool_metrics FILE WHAT: promtool accepts FILE, without a single lint remark, and
# no series is there twice: promtool does not check that, but node_exporter's textfile
# collector fails the whole file ("collected before with the same name and label values").
promtool_metrics() {
	local out dup
	out=$(promtool check metrics <"$1" 2>&1) || lab_die "promtool check metrics rejects $2: $out"
	[[ -z $out ]] || lab_die "promtool check metrics complains about $2: $out"
	dup=$(grep -v '^#' "$1" | sed 's/ [^ ]*$//' | sort | uniq -d)
	[[ -z $dup ]] || lab_die "series twice in $2: $dup"
}

# metric FILE SERIES: the value of the sample line that starts with SERIES.
metric() {
	awk -v s="$2" 'index($0, s " ") == 1 { print $NF }' "$1"
}

# --- a recorded reply ----------------------------------------------------------------

fake_portcheckd "$data/check_status_lab.json"
check lab --quiet --textfile "$tmp/lab.prom"
expect_rc lab 1
[[ ! -s $tmp/lab.out ]] || lab_die "--quiet printed: $(cat "$tmp/lab.out")"
promtool_metrics "$tmp/lab.prom" "the metrics of the recorded lab reply"
[[ $(metric "$tmp/lab.prom" 'portcheck_listener_blocked{proto="tcp",port="7000",address="0.0.0.0",process="haproxy-a,haproxy-b",zone="public"}') == 1 ]] ||
	lab_die "the two SO_REUSEPORT sockets on 7000/tcp are not one series: $(grep 7000 "$tmp/lab.prom")"
[[ $(metric "$tmp/lab.prom" portcheck_findings) == 4 && $(metric "$tmp/lab.prom" portcheck_last_check_success) == 1 ]] ||
	lab_die "findings or success wrong: $(grep -v '^#' "$tmp/lab.prom" | tail -5)"
[[ $(stat -c %a "$tmp/lab.prom") == 644 ]] || lab_die "the metrics file's mode is $(stat -c %a "$tmp/lab.prom"), want 644"
leftovers=$(find "$tmp" -name '.lab.prom.*')
[[ -z $leftovers ]] || lab_die "temporary files left: $leftovers"
lab_pass "recorded lab reply: exit 1, promtool check metrics clean, 7000/tcp (two sockets) one series, mode 0644"

# --- hostile names, several sockets on one address -----------------------------------------

python3 - "$tmp/hostile.json" <<'PY'
import json, sys
def listener(port, name, exposure, address="0.0.0.0", proto="tcp", unit=None):
    return {"protocol": proto, "address": address, "port": port, "families": ["ipv4"],
            "process": {"pid": port, "name": name, "unit": unit}, "exposure": exposure,
            "paths": [], "firewalld": {"zone": 'pub"lic\\', "allowed_by": None,
                                       "runtime_only": False},
            "fix": {"command": "portcheck open %d/%s --permanent" % (port, proto)}}
ls = [listener(1, 'q"uote', "blocked"), listener(2, "back\\slash", "partial"),
      listener(3, "new\nline", "unknown"), listener(4, "\x1b[31mred\x1b[0m", "blocked"),
      listener(5, "caf\u00e9 \u2603", "local-only", address="127.0.0.1"),
      listener(6, "tab\there\r", "exposed-somehow"),
      listener(7, "w1", "open", address="::"), listener(7, "w2", "blocked", address="::"),
      listener(7, "w1", "open", address="::"), listener(7, "w3", "open", proto="udp")]
json.dump({"version": 1, "listeners": ls}, open(sys.argv[1], "w"))
PY
fake_portcheckd "$tmp/hostile.json"
check hostile --textfile "$tmp/hostile.prom"
expect_rc hostile 1
promtool_metrics "$tmp/hostile.prom" "hostile process names"
n=$(grep -c '^portcheck_listener_blocked{' "$tmp/hostile.prom")
((n == 8)) || lab_die "want 8 listener series (3 sockets on [::]:7000/tcp merged), got $n"
grep -qF 'process="q\"uote",zone="pub\"lic\\"' "$tmp/hostile.prom" ||
	lab_die "quote and backslash not escaped: $(grep 'port="1"' "$tmp/hostile.prom" | head -1)"
# The client sanitises names as the daemon does where it reads them (a control byte is
# \xNN), and the label escaping then doubles that backslash.
grep -qF 'process="new\\x0aline"' "$tmp/hostile.prom" ||
	lab_die "newline not escaped: $(grep 'port="3"' "$tmp/hostile.prom" | head -1)"
# The listener named with an escape sequence is blocked, so check prints it as a
# finding: its name must be there, escaped, and no raw ESC byte anywhere.
grep -qF '4/tcp on 0.0.0.0 (\x1b[31mred\x1b[0m): blocked' "$tmp/hostile.out" ||
	lab_die "no finding for the listener named with an escape sequence, escaped: $(grep '^4/' "$tmp/hostile.out" | head -1 | od -c | head -3)"
if LC_ALL=C grep -q $'\x1b' "$tmp/hostile.out" "$tmp/hostile.err"; then
	lab_die "an escape sequence from a process name reached the output"
fi
lab_pass "hostile process names: promtool check metrics clean, labels escaped, output stripped"

# --- node_exporter, the real consumer -----------------------------------------------------

# Its textfile collector parses the file itself: a syntax error makes
# node_textfile_scrape_error 1; a series there twice is dropped with "error gathering
# metrics" in its log (and the scrape still says 0). It listens on TCP, so it runs in a
# network namespace of its own (loopback only, gone when it exits): root only.
node_exporter_reads() {
	local file=$1 dir=$tmp/nodeexp out
	rm -rf "$dir"
	mkdir "$dir"
	cp "$file" "$dir/"
	# shellcheck disable=SC2016 # expanded by the inner shell
	out=$(timeout 60 unshare --net --fork bash -c '
		set -e
		ip link set lo up
		prometheus-node-exporter --collector.disable-defaults --collector.textfile \
			--collector.textfile.directory="$1" --web.listen-address=127.0.0.1:9100 \
			>"$2/node_exporter.log" 2>&1 &
		pid=$!
		trap "kill $pid 2>/dev/null" EXIT
		for ((i = 0; i < 100; i++)); do
			python3 -c "import urllib.request as u; print(u.urlopen(\"http://127.0.0.1:9100/metrics\", timeout=5).read().decode())" 2>/dev/null && exit 0
			sleep 0.1
		done
		exit 1' _ "$dir" "$tmp") || lab_die "node_exporter did not serve the textfile: $(tail -5 "$tmp/node_exporter.log")"
	grep -q '^node_textfile_scrape_error 0$' <<<"$out" ||
		lab_die "node_exporter's textfile collector rejects ${file##*/}: $(grep -i 'textfile' <<<"$out" | head -5); log: $(tail -5 "$tmp/node_exporter.log")"
	if grep -q 'level=error' "$tmp/node_exporter.log"; then
		lab_die "node_exporter logged an error reading ${file##*/}: $(grep 'level=error' "$tmp/node_exporter.log" | head -3)"
	fi
	# Every sample of the file made it through.
	[[ $(grep -c '^portcheck_' <<<"$out") == $(grep -c '^portcheck_' "$file") ]] ||
		lab_die "node_exporter exports $(grep -c '^portcheck_' <<<"$out") portcheck samples of ${file##*/}'s $(grep -c '^portcheck_' "$file")"
}
if [[ $(id -u) -eq 0 ]] && command -v prometheus-node-exporter >/dev/null 2>&1; then
	node_exporter_reads "$tmp/lab.prom"
	node_exporter_reads "$tmp/hostile.prom"
	lab_pass "node_exporter's textfile collector exports every sample of the lab and hostile metrics, no error"
else
	echo "NOTE: node_exporter part skipped (needs root for a private network namespace, and prometheus-node-exporter)" >&2
fi

# --- the configuration -----------------------------------------------------------------

root=$tmp/root
mkdir -p "$root/etc/portcheck/portcheck.conf.d" "$tmp/textfiles"
cat >"$root/etc/portcheck/portcheck.conf" <<EOF
[Check]
TextfilePath=$tmp/textfiles/portcheck.prom
EOF
printf '[Findings]\nIgnorePorts=80/tcp 5353/udp\nIgnoreProcesses=haproxy-a\n' \
	>"$root/etc/portcheck/portcheck.conf.d/50-ignore.conf"
fake_portcheckd "$data/check_status_lab.json"
PORTCHECK_CONFIG_ROOT=$root check cfg
expect_rc cfg 1
promtool_metrics "$tmp/textfiles/portcheck.prom" "the metrics written to TextfilePath="
[[ $(metric "$tmp/textfiles/portcheck.prom" portcheck_findings) == 2 ]] ||
	lab_die "with 80/tcp, 5353/udp and haproxy-a ignored, want 2 findings: $(grep -v '^#' "$tmp/textfiles/portcheck.prom" | tail -5)"
grep -q '^7000/tcp on 0.0.0.0 (haproxy-b): blocked' "$tmp/cfg.out" ||
	lab_die "7000/tcp should remain a finding under haproxy-b: $(cat "$tmp/cfg.out")"
if grep -q '^80/tcp\|^5353/udp' "$tmp/cfg.out"; then
	lab_die "an ignored listener is still a finding: $(cat "$tmp/cfg.out")"
fi
lab_pass "PORTCHECK_CONFIG_ROOT: TextfilePath= written, drop-in [Findings] ignores applied (2 findings)"

printf '[Check]\nTextfilePath=%s/textfiles/other.prom\n[Findings]\nIgnorePrts=80\n' "$tmp" >"$tmp/bad.conf"
check bad --config "$tmp/bad.conf"
expect_rc bad 2
grep -qF "$tmp/bad.conf:4:" "$tmp/bad.err" || lab_die "the config error does not name file:line: $(cat "$tmp/bad.err")"
[[ ! -e $tmp/textfiles/other.prom ]] || lab_die "metrics written despite the bad configuration"
check badn --config "$tmp/bad.conf" --nagios
expect_rc badn 3
grep -q '^PORTCHECK UNKNOWN - .*bad.conf:4:' "$tmp/badn.out" || lab_die "--nagios with a bad config: $(cat "$tmp/badn.out")"
lab_pass "bad configuration: exit 2 (\"$(head -n 1 "$tmp/bad.err")\"), nothing written; --nagios: UNKNOWN, exit 3"

# --- no answer -------------------------------------------------------------------------

kill "$fake_pid" 2>/dev/null
wait "$fake_pid" 2>/dev/null || true
fake_pid=""
rm -f "$tmp/pc.sock"
check down --textfile "$tmp/lab.prom"
expect_rc down 3
promtool_metrics "$tmp/lab.prom" "the metrics of a check without an answer"
[[ $(metric "$tmp/lab.prom" portcheck_last_check_success) == 0 ]] || lab_die "no answer, yet success is not 0"
if grep -q '^portcheck_listener' "$tmp/lab.prom"; then
	lab_die "no answer, yet listener series were written"
fi
check downn --nagios
expect_rc downn 3
grep -q '^PORTCHECK UNKNOWN - portcheckd is not running' "$tmp/downn.out" ||
	lab_die "--nagios without portcheckd: $(cat "$tmp/downn.out")"
lab_pass "no portcheckd: exit 3, metrics written with portcheck_last_check_success 0 (promtool clean); --nagios UNKNOWN"

# --- the alerting rules -----------------------------------------------------------------

out=$(promtool check rules "$rules" 2>&1) || lab_die "promtool check rules: $out"
out=$(cd "$data" && promtool test rules check_alerts.test.yml 2>&1) || lab_die "promtool test rules: $out"
lab_pass "promtool check rules and test rules: etc/portcheck-alerts.rules.yml"
