#!/bin/bash
# test_load.sh: portcheckd under load and attack, on the lab's incident host (firewalld's
# public zone, sshd, nginx, postgres, a published container port), with the load
# generator bench/pc_load.c (portcheck-load) speaking Varlink on the socket itself:
#   a  200 clients x 20 Status on one connection each, then 200 x 5 with a connection
#      per call (as `portcheck status` does), then 200 x 5 Status(fresh: true) (no kept
#      answer helps): 0 errors (latency percentiles printed);
#   b  1,000 connections that sent half a message, held by user nobody, then the same
#      reopened 100 ms after each close: root's `portcheck status` still answers, within
#      10 s (times with and without printed);
#   b2 connections of nobody's that trickle one byte a second into a message that never
#      ends: the server closes every one of them (within LOAD_TRICKLE_SECS, default 90);
#   b3 20 users x 40 silent connections, reopened when closed (more than all the slots
#      together): root's status still answers within 10 s;
#   c  300 clients that send Status and close without reading the reply (1.5 s after
#      sending; at random within 2 s; at once; Status(fresh) 0.2-0.8 s later, 10 times),
#      while 100 others keep asking: those get every answer, the daemon is alive
#      afterwards and answers;
#   d  malformed messages (invalid JSON, no NUL and close, huge, binary garbage, deep
#      nesting, bad parameters, pipelining; tests/lab/load_malformed.py): each gets its
#      error or a close within 10 s, and the daemon is alive and answers;
#   e  listeners whose process names hold a UTF-8 character split at byte 15 and an ANSI
#      escape: status exits 1 (findings, not 3), --json is valid JSON with the names
#      escaped as \xNN, the table, check's output and the daemon's log hold no raw ESC;
#   f  firewall changes made with `firewall-cmd --add-port` (runtime) and with `nft`
#      directly: the very next status reflects each one, and agrees with a real
#      connection from the client namespace; f2: the same while 20 clients keep the
#      daemon busy with Status calls (a request made after a change must not be answered
#      by an analysis that began before it);
#   g  `status --fresh` answers, and an analysis ran for it (the daemon's debug log);
#   z  SIGTERM: the daemon exits 0, and no sanitizer report was written at any point
#      (build with -DPORTCHECK_SANITIZE=ON and ASAN_OPTIONS=detect_leaks=1 for the ASan
#      run).
# Timing figures are printed ("FIGURE:" lines and the summary), never asserted: the
# performance targets live in bench/bench_daemon.sh. The bounds asserted only tell a
# wedged daemon from a working one.
#
# Every part runs, even after another failed (a dead daemon is restarted and its log kept
# as portcheckd-diedN.log); the summary lists the failed parts; the exit status is 1 if
# any failed. LOAD_PARTS="a c" runs only those parts (z always runs).
#
# Needs root (exits 77, SKIP, otherwise), the user nobody, and PORTCHECK, PORTCHECKD and
# PORTCHECK_LOAD (ctest sets them; default: build/ of this checkout).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

lab_require_root nft python3 iptables-legacy pkill
lab_binaries || lab_die "portcheck is not built: set PORTCHECK and PORTCHECKD"
if [[ -z ${PORTCHECK_LOAD:-} ]]; then
	PORTCHECK_LOAD=$(dirname "$PORTCHECKD")/portcheck-load
	[[ -x $PORTCHECK_LOAD ]] || PORTCHECK_LOAD=$(dirname "$PORTCHECKD")/../portcheck-load
fi
[[ -x $PORTCHECK_LOAD ]] || lab_die "the load generator is not built: set PORTCHECK_LOAD (now '$PORTCHECK_LOAD')"
getent passwd nobody >/dev/null || lab_die "the user nobody does not exist"
TRICKLE_SECS=${LOAD_TRICKLE_SECS:-90}
[[ $TRICKLE_SECS =~ ^[0-9]+$ ]] && ((TRICKLE_SECS >= 5 && TRICKLE_SECS <= 250)) ||
	lab_die "LOAD_TRICKLE_SECS: 5..250"
PARTS=${LOAD_PARTS:-a b b2 b3 c d e f f2 g h}

lab_init
lab_incident
lab_portcheckd_start

FIGURES=$LAB_DIR/figures
: >"$FIGURES"
PARTS_FAILED=()
DIED=0

