#!/bin/bash
# test_firewalld_stopped.sh: firewalld hangs, then goes away, under a running
# portcheckd. The daemon must keep answering (bounded), report what was
# unavailable, and say so in the text output too. Also: a caller who may not
# read gets a clear refusal and exit status 3.
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
lab_listeners tcp:0.0.0.0:22:sshd 'tcp:[::]:80:nginx:dual'

# firewalld_running FILE: prints the report's firewalld.running (true/false/missing).
firewalld_running() {
	"$LAB_PYTHON" -c '
import json, sys
try:
    fw = json.load(open(sys.argv[1])).get("firewalld")
except ValueError:
    print("not-json"); sys.exit()
print({True: "true", False: "false"}.get((fw or {}).get("running"), "missing"))
' "$1"
}

# status_json FILE: one bounded `status --json`; fails unless it answered (0 or 1).
status_json() {
	local rc=0 out=$1
	shift
	lab_portcheck status --json "$@" >"$out" || rc=$?
	((rc == 0 || rc == 1)) ||
		lab_die "portcheck status --json: exit status $rc (124: no answer in 30 s); output: $(head -c 2000 "$1")"
}

lab_portcheckd_start
status_json "$LAB_DIR/before.json"
[[ $(firewalld_running "$LAB_DIR/before.json") == true ]] ||
	lab_die "with firewalld up, the report does not say firewalld.running true"
lab_pass "with firewalld running, status reports firewalld.running true"

# An unprivileged caller (nobody, no groups) is refused, clearly, with status 3.
rc=0
text=$(_lab_in "$LAB_SRV" timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$PORTCHECK" --socket "$LAB_DIR/pc.sock" status 2>&1) || rc=$?
((rc == 3)) || lab_die "status as nobody: exit status $rc, want 3; output: $text"
grep -iq 'permission denied' <<<"$text" || lab_die "status as nobody does not say permission denied: $text"
lab_pass "status as an unprivileged user: exit 3, \"$(head -n1 <<<"$text")\""

# A firewalld that does not answer (stopped with SIGSTOP): the daemon answers
# within its D-Bus budget and says firewalld was unavailable; nothing hangs.
kill -STOP "$LAB_FIREWALLD_PID"
start=$SECONDS
# A hung firewalld changes nothing the daemon watches: its kept answer stays true for
# the ruleset. --fresh makes it ask firewalld again.
status_json "$LAB_DIR/hung.json" --fresh
kill -CONT "$LAB_FIREWALLD_PID"
[[ $(firewalld_running "$LAB_DIR/hung.json") == false ]] ||
	lab_die "with firewalld hung, the report does not say firewalld.running false: $(head -c 2000 "$LAB_DIR/hung.json")"
grep -q 'timeout' "$LAB_DIR/hung.json" || lab_die "with firewalld hung, the report does not say it timed out"
lab_pass "firewalld hung (SIGSTOP): status answered in $((SECONDS - start)) s, firewalld reported unavailable (timeout)"
status_json "$LAB_DIR/resumed.json" --fresh
[[ $(firewalld_running "$LAB_DIR/resumed.json") == true ]] || lab_die "after SIGCONT the report does not say running"
lab_pass "firewalld resumed: status reports it running again"

lab_firewalld_stop
[[ $(lab_fwcmd --state 2>&1 || true) == "not running" ]] || lab_die "firewalld did not stop"
# Ground truth: firewalld removed its rules on exit (CleanupOnExit), 80 now answers.
[[ $(lab_probe_tcp 80 ipv4) == open ]] || lab_die "after firewalld stopped, 80/tcp does not probe open"
lab_pass "firewalld stopped; 80/tcp now probes open from the client"

# The first request after the stop must be answered. The daemon learns of the
# stop asynchronously (the bus name vanishing), so allow it a few seconds to
# say so: poll, bounded in tries and time.
after=$LAB_DIR/after.json
status_json "$after"
lab_pass "portcheckd still answers status --json after firewalld stopped"
state=$(firewalld_running "$after")
for ((i = 0; i < 20 && SECONDS < 120; i++)); do
	[[ $state == false ]] && break
	sleep 0.5
	status_json "$after"
	state=$(firewalld_running "$after")
done
[[ $state == false ]] ||
	lab_die "status --json does not say firewalld.running false (got '$state'): $(head -c 2000 "$after")"
lab_pass "status --json says \"firewalld\": {\"running\": false}"

rc=0
text=$(lab_portcheck status 2>&1) || rc=$?
((rc == 0 || rc == 1)) || lab_die "portcheck status: exit status $rc; output: $text"
grep -Eiq 'firewalld.*not running' <<<"$text" ||
	lab_die "the text output does not say firewalld is not running: $text"
lab_pass "the text output says firewalld is not running"
