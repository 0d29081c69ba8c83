#!/usr/bin/env bash
# bench/bench_daemon.sh: what a `portcheck status` costs on the lab's incident host with
# 200 listeners, next to the tools an admin would otherwise run there (root).
#
# The host is tests/lab/lab.sh's incident (a server namespace with a real firewalld on a
# private bus and private configuration, default zone public with its stock services;
# sshd, nginx, postgres and a Docker-style published port) plus listeners up to
# --listeners in all (half on 0.0.0.0, half dual-stack on [::], one process each), and
# portcheckd built here. In the server namespace, interleaved round by round (so drift
# hits every row alike), it times --reps runs of:
#   portcheck status            warm: nothing changed since the last one
#   firewall-cmd --list-all     on the private bus
#   ss -ltnp
#   portcheck status --fresh    a new analysis, forced ("n/a" if the client lacks it)
# then, --reps times each, a change and the very next `portcheck status` (only the
# status is timed; the daemon gets a few seconds to settle between rounds):
#   firewall-cmd --add-port=9/tcp, then --remove-port=9/tcp (runtime), alternately
#   nft add / delete of a table with a drop rule for tcp port 9, alternately
# and finally the load generator (portcheck-load, bench/pc_load.c): 200 clients x 20
# Status on a connection each, and 200 x 5 with a connection per call: p50 / p99 /
# errors. Every time is the wall time of the whole command, process start included, as
# an admin sees it. The summary is the table of the README's "Benchmarks" section, with
# the targets of issue 10.
#
# Safety: lab.sh's (test traffic only between the lab's namespaces, documentation
# addresses, firewalld on a private bus and configuration, every wait bounded, every
# process and namespace removed on any exit).
#
# usage: sudo bench/bench_daemon.sh [--listeners N] [--reps N] [--settle SECONDS]
#                                   [--build-dir DIR] [--no-build]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lab/lab.sh
. "$top/tests/lab/lab.sh"

listeners=200
reps=15
settle=2.5
build_dir=$top/build-bench
build=1

usage() {
	sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

while (($#)); do
	case $1 in
	--listeners) listeners=$2 && shift 2 ;;
	--reps) reps=$2 && shift 2 ;;
	--settle) settle=$2 && shift 2 ;;
	--build-dir) build_dir=$2 && shift 2 ;;
	--no-build) build=0 && shift ;;
	-h | --help) usage && exit 0 ;;
	*) usage >&2 && exit 2 ;;
	esac
done
[[ $listeners =~ ^[0-9]+$ ]] && ((listeners >= 4 && listeners <= 2000)) || lab_die "--listeners: 4..2000"
[[ $reps =~ ^[0-9]+$ ]] && ((reps >= 1 && reps <= 200)) || lab_die "--reps: 1..200"
[[ $settle =~ ^[0-9]+(\.[0-9]+)?$ ]] || lab_die "--settle: seconds"

lab_require_root nft python3

if ((build)); then
	lab_log "building (RelWithDebInfo: -O2 -g) in $build_dir"
	cmake -S "$top" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
	cmake --build "$build_dir" -j"$(nproc)" --target portcheckd portcheck portcheck-load >/dev/null
fi
PORTCHECKD=$build_dir/portcheckd
PORTCHECK=$build_dir/portcheck
LOADGEN=$build_dir/portcheck-load
for b in "$PORTCHECKD" "$PORTCHECK" "$LOADGEN"; do
	[[ -x $b ]] || lab_die "not built: $b"
done
export PORTCHECK PORTCHECKD

# --- the host -------------------------------------------------------------------------

lab_init
lab_incident
extra=()
for ((i = 0; i < listeners - 4; i++)); do
	port=$((10000 + i))
	if ((i % 2)); then
		extra+=("tcp:[::]:$port:app$port:dual")
	else
		extra+=("tcp:0.0.0.0:$port:app$port")
	fi