# --- helpers -----------------------------------------------------------------------

# figure TEXT: a measured figure, printed now and again in the summary.
figure() {
	echo "FIGURE: $*"
	echo "$*" >>"$FIGURES"
}

# daemon_alive: the daemon under test still runs (a zombie does not).
daemon_alive() {
	local st
	st=$(cat "/proc/$LAB_PORTCHECKD_PID/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[[ ${st:0:1} != Z ]]
}

# daemon_answers: root's `portcheck status` gets an answer (0 or 1).
daemon_answers() {
	local rc=0
	lab_portcheck status >/dev/null 2>&1 || rc=$?
	((rc == 0 || rc == 1))
}

# timed_pc NAME ARGS...: lab_pc NAME ARGS..., with its wall time in MS.
timed_pc() {
	local t0 t1
	t0=$(date +%s%N)
	lab_pc "$@"
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
}

# median N...: the median of integers.
median() {
	printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print NR % 2 ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}

# load NAME ARGS...: the load generator in the server namespace, output in
# $LAB_DIR/NAME.out (and shown), exit status in RC, its RESULT line in RESULT.
load() {
	local name=$1
	shift
	RC=0
	ip netns exec "$LAB_SRV" timeout -k 10 300 "$PORTCHECK_LOAD" --socket "$LAB_DIR/pc.sock" "$@" \
		>"$LAB_DIR/$name.out" 2>&1 || RC=$?
	cat "$LAB_DIR/$name.out"
	RESULT=$(sed -n 's/^RESULT //p' "$LAB_DIR/$name.out")
}

# load_bg NAME ARGS...: the same in the background, inside a part only; LOAD_PID is its
# pid. Stop it with load_stop (SIGTERM: it prints its figures and exits); if the part
# fails first, the part's EXIT trap stops it, so it never loads the next part.
load_bg() {
	local name=$1
	shift
	[[ $BASHPID != "$LAB_MAIN_PID" ]] || lab_die "load_bg: only inside a part"
	# (The trap keeps the part's exit status: a trap's last command would replace it.)
	# shellcheck disable=SC2154 # _rc is the trap's own
	trap '_rc=$?; [[ -z ${LOAD_PID:-} ]] || { kill -TERM "$LOAD_PID" 2>/dev/null; wait "$LOAD_PID"; }; exit $_rc' EXIT
	ip netns exec "$LAB_SRV" timeout -k 10 300 "$PORTCHECK_LOAD" --socket "$LAB_DIR/pc.sock" "$@" \
		>"$LAB_DIR/$name.out" 2>&1 &
	LOAD_PID=$!
	LOAD_NAME=$name
}

load_stop() {
	local rc=0
	# The generator may have ended by itself already; its exit status is not the test's.
	kill -TERM "$LOAD_PID" 2>/dev/null || rc=$?
	wait "$LOAD_PID" || rc=$?
	LOAD_PID=""
	cat "$LAB_DIR/$LOAD_NAME.out"
	RESULT=$(sed -n 's/^RESULT //p' "$LAB_DIR/$LOAD_NAME.out")
	return 0
}

# val KEY: KEY's value in RESULT ("" if absent, which no assertion accepts).
val() {
	sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" <<<"$RESULT"
}

# sanitizer_report FILE OFFSET: print what a sanitizer wrote to FILE after byte OFFSET
# (at most 60 lines; nothing, and success, when it wrote nothing).
sanitizer_report() {
	tail -c +"$(($2 + 1))" "$1" 2>/dev/null | awk '
		/ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)Sanitizer/ { n = 30 }
		n > 0 && shown < 60 { print; n--; shown++ }'
}

