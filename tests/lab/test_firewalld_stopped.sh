#!/bin/bash
# test_firewalld_stopped.sh: firewalld goes away under a running portcheckd.
# The daemon must keep answering (bounded), report firewalld as not running,
# and say so in the text output too.
#
# Needs root (exits 77, SKIP, otherwise) and the built binaries in PORTCHECK
# and PORTCHECKD (default: build/ of this checkout).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

lab_require_root
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
	local rc=0
	lab_portcheck status --json >"$1" || rc=$?
	((rc == 0 || rc == 1)) ||
		lab_die "portcheck status --json: exit status $rc (124: no answer in 30 s); output: $(head -c 2000 "$1")"
}

lab_portcheckd_start
status_json "$LAB_DIR/before.json"
[[ $(firewalld_running "$LAB_DIR/before.json") == true ]] ||
	lab_die "with firewalld up, the report does not say firewalld.running true"
lab_pass "with firewalld running, status reports firewalld.running true"

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
