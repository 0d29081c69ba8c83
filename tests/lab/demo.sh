#!/bin/bash
# demo.sh: the firewalld incident (the README's first example), reproduced in network
# namespaces, then what portcheck says about it. Run as root:
#   tests/lab/demo.sh
# PORTCHECK / PORTCHECKD name the binaries (default: build/ of this checkout;
# built with CMake if missing). Everything is removed on exit, also on Ctrl-C.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

heading() { printf '\n== %s\n' "$*"; }

# Install what the demo needs and build portcheck, unless the caller named the
# binaries (PORTCHECK, PORTCHECKD). A failed build stops the demo.
prepare() {
	local top log
	top=$(cd "$LAB_LIB_DIR/../.." && pwd)
	"$top/tests/install-deps.sh"
	if [[ -n ${PORTCHECK:-}${PORTCHECKD:-} ]]; then
		lab_binaries || lab_die "PORTCHECK/PORTCHECKD do not name built binaries"
		return 0
	fi
	echo "building portcheck in $top/build ..."
	log=$(mktemp /tmp/pcdemo-build.XXXXXX)
	if ! (cd "$top" && cmake -S . -B build && cmake --build build -j2) >"$log" 2>&1; then
		tail -n 15 "$log" | sed 's/^/   | /'
		lab_die "the build failed (full log: $log)"
	fi
	rm -f "$log"
	lab_binaries || lab_die "the build did not produce portcheck and portcheckd"
}

# show LABEL RESULT [NOTE]: one aligned line of results.
show() { printf '   %-28s %-38s %s\n' "$1" "$2" "${3:-}"; }

probe_line() {
	local port=$1 family=$2 note=${3:-} word icmp
	word=$(lab_probe_tcp "$port" "$family")
	icmp=$(lab_probe_tcp_icmp "$port" "$family")
	[[ $icmp != - ]] && word="$word ($([[ $family == ipv4 ]] && echo ICMP || echo ICMPv6) $icmp)"
	show "$port/tcp $family" "$word" "$note"
}

# Install first: on a fresh machine the lab's tools (nmap, firewalld ...) are not there yet.
if [[ $(id -u) -ne 0 ]]; then
	echo "demo: run as root (it installs packages and builds network namespaces)" >&2
	exit 1
fi
prepare
lab_require_root nmap nft python3
lab_init

heading "The server: firewalld, nftables backend, default zone public"
lab_incident
show "firewalld version" "$(lab_fwcmd --version)"
show "default zone" "$(lab_fwcmd --get-default-zone)"
show "public allows services" "$(lab_fwcmd --zone=public --list-services)"
ports=$(lab_fwcmd --zone=public --list-ports)
show "public allows ports" "${ports:-(none)}"

heading "Its services: sshd, nginx, postgres, and a Docker container publishing 8000"
ip netns exec "$LAB_SRV" ss -Hltnp | sort -t: -k2n | awk '{ printf "   %-28s %s\n", $4, $6 }'
echo "   container $LAB_CTR_IPV4:8000 python-app, published by DNAT (nft table ip portcheck_lab_docker)"

heading "On the server, \"curl localhost\" works"
show "127.0.0.1:80" "$(lab_connect_tcp "$LAB_SRV" 127.0.0.1 80)" "firewalld accepts everything on lo"
show "[::1]:80" "$(lab_connect_tcp "$LAB_SRV" ::1 80)"

heading "From the client ($LAB_CLI_IPV4, $LAB_CLI_IPV6): what an application sees"
show "connect $LAB_SRV_IPV4:22" "$(lab_connect_tcp "$LAB_CLI" "$LAB_SRV_IPV4" 22)"
show "connect $LAB_SRV_IPV4:80" "$(lab_connect_tcp "$LAB_CLI" "$LAB_SRV_IPV4" 80)" "<- the incident"
show "connect [$LAB_SRV_IPV6]:80" "$(lab_connect_tcp "$LAB_CLI" "$LAB_SRV_IPV6" 80)" "(ICMPv6 admin-prohibited is EACCES)"
show "connect $LAB_SRV_IPV4:8000" "$(lab_connect_tcp "$LAB_CLI" "$LAB_SRV_IPV4" 8000)"

heading "From the client: SYN probes (nmap -sS), the answer on the wire"
probe_line 22 ipv4 "ssh is allowed in public"
probe_line 80 ipv4 "reject with icmpx admin-prohibited"
probe_line 80 ipv6
probe_line 8000 ipv4 "DNAT'd; firewalld: ct status dnat accept"
probe_line 3000 ipv4 "high ports are not open by default either"

heading "The rule that answers (nft, in the server namespace)"
lab_nft list chain inet firewalld filter_IN_public | sed -n 's/^\t\t/   /p'

heading "portcheck status"
lab_portcheckd_start
rc=0
lab_portcheck status || rc=$?
echo "(exit status $rc: 0 nothing blocked, 1 findings)"

heading "What the timer runs: portcheck check (findings, metrics for Prometheus)"
rc=0
lab_portcheck check --textfile "$LAB_DIR/portcheck.prom" | sed 's/^/   /' || rc=$?
echo "   (exit status $rc; the timer's alert hook runs when it is not 0)"
grep -E '^portcheck_(listener_blocked|findings)' "$LAB_DIR/portcheck.prom" | sed 's/^/   /'
echo
echo "   and the daemon, watching, logged (the journal, under systemd):"
grep 'MESSAGE_ID=' "$LAB_DIR/portcheckd.log" | sed 's/^/   /'

heading "The fix: portcheck open 80/tcp --permanent (now and after a reboot, no reload)"
rc=0
lab_portcheck open 80/tcp --permanent || rc=$?
echo "(exit status $rc)"
probe_line 80 ipv4
probe_line 80 ipv6
lab_fwcmd --reload >/dev/null
probe_line 80 ipv4 "after firewall-cmd --reload: still open"
echo
rc=0
lab_portcheck status || rc=$?
echo "(exit status $rc)"
sleep 3 # the daemon's coalescing: one analysis after the burst of changes
echo
echo "   the daemon noticed (journal):"
grep 'reachable again' "$LAB_DIR/portcheckd.log" | sed 's/^/   /'

heading "Why 8000 and curl localhost work: portcheck explain"
lab_portcheck explain 8000/tcp --from "$LAB_CLI_IPV4" | sed -n '1,6p'
echo
lab_portcheck explain 80/tcp --from 127.0.0.1 | sed -n '1,6p'
echo
echo "Done; the lab is being removed."