# run_part NAME FUNCTION: run one part in a subshell (its lab_die ends the part, not the
# test); then check that the daemon is alive and that no sanitizer complained. A dead
# daemon is restarted for the next parts, its log kept.
run_part() {
	local name=$1 fn=$2 rc log=$LAB_DIR/portcheckd.log offset report
	[[ " $PARTS " == *" $name "* ]] || return 0
	echo
	echo "=== part $name ==="
	offset=$(stat -c %s "$log")
	if ! lab_wait --pid "$LAB_PORTCHECKD_PID" 90 "the daemon to answer before part $name" daemon_answers; then
		echo "FAIL: part $name: the daemon does not answer (wedged by the previous part?)" >&2
		rc=1
	else
		set +e
		(
			set -e
			"$fn"
		)
		rc=$?
		set -e
	fi
	if ! daemon_alive; then
		DIED=$((DIED + 1))
		echo "FAIL: part $name: portcheckd died; its log's tail (kept as portcheckd-died$DIED.log):" >&2
		tail -n 60 "$log" >&2
		mv "$log" "$LAB_DIR/portcheckd-died$DIED.log"
		rm -f "$LAB_DIR/pc.sock" # stale: the new daemon's socket is waited for
		lab_portcheckd_start
		rc=1
	else
		report=$(sanitizer_report "$log" "$offset")
		if [[ -n $report ]]; then
			echo "FAIL: part $name: a sanitizer reported (the daemon or one of its children):" >&2
			echo "$report" >&2
			rc=1
		fi
	fi
	if ((rc == 0)); then
		lab_pass "part $name"
	else
		echo "FAIL: part $name" >&2
		PARTS_FAILED+=("$name")
	fi
}

# --- a: many clients ---------------------------------------------------------------------
part_a() {
	load a-status status --clients 200 --requests 20 --timeout 5000 --deadline 90
	figure "a: 200 clients x 20 Status (a connection each): p50 $(val p50_ms) ms, p90 $(val p90_ms) ms, p99 $(val p99_ms) ms, max $(val max_ms) ms; $(val errors) errors of $(val calls) in $(val elapsed_s) s"
	((RC == 0)) && [[ $(val errors) == 0 && $(val ok) == 4000 ]] ||
		lab_die "200 x 20 Status: $(val errors) errors, $(val ok) good replies of 4000 (exit $RC)"
	lab_pass "200 clients x 20 Status: 4,000 good replies, 0 errors"

	load a-reconnect status --clients 200 --requests 5 --reconnect --timeout 5000 --deadline 90
	figure "a: 200 clients x 5 Status (a connection per call): p50 $(val p50_ms) ms, p99 $(val p99_ms) ms, max $(val max_ms) ms; $(val errors) errors of $(val calls)"
	((RC == 0)) && [[ $(val errors) == 0 && $(val ok) == 1000 ]] ||
		lab_die "200 x 5 Status with a connection per call: $(val errors) errors, $(val ok) good replies of 1000 (exit $RC)"
	lab_pass "200 clients x 5 Status, a connection per call: 1,000 good replies, 0 errors"

	# Every call asks for a fresh analysis: no kept answer helps, the callers must share
	# the analyses (queued, not refused).
	load a-fresh status --clients 200 --requests 5 --parameters '{"fresh":true}' --timeout 30000 --deadline 120
	figure "a: 200 clients x 5 Status(fresh: true): p50 $(val p50_ms) ms, p99 $(val p99_ms) ms, max $(val max_ms) ms; $(val errors) errors of $(val calls) in $(val elapsed_s) s"
	((RC == 0)) && [[ $(val errors) == 0 && $(val ok) == 1000 ]] ||
		lab_die "200 x 5 Status(fresh): $(val errors) errors ($(val error_names)), $(val ok) good replies of 1000 (exit $RC)"
	lab_pass "200 clients x 5 Status(fresh: true): 1,000 good replies, 0 errors"
}