done
if ((${#extra[@]})); then
	lab_log "starting ${#extra[@]} more listeners"
	lab_listeners "${extra[@]}"
fi
lab_portcheckd_start

SOCK=$LAB_DIR/pc.sock
# The reply must list them all, else the figures are not about the host described.
lab_portcheck status --json >"$LAB_DIR/status.json" 2>"$LAB_DIR/status.err" || [[ $? == 1 ]] ||
	lab_die "portcheck status failed: $(cat "$LAB_DIR/status.err")"
n_reported=$("$LAB_PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["listeners"]))' "$LAB_DIR/status.json")
lab_log "portcheck reports $n_reported listeners"
((n_reported >= listeners)) || lab_die "portcheck reports $n_reported listeners, want $listeners"

have_fresh=1
rc=0
lab_portcheck status --fresh >/dev/null 2>&1 || rc=$?
((rc == 0 || rc == 1)) || have_fresh=0

# The timing loop runs inside the server namespace, so no `ip netns exec` is timed.
# Each line it prints: LABEL MILLISECONDS EXIT_STATUS.
cat >"$LAB_DIR/timeit.sh" <<'EOF'
# timeit.sh REPS SETTLE HAVE_FRESH PORTCHECK SOCK
set -u
reps=$1 settle=$2 have_fresh=$3 pc=$4 sock=$5
t() {
	local label=$1 t0 t1 rc=0
	shift
	t0=$EPOCHREALTIME
	"$@" >/dev/null 2>&1 || rc=$?
	t1=$EPOCHREALTIME
	echo "$label $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) * 1000 }') $rc"
}
fw() { timeout 30 firewall-cmd "$@"; }
for ((r = 0; r < reps; r++)); do
	t status timeout 60 "$pc" --socket "$sock" status
	t list-all fw --list-all
	t ss timeout 30 ss -ltnp
	((have_fresh)) && t fresh timeout 60 "$pc" --socket "$sock" status --fresh
	# Whatever a fresh analysis started in the daemon is over before the next round.
	sleep 0.3
done
for ((r = 0; r < reps; r++)); do
	if ((r % 2)); then fw --remove-port=9/tcp >/dev/null; else fw --add-port=9/tcp >/dev/null; fi
	t after-fw timeout 60 "$pc" --socket "$sock" status
	sleep "$settle"
	if ((r % 2)); then
		nft delete table inet pcbench_toggle
	else
		nft -f - <<'NFT'
table inet pcbench_toggle {
	chain input {
		type filter hook input priority -200; policy accept;
		tcp dport 9 drop
	}
}
NFT
	fi
	t after-nft timeout 60 "$pc" --socket "$sock" status
	sleep "$settle"
done
# Leave the host as it was.
fw --remove-port=9/tcp >/dev/null 2>&1
nft delete table inet pcbench_toggle 2>/dev/null
exit 0
EOF

lab_log "timing: $reps interleaved rounds, then $reps changes of each kind (about $(awk -v r="$reps" -v s="$settle" 'BEGIN { printf "%.0f", r * 2 * (s + 0.5) + r * 1.5 }') s)"
_lab_in "$LAB_SRV" bash "$LAB_DIR/timeit.sh" "$reps" "$settle" "$have_fresh" "$PORTCHECK" "$SOCK" \
	>"$LAB_DIR/times.txt" || lab_die "the timing loop failed"

# stat LABEL: "median p90 max n bad" of LABEL's times (bad: runs whose exit status was not
# 0, or 0/1 for portcheck)
stat_of() {
	awk -v l="$1" '$1 == l { v[++n] = $2; if ($3 != 0 && !(l != "list-all" && l != "ss" && $3 == 1)) bad++ }
		END {
			if (!n) { print "- - - 0 0"; exit }
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			p = v[int(0.9 * n + 0.999999)]
			printf "%.1f %.1f %.1f %d %d\n", m, p, v[n], n, bad + 0
		}' "$LAB_DIR/times.txt"
}

row() { # LABEL DESCRIPTION TARGET
	local s
	read -ra s <<<"$(stat_of "$1")"
	printf '| %s | %s | %s | %s | %s |\n' "$2" "${s[0]} ms" "${s[1]} / ${s[2]} ms" \
		"${s[3]}$( ((s[4])) && echo " (${s[4]} failed)")" "$3"
	MEDIAN[$1]=${s[0]}
}

declare -A MEDIAN

# --- load -----------------------------------------------------------------------------

load_row() { # NAME ARGS...
	local name=$1 rc=0
	shift
	ip netns exec "$LAB_SRV" timeout 300 "$LOADGEN" --socket "$SOCK" status --timeout 5000 \
		--deadline 120 "$@" >"$LAB_DIR/$name.txt" 2>&1 || rc=$?
	sed -n 's/^RESULT //p' "$LAB_DIR/$name.txt"
}
declare -A LOAD
# The load measures serving, from a warm daemon: the last change above is let settle and
# one status made (what the first status after a change costs is the rows above).
sleep "$settle"
lab_portcheck status >/dev/null 2>&1 || true
lab_log "load: 200 clients x 20 Status"
LOAD[load1]=$(load_row load1 --clients 200 --requests 20)
lab_log "load: 200 clients x 5 Status, a connection per call"
LOAD[load2]=$(load_row load2 --clients 200 --requests 5 --reconnect)
get() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" <<<"$2"; }
alive=1
kill -0 "$LAB_PORTCHECKD_PID" 2>/dev/null || alive=0

hwm=$(awk '/^VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$LAB_PORTCHECKD_PID/status" 2>/dev/null || echo "?")

# --- summary ----------------------------------------------------------------------------

echo
echo "== portcheckd on the incident host with $n_reported listeners (firewalld $(lab_fwcmd --version), $(nproc) CPUs, kernel $(uname -r)) =="
echo
echo "| command, in the server namespace | median | p90 / max | runs | target (issue 10) |"
echo "|---|---:|---:|---:|---|"
row status "\`portcheck status\`, warm (nothing changed)" "≤ 1/30 of list-all, ≤ ss -ltnp"
row list-all "\`firewall-cmd --list-all\`" ""
row ss "\`ss -ltnp\`" ""
if ((have_fresh)); then
	row fresh "\`portcheck status --fresh\` (a new analysis)" ""
else
	echo "| \`portcheck status --fresh\` | n/a: this client has no --fresh | | | |"
fi
row after-fw "first \`portcheck status\` after \`firewall-cmd --add-port\`/\`--remove-port\`" "≤ 2× a fresh analysis"
row after-nft "first \`portcheck status\` after an \`nft\` table add/delete" "≤ 2× a fresh analysis"
for l in load1 load2; do
	r=${LOAD[$l]}
	if [[ $l == load1 ]]; then what="200 clients × 20 Status, a connection each (portcheck-load)"; else what="200 clients × 5 Status, a connection per call"; fi
	printf '| %s | p50 %s ms | p99 %s / max %s ms | %s (%s errors, %s s) | %s |\n' "$what" \
		"$(get p50_ms "$r")" "$(get p99_ms "$r")" "$(get max_ms "$r")" "$(get calls "$r")" \
		"$(get errors "$r")" "$(get elapsed_s "$r")" "$([[ $l == load1 ]] && echo "0 errors, p99 < 50 ms")"
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "n/a"; else printf "%.3g", a / b }'; }
echo "warm status / firewall-cmd --list-all: $(ratio "${MEDIAN[status]}" "${MEDIAN[list-all]}") (target ≤ 0.033)"
echo "warm status / ss -ltnp: $(ratio "${MEDIAN[status]}" "${MEDIAN[ss]}") (target ≤ 1)"
if ((have_fresh)); then
	echo "first status after a firewall-cmd change / fresh: $(ratio "${MEDIAN[after-fw]}" "${MEDIAN[fresh]}") (target ≤ 2)"
	echo "first status after an nft change / fresh: $(ratio "${MEDIAN[after-nft]}" "${MEDIAN[fresh]}") (target ≤ 2)"
fi
echo "daemon peak RSS: $hwm"
((alive)) || echo "portcheckd DIED during the load (see $LAB_DIR/portcheckd.log; LAB_KEEP_LOGS=1 keeps it)"
for l in load1 load2; do
	r=${LOAD[$l]}
	[[ $(get errors "$r") == 0 ]] || echo "$l: first error: $(sed -n 's/^first error: //p' "$LAB_DIR/$l.txt")"
done