# --- b: idle connections of another user --------------------------------------------------
part_b() {
	local i base=() held=()
	for ((i = 0; i < 5; i++)); do
		timed_pc b-base status
		lab_expect_rc b-base 1
		base+=("$MS")
	done

	# (nobody cannot write a ready file in $LAB_DIR: the holder says "ready" on stdout.)
	load_bg b-hold hold --clients 1000 --hold 120 --user nobody
	lab_wait --pid "$LOAD_PID" 60 "1,000 half-message connections of nobody's" \
		grep -q '^ready' "$LAB_DIR/b-hold.out" ||
		lab_die "the holder did not get its 1,000 connections going"
	echo "holder: $(grep '^ready' "$LAB_DIR/b-hold.out")"
	for ((i = 0; i < 5; i++)); do
		timed_pc b-held status
		if ((RC != 1 || MS >= 10000)); then
			figure "b: root's status: median $(median "${base[@]}") ms alone; with 1,000 half-message connections of nobody's: exit $RC after $MS ms"
			lab_die "with 1,000 idle connections of nobody's, root's status: exit $RC after $MS ms (want 1 within 10 s): $(lab_shown b-held)"
		fi
		held+=("$MS")
	done
	load_stop
	figure "b: root's status: median $(median "${base[@]}") ms alone, $(median "${held[@]}") ms (max $(printf '%s\n' "${held[@]}" | sort -n | tail -n 1) ms) with 1,000 half-message connections of nobody's (the holder: $(val connected) connected, $(val closed_by_server) closed by the server, $(val open_at_end) open at the end)"
	lab_pass "root's status answers while nobody holds 1,000 half-message connections"

	# The same attacker, persistent: every connection the server closes is opened again
	# 100 ms later (a flood of connects at the caps).
	held=()
	load_bg b-flood hold --clients 1000 --reconnect-ms 100 --hold 120 --user nobody
	lab_wait --pid "$LOAD_PID" 60 "1,000 reconnecting half-message connections of nobody's" \
		grep -q '^ready' "$LAB_DIR/b-flood.out" ||
		lab_die "the flooder did not get its 1,000 connections going"
	sleep 2 # into the steady state of refusals, evictions and reconnects
	for ((i = 0; i < 5; i++)); do
		timed_pc b-flooded status
		if ((RC != 1 || MS >= 10000)); then
			figure "b: root's status while nobody floods 1,000 reconnecting half-message connections: exit $RC after $MS ms"
			lab_die "while nobody reconnects 1,000 half-message connections, root's status: exit $RC after $MS ms (want 1 within 10 s): $(lab_shown b-flooded)"
		fi
		held+=("$MS")
	done
	load_stop
	figure "b: root's status: median $(median "${held[@]}") ms (max $(printf '%s\n' "${held[@]}" | sort -n | tail -n 1) ms) while nobody keeps reopening 1,000 half-message connections ($(val connected) connects in $(val elapsed_s) s, $(val closed_by_server) closed by the server)"
	lab_pass "root's status answers while nobody floods the socket with reconnecting half-message connections"
}

# --- b3: many users fill every slot -------------------------------------------------------
b3_holders_gone() {
	local p
	for p in "${B3_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}

part_b3() {
	local u i ms=() connected=0 closed=0 open=0 f
	B3_PIDS=() # global: the EXIT trap runs after this function has returned
	# 20 users (uids without passwd entries: only SO_PEERCRED counts) x 40 silent
	# connections, each reopened 200 ms after the server closes it: more than any
	# per-user cap lets one user hold, and together more than every slot there is.
	trap '_rc=$?; ((${#B3_PIDS[@]} == 0)) || { kill -TERM "${B3_PIDS[@]}" 2>/dev/null; wait "${B3_PIDS[@]}" 2>/dev/null; }; exit $_rc' EXIT
	for ((u = 0; u < 20; u++)); do
		ip netns exec "$LAB_SRV" timeout -k 10 300 "$PORTCHECK_LOAD" --socket "$LAB_DIR/pc.sock" hold \
			--clients 40 --empty --reconnect-ms 200 --hold 120 --user $((60001 + u)) \
			>"$LAB_DIR/b3-hold$u.out" 2>&1 &
		B3_PIDS+=("$!")
	done
	for ((u = 0; u < 20; u++)); do
		lab_wait --pid "${B3_PIDS[u]}" 60 "user $((60001 + u))'s connections" grep -q '^ready' "$LAB_DIR/b3-hold$u.out" ||
			lab_die "holder $u did not get going: $(cat "$LAB_DIR/b3-hold$u.out")"
	done
	sleep 1
	for ((i = 0; i < 5; i++)); do
		timed_pc b3-status status
		if ((RC != 1 || MS >= 10000)); then
			figure "b3: root's status while 20 users hold 800 connections: exit $RC after $MS ms"
			lab_die "while 20 users hold 800 silent connections, root's status: exit $RC after $MS ms (want 1 within 10 s): $(lab_shown b3-status)"
		fi
		ms+=("$MS")
	done
	kill -TERM "${B3_PIDS[@]}"
	# Bounded: once (CI under load, ASan build) a holder spun without stopping on
	# SIGTERM and the test waited for ctest's timeout. The holders are the attack, not
	# the product; one that hangs is killed and said so.
	if ! lab_wait 20 "the holders to stop on SIGTERM" b3_holders_gone; then
		lab_log "WARNING: a portcheck-load holder did not stop on SIGTERM within 20 s: killed (bench/pc_load.c)"
		pkill -KILL -f -- "portcheck-load --socket $LAB_DIR/pc.sock" || true
	fi
	wait "${B3_PIDS[@]}" || true # stopped by us: their exit status is not the test's
	B3_PIDS=()
	for f in "$LAB_DIR"/b3-hold*.out; do
		RESULT=$(sed -n 's/^RESULT //p' "$f")
		# A holder killed above wrote no summary: its connections are not in the sums.
		if [[ -z $RESULT ]]; then
			lab_log "WARNING: $(basename "$f"): no RESULT line (the holder was killed); left out of the figure"
			continue
		fi
		connected=$((connected + $(val connected))) closed=$((closed + $(val closed_by_server))) open=$((open + $(val open_at_end)))
	done
	figure "b3: root's status: median $(median "${ms[@]}") ms (max $(printf '%s\n' "${ms[@]}" | sort -n | tail -n 1) ms) while 20 users x 40 silent connections fill the slots ($connected connects, $closed closed by the server, $open open at the end)"
	lab_pass "root's status answers while 20 users together hold more connections than there are slots"
}

# --- b2: trickling connections ------------------------------------------------------------
part_b2() {
	load b2-trickle hold --clients 20 --trickle 1000 --hold "$TRICKLE_SECS" --until-closed --user nobody
	figure "b2: 20 connections of nobody's trickling a byte a second into a message: $(val closed_by_server) closed by the server (first after $(val first_close_ms) ms, last after $(val last_close_ms) ms), $(val open_at_end) still open after $(val elapsed_s) s"
	[[ $(val open_at_end) == 0 && $(val connect_failed) == 0 ]] ||
		lab_die "$(val open_at_end) of 20 trickling half-message connections still open after ${TRICKLE_SECS} s: a byte now and then keeps them alive"
	lab_pass "connections trickling into a message that never ends are closed by the server"
}

# --- c: clients that leave without reading -----------------------------------------------
part_c() {
	local timing n=0 sent=0
	# Meanwhile 100 clients keep asking (answered from the kept answer): the loop is busy
	# with their events, so a run's end and a client's hangup land in one batch.
	# A connection per call, as `portcheck status` does: one connection may carry at
	# most 1,000 calls, and from the kept answer they would go past that in seconds.
	load_bg c-busy status --clients 100 --requests 1000000 --reconnect --timeout 30000 --deadline 120
	sleep 1
	# Four timings: Status(fresh), 10 rounds, each client gone 0.2-0.8 s later, as its run
	# ends; a fixed 1.5 s (d6e200c, whose loop analysed in line: a reply ready and its
	# client gone while the daemon was busy, the connection freed twice); spread over
	# 2 s; at once (while the analysis is in flight).
	for timing in "--close-after 200 --spread 600 --rounds 10 --parameters {\"fresh\":true}" \
		"--close-after 1500 --spread 0" "--close-after 0 --spread 2000" "--close-after 0 --spread 50"; do
		n=$((n + 1))
		# shellcheck disable=SC2086,SC2089,SC2090 # several options; the JSON has no spaces
		load "c-abandon$n" abandon --clients 300 $timing --deadline 60
		((RC == 0)) || lab_die "the abandoning clients ($timing) did not finish: exit $RC"
		sent=$((sent + $(val sent)))
		daemon_alive || lab_die "portcheckd died after 300 clients ($timing) left without reading their replies"
	done
	load_stop
	figure "c: the 100 clients asking meanwhile: $(val ok) good replies, p50 $(val p50_ms) ms, p99 $(val p99_ms) ms, $(val errors) errors"
	[[ $(val errors) == 0 ]] || lab_die "the clients asking meanwhile saw $(val errors) errors ($(val error_names))"
	# Their replies may still be on the way: ask twice, a moment apart.
	timed_pc c-after status
	lab_expect_rc c-after 1
	figure "c: $sent calls of clients that left without reading; root's status right after: $MS ms"
	((MS < 30000)) || lab_die "status took $MS ms after the abandoning clients"
	sleep 1
	lab_pc c-after2 status
	lab_expect_rc c-after2 1
	daemon_alive || lab_die "portcheckd died after the abandoning clients"
	lab_pass "$sent calls of clients that left without reading: the daemon is alive and answers"
}

# --- d: malformed messages ---------------------------------------------------------------
part_d() {
	ip netns exec "$LAB_SRV" timeout 200 "$LAB_PYTHON" "$LAB_LIB_DIR/load_malformed.py" "$LAB_DIR/pc.sock" ||
		lab_die "malformed messages: see the FAIL lines above"
	daemon_alive || lab_die "portcheckd died on malformed messages"
	lab_pc d-after status
	lab_expect_rc d-after 1
	lab_pass "malformed messages: each refused, the daemon alive and answering"
}

# --- e: process names ---------------------------------------------------------------------
part_e() {
	# 13 ASCII bytes and a 3-byte euro sign: the kernel keeps 15 bytes of comm, the first
	# two of the sign (listeners.py cuts as the kernel does).
	local split='utf8-split-ab€' esc=$'\e[31mred\e[0m' f
	lab_listeners "tcp:0.0.0.0:9001:$split" "tcp:0.0.0.0:9002:$esc"
	local p pid="" comm
	for p in $(ip netns pids "$LAB_SRV"); do
		comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		[[ $comm == utf8-split-ab* ]] && pid=$p && break
	done
	comm=$(od -An -tx1 "/proc/$pid/comm" | tr -d ' \n') || lab_die "no process named utf8-split-ab..."
	[[ $comm == 757466382d73706c69742d6162e2820a ]] ||
		lab_die "the listener's comm is $comm, not 'utf8-split-ab' and half a euro sign"

	lab_pc e-table status
	lab_expect_rc e-table 1
	grep -q '9001' "$LAB_DIR/e-table.out" && grep -q '9002' "$LAB_DIR/e-table.out" ||
		lab_die "the table does not show the listeners 9001 and 9002: $(lab_shown e-table)"
	for f in e-table.out e-table.err; do
		if LC_ALL=C grep -q $'\e' "$LAB_DIR/$f"; then
			lab_die "status prints a raw ESC byte ($f): $(od -c "$LAB_DIR/$f" | grep -m 3 '033')"
		fi
	done
	lab_pass "status with hostile process names: exit 1, the table holds no raw ESC"

	lab_pc e-json status --json
	lab_expect_rc e-json 1
	"$LAB_PYTHON" - "$LAB_DIR/e-json.out" <<'PY' || lab_die "status --json: $(head -c 3000 "$LAB_DIR/e-json.out")"
import json, sys
try:
    r = json.load(open(sys.argv[1], encoding="utf-8"))
except ValueError as e:
    sys.exit("status --json is not JSON: %s" % e)
names = {l["port"]: (l.get("process") or {}).get("name") for l in r["listeners"] if l["port"] in (9001, 9002)}
want = {9001: "utf8-split-ab\\xe2\\x82", 9002: "\\x1b[31mred\\x1b[0m"}
if names != want:
    sys.exit("process names %r, want %r (bytes that are not UTF-8, and control bytes, as \\xNN)" % (names, want))
bad = [(l["port"], l["process"]["name"]) for l in r["listeners"] if l.get("process") and
       any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in l["process"]["name"])]
if bad:
    sys.exit("control characters in process names: %r" % bad)
print("PASS: status --json: valid JSON, names %r" % names)
PY

	lab_pc e-check check
	lab_expect_rc e-check 1
	for f in e-check.out e-check.err portcheckd.log; do
		if LC_ALL=C grep -q $'\e' "$LAB_DIR/$f"; then
			lab_die "a raw ESC byte in $f: $(LC_ALL=C grep -a -m 2 $'\e' "$LAB_DIR/$f" | od -c | head -n 5)"
		fi
	done
	lab_pass "check exits 1 (not 3); neither its output nor the daemon's log holds a raw ESC"
}

# --- f: firewall changes and the very next status ----------------------------------------

# exposure NAME PORT: the exposure of the TCP listener on PORT in the status --json output
# $LAB_DIR/NAME.out ("missing" if none).
exposure() {
	"$LAB_PYTHON" - "$LAB_DIR/$1.out" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
e = sorted({l["exposure"] for l in r["listeners"] if l["protocol"] == "tcp" and l["port"] == int(sys.argv[2])})
print(",".join(e) or "missing")
PY
}

# next_status NAME WHAT PORT EXPOSURE [PROBE]: right after WHAT, the very next status says
# PORT is EXPOSURE, and a connection from the client sees PROBE.
next_status() {
	local name=$1 what=$2 port=$3 want=$4 probe=${5:-} got seen
	lab_pc "$name" status --json
	lab_expect_rc "$name" 0 1
	got=$(exposure "$name" "$port") || lab_die "status --json after $what: not a report: $(head -c 1000 "$LAB_DIR/$name.out")"
	[[ $got == "$want" ]] ||
		lab_die "the status right after $what says $port/tcp is '$got', want '$want' (a stale answer)"
	if [[ -n $probe ]]; then
		seen=$(lab_connect_tcp "$LAB_CLI" "$LAB_SRV_IPV4" "$port")
		[[ $seen == "$probe" ]] ||
			lab_die "after $what a connection to $port/tcp from the client sees '$seen', want '$probe' (portcheck says $got)"
	fi
}

nft_drop_22() {
	lab_nft add table inet pclab_load
	lab_nft add chain inet pclab_load input '{ type filter hook input priority -200; policy accept; }'
	lab_nft add rule inet pclab_load input tcp dport 22 drop
}

part_f() {
	local i probe
	next_status f0 "nothing" 80 blocked "No route to host"
	next_status f0 "nothing" 22 open connected
	for ((i = 1; i <= 3; i++)); do
		lab_fwcmd --add-port=80/tcp >/dev/null
		next_status "f-add$i" "firewall-cmd --add-port=80/tcp" 80 open connected
		lab_fwcmd --remove-port=80/tcp >/dev/null
		next_status "f-remove$i" "firewall-cmd --remove-port=80/tcp" 80 blocked "No route to host"
	done
	lab_pass "firewall-cmd --add-port / --remove-port (runtime), 3 times: the next status agrees with the probe each time"
	for ((i = 1; i <= 2; i++)); do
		nft_drop_22
		# A dropped SYN: the probe times out (3 s), so only the first time.
		probe=""
		((i > 1)) || probe="timed out"
		next_status "f-nft$i" "an nft drop rule for 22" 22 blocked "$probe"
		lab_nft delete table inet pclab_load
		next_status "f-nftdel$i" "deleting that table" 22 open connected
	done
	lab_pass "nft add/delete directly, twice: the next status agrees with the probe each time"
}

# --- h: filtering no event announces ------------------------------------------------------
# iptables-legacy rules live outside nftables: the engine cannot see them, so a verdict
# must become unknown, and no nftables event says that they appeared. The last part: the
# legacy table stays registered in the server namespace until it is deleted.
part_h() {
	next_status h0 "nothing" 22 open connected
	_lab_in "$LAB_SRV" iptables-legacy -w -A INPUT -p tcp --dport 22 -j DROP ||
		lab_die "cannot add an iptables-legacy rule in the server namespace"
	next_status h-legacy "an iptables-legacy drop rule for 22" 22 unknown "timed out"
	lab_pass "an iptables-legacy rule: the very next status says unknown (not the kept 'open'), the probe times out"
}

part_f2() {
	local i
	# 20 clients keep Status calls in flight all the time (errors are not this part's
	# business: part a counts them).
	load_bg f2-load status --clients 20 --requests 1000000 --reconnect --timeout 30000 --deadline 120
	sleep 1
	for ((i = 1; i <= 3; i++)); do
		lab_fwcmd --add-port=80/tcp >/dev/null
		next_status "f2-add$i" "firewall-cmd --add-port=80/tcp under load" 80 open connected
		lab_fwcmd --remove-port=80/tcp >/dev/null
		next_status "f2-remove$i" "firewall-cmd --remove-port=80/tcp under load" 80 blocked "No route to host"
		nft_drop_22
		next_status "f2-nft$i" "an nft drop rule for 22 under load" 22 blocked
		lab_nft delete table inet pclab_load
		next_status "f2-nftdel$i" "deleting that table under load" 22 open
	done
	load_stop
	figure "f2: the background load meanwhile: $(val ok) good replies, p50 $(val p50_ms) ms, p99 $(val p99_ms) ms, $(val errors) errors"
	lab_pass "under load, 3 rounds of firewall-cmd and nft changes: the next status reflects each"
}

# --- g: --fresh ------------------------------------------------------------------------------
part_g() {
	local i warm=() fresh=() n0 n1 n2 warm_runs=0 conf=$LAB_DIR/confroot/etc/portcheck/portcheck.conf.d
	# The daemon logs "analysis took" for each analysis at debug level: count them.
	mkdir -p "$conf"
	printf '[Daemon]\nLogLevel=debug\n' >"$conf/50-load.conf"
	n0=$(grep -c 'reloaded configuration' "$LAB_DIR/portcheckd.log") || n0=0
	kill -HUP "$LAB_PORTCHECKD_PID"
	lab_wait --pid "$LAB_PORTCHECKD_PID" 10 "the debug configuration" \
		bash -c '(( $(grep -c "reloaded configuration" "$1" || true) > $2 ))' _ "$LAB_DIR/portcheckd.log" "$n0" ||
		lab_die "portcheckd did not reload its configuration"
	lab_pc g-first status
	lab_expect_rc g-first 1
	for ((i = 0; i < 5; i++)); do
		n0=$(grep -c 'analysis took' "$LAB_DIR/portcheckd.log") || n0=0
		timed_pc g-warm status --json
		lab_expect_rc g-warm 1
		warm+=("$MS")
		n1=$(grep -c 'analysis took' "$LAB_DIR/portcheckd.log") || n1=0
		timed_pc g-fresh status --fresh --json
		lab_expect_rc g-fresh 1
		fresh+=("$MS")
		n2=$(grep -c 'analysis took' "$LAB_DIR/portcheckd.log") || n2=0
		((n2 > n1)) || lab_die "status --fresh was answered without an analysis (no 'analysis took' in the daemon's log)"
		warm_runs=$((warm_runs + n1 - n0))
	done
	grep -q '"listeners"' "$LAB_DIR/g-fresh.out" || lab_die "status --fresh --json: no report: $(lab_shown g-fresh)"
	figure "g: status median $(median "${warm[@]}") ms ($warm_runs analyses for 5 calls), status --fresh median $(median "${fresh[@]}") ms (an analysis each)"
	lab_pass "status --fresh answers, from an analysis of its own"
}

run_part a part_a
run_part b part_b
run_part b2 part_b2
run_part b3 part_b3
run_part c part_c
run_part d part_d
run_part e part_e
run_part f part_f
run_part f2 part_f2
run_part g part_g
run_part h part_h

# --- z: a clean exit ---------------------------------------------------------------------
echo
echo "=== part z ==="
z_ok=1
daemon_gone() { ! daemon_alive; }
kill -TERM "$LAB_PORTCHECKD_PID"
if ! lab_wait 15 "portcheckd to exit on SIGTERM" daemon_gone; then
	echo "FAIL: part z: portcheckd did not exit within 15 s of SIGTERM" >&2
	z_ok=0
else
	z_rc=0
	wait "$LAB_PORTCHECKD_PID" || z_rc=$?
	if ((z_rc != 0)); then
		echo "FAIL: part z: portcheckd exited with status $z_rc on SIGTERM" >&2
		z_ok=0
	fi
fi
for log in "$LAB_DIR"/portcheckd*.log; do
	report=$(sanitizer_report "$log" 0)
	if [[ -n $report ]]; then
		echo "FAIL: part z: a sanitizer report in ${log##*/}:" >&2
		echo "$report" >&2
		z_ok=0
	fi
done
if ((z_ok)); then
	lab_pass "part z: SIGTERM: exit 0; no sanitizer report in any daemon log"
else
	PARTS_FAILED+=(z)
fi

echo
echo "== figures =="
cat "$FIGURES"
echo
if ((${#PARTS_FAILED[@]})); then
	((DIED == 0)) || PARTS_FAILED+=("(the daemon died $DIED time(s))")
	lab_die "test_load: parts failed: ${PARTS_FAILED[*]}"
fi
lab_pass "test_load: all parts passed"
