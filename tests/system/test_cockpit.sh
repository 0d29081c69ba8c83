#!/usr/bin/env bash
# test_cockpit.sh: portcheck's Cockpit page "Listening ports" for real. A Debian 12
# container (tests/system/rootfs.sh, with Cockpit 287 and sudo) boots with systemd-nspawn
# in a network namespace of its own (tests/system/container.sh) and installs the
# portcheck and portcheck-cockpit .debs that `cpack -G DEB` makes from
# PORTCHECK_BUILD_DIR. A web server listens on port 80, which firewalld's default zone
# rejects. Debian's chromium, headless, runs in the test's client namespace and is
# driven over the DevTools protocol by tests/system/cockpit/drive.js (puppeteer-core):
#   1. a user in group portcheck without administrative access sees 80/tcp blocked,
#      presses Open and is refused; a real connection is still rejected and firewalld
#      has no new port or service;
#   2. an admin (group sudo, Cockpit's administrative access) sees 80/tcp blocked with
#      zone and fix, opens it for runtime and permanent (dry run first, then applied and
#      verified), sees the row become open, explains a connection, reads the history;
#      a real connection from the client namespace now gets through and the change is
#      in firewalld's permanent configuration; the page follows Cockpit's dark theme;
#   3. a user outside group portcheck is told that the daemon refuses, and what to do;
#   4. with portcheckd.socket stopped the page says the daemon is not running and how
#      to start it.
# Screenshots of each step: $PORTCHECK_BUILD_DIR/cockpit-screenshots/.
#
# Needs root, systemd-nspawn, debootstrap, chromium, node and tests/system/cockpit's
# node_modules (tests/install-deps.sh), and the Debian archive the first time (to build
# the tree). Exits 77 (skipped) without them.
#
# Environment:
#   PORTCHECK_BUILD_DIR      the configured and built tree to package (required)
#   PORTCHECK_SYSTEST_DEB, PORTCHECK_SYSTEST_COCKPIT_DEB   use these .debs instead of cpack
#   PORTCHECK_SYSTEST_NO_BUILD=1  do not run `cmake --build` before cpack
#   PORTCHECK_SYSTEST_CACHE  where rootfs.sh keeps the tree (/var/cache/portcheck-systest)
#   PORTCHECK_SYSTEST_VERBOSE=1  show the output of passing checks too
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=container.sh
. "$HERE/container.sh"

sys_require_root
command -v cpack >/dev/null || sys_skip "the Cockpit test needs cpack (cmake)"
command -v dpkg-deb >/dev/null || sys_skip "the Cockpit test needs dpkg-deb"
CHROMIUM=${PORTCHECK_CHROMIUM:-/usr/bin/chromium}
[[ -x $CHROMIUM ]] || sys_skip "the Cockpit test needs Debian's chromium ($CHROMIUM; tests/install-deps.sh)"
command -v node >/dev/null || sys_skip "the Cockpit test needs node (tests/install-deps.sh)"
[[ -f $HERE/cockpit/node_modules/puppeteer-core/package.json ]] ||
	sys_skip "the Cockpit test needs puppeteer-core: (cd tests/system/cockpit && npm ci) (tests/install-deps.sh does it)"

BUILD=${PORTCHECK_BUILD_DIR:-}
[[ -n $BUILD && -d $BUILD ]] || sys_die "PORTCHECK_BUILD_DIR must name the build directory (ctest sets it)"
BUILD=$(cd "$BUILD" && pwd)
SHOTS=$BUILD/cockpit-screenshots
T0=$SECONDS
ADMIN_USER=pcadmin
PLAIN_USER=pcuser
OTHER_USER=pcother
# Throwaway passwords for accounts that exist only in this container's overlay.
ADMIN_PASSWORD=pc-admin-$RANDOM$RANDOM
PLAIN_PASSWORD=pc-user-$RANDOM$RANDOM
OTHER_PASSWORD=pc-other-$RANDOM$RANDOM

# shellcheck source-path=SCRIPTDIR source=checks.sh
. "$HERE/checks.sh"

probe_is() {
	local r
	r=$(sys_probe_tcp "$1" "$2")
	echo "$1/tcp $2: $r"
	[[ $r == "$3" ]]
}

# firewalld_lacks_80: neither the port nor the http service, runtime or permanent.
firewalld_lacks_80() {
	local q bad=0
	for q in "--query-port=80/tcp" "--query-service=http" "--permanent --query-port=80/tcp" \
		"--permanent --query-service=http"; do
		# shellcheck disable=SC2086 # two words on purpose
		if sys_exec firewall-cmd $q >/dev/null 2>&1; then
			echo "firewall-cmd $q: yes"
			bad=1
		else
			echo "firewall-cmd $q: no"
		fi
	done
	return $bad
}

firewalld_has_80_permanent() {
	sys_exec firewall-cmd --permanent --query-service=http || sys_exec firewall-cmd --permanent --query-port=80/tcp
}

firewalld_has_80_runtime() {
	sys_exec firewall-cmd --query-service=http || sys_exec firewall-cmd --query-port=80/tcp
}

# drive PHASE USER PASSWORD ADMIN SHOT_PREFIX: one browser session (bounded), in the
# client namespace; its profile is fresh each time.
drive() {
	local profile
	profile=$(mktemp -d "$SYS_DIR/chromium-profile.XXXXXX")
	ip netns exec "$SYS_CLI" timeout -k 10 300 \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$profile" LANG=C.UTF-8 \
		PC_URL="https://$SYS_SRV_IPV4:9090" PC_PHASE="$1" PC_USER="$2" PC_PASSWORD="$3" \
		PC_ADMIN="$4" PC_SHOT_PREFIX="$5" PC_SHOTS="$SHOTS" PC_PROFILE="$profile" \
		PC_CHROMIUM="$CHROMIUM" NODE_PATH="$HERE/cockpit/node_modules" \
		node "$HERE/cockpit/drive.js"
}


sys_init
trap on_exit EXIT
CHECK_OUT=$SYS_DIR/check.out
rm -rf "$SHOTS"
mkdir -p "$SHOTS"

# --- the packages ----------------------------------------------------------------------

stage "packages"
DEBDIR=$SYS_DIR/debs
mkdir -p "$DEBDIR"
if [[ -n ${PORTCHECK_SYSTEST_DEB:-} && -n ${PORTCHECK_SYSTEST_COCKPIT_DEB:-} ]]; then
	cp "$PORTCHECK_SYSTEST_DEB" "$PORTCHECK_SYSTEST_COCKPIT_DEB" "$DEBDIR/"
else
	[[ -f $BUILD/CPackConfig.cmake ]] || sys_die "no CPack configuration in $BUILD"
	if [[ -z ${PORTCHECK_SYSTEST_NO_BUILD:-} ]]; then
		timeout 900 cmake --build "$BUILD" -j"$(nproc)" >"$SYS_DIR/build.log" 2>&1 ||
			{ tail -n 30 "$SYS_DIR/build.log" >&2; sys_die "cmake --build $BUILD failed"; }
	fi
	timeout 600 cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$SYS_DIR/cpack" \
		>"$SYS_DIR/cpack.log" 2>&1 || { tail -n 30 "$SYS_DIR/cpack.log" >&2; sys_die "cpack -G DEB failed"; }
	cp "$SYS_DIR"/cpack/*.deb "$DEBDIR/" 2>/dev/null || sys_die "cpack made no .deb"
fi
MAIN_DEB=$(find "$DEBDIR" -maxdepth 1 -name 'portcheck_*.deb' | head -n 1)
COCKPIT_DEB=$(find "$DEBDIR" -maxdepth 1 -name 'portcheck-cockpit_*.deb' | head -n 1)
[[ -n $MAIN_DEB && -n $COCKPIT_DEB ]] ||
	sys_die "expected portcheck_*.deb and portcheck-cockpit_*.deb, found: $(ls "$DEBDIR")"
[[ $(dpkg-deb -f "$COCKPIT_DEB" Package) == portcheck-cockpit ]] || sys_die "$COCKPIT_DEB is not portcheck-cockpit"
MAIN_DEPENDS="$(dpkg-deb -f "$MAIN_DEB" Pre-Depends), $(dpkg-deb -f "$MAIN_DEB" Depends)"
# The page's Depends without portcheck itself (that one comes from the .deb, not Debian).
# (grep -v finding nothing else is no error: the page would then need nothing more.)
COCKPIT_DEPENDS=$(dpkg-deb -f "$COCKPIT_DEB" Depends | tr ',' '\n' | { grep -v '^ *portcheck\b' || true; } | paste -sd, -)
sys_log "packages $(basename "$MAIN_DEB") $(basename "$COCKPIT_DEB"); page depends on: $COCKPIT_DEPENDS"

# --- the tree, the container -------------------------------------------------------------

stage "tree"
# Cockpit 287 from Debian 12 (its web server, bridge and base pages) and sudo for the
# admin's administrative access; the container has no network, so all in the tree.
TREE=$(bash "$HERE/rootfs.sh" "$MAIN_DEPENDS" "$COCKPIT_DEPENDS" cockpit-ws cockpit-bridge cockpit-system sudo) ||
	sys_die "cannot build the Debian 12 tree with Cockpit"
stage "boot"
sys_boot "$TREE" "$DEBDIR"
sys_wait 30 "firewalld in the container" sys_exec firewall-cmd --state ||
	sys_die "firewalld is not running in the container (CAP_NET_ADMIN? see the journal)"

stage "install"
sys_exec dpkg -i "/srv/debs/$(basename "$MAIN_DEB")" "/srv/debs/$(basename "$COCKPIT_DEB")" >"$SYS_DIR/dpkg.log" 2>&1 ||
	{ cat "$SYS_DIR/dpkg.log" >&2; sys_die "dpkg -i of the two packages failed"; }
sed -e 's/^/    | /' "$SYS_DIR/dpkg.log" | tail -n 12

# The test's accounts: an admin (group sudo, may become root with its password) and a
# user who may read portcheck's status (group portcheck) but not change the firewall.
sys_exec useradd --create-home --shell /bin/bash --groups sudo "$ADMIN_USER"
sys_exec useradd --create-home --shell /bin/bash --groups portcheck "$PLAIN_USER"
sys_exec useradd --create-home --shell /bin/bash "$OTHER_USER"
printf '%s:%s\n%s:%s\n%s:%s\n' "$ADMIN_USER" "$ADMIN_PASSWORD" "$PLAIN_USER" "$PLAIN_PASSWORD" \
	"$OTHER_USER" "$OTHER_PASSWORD" | sys_exec chpasswd
# Cockpit itself must be reachable from the client (9090/tcp): firewalld's cockpit
# service, in the container's own firewall. Port 80 stays rejected by the zone.
sys_exec firewall-cmd --quiet --add-service=cockpit
sys_exec firewall-cmd --quiet --permanent --add-service=cockpit
sys_exec systemctl start cockpit.socket
sys_exec systemd-run --quiet --unit=pc-web -p StandardError=null python3 -m http.server 80 --bind :: ||
	sys_die "cannot start the test's web server"
sys_wait 15 "the web server on port 80" sys_exec sh -c 'ss -Hltn "sport = :80" | grep -q .' ||
	sys_die "the test's web server does not listen"
# A listener whose process name is markup: the page must show it as text. (comm is the
# name the program was started by, up to 15 bytes: a symlink to python3.)
sys_exec ln -s /usr/bin/python3 '/usr/local/bin/<i>pcx'
sys_exec systemd-run --quiet --unit=pc-markup -p StandardError=null '/usr/local/bin/<i>pcx' -m http.server 8081 --bind :: ||
	sys_die "cannot start the listener with a markup name"
sys_wait 15 "the listener on port 8081" sys_exec sh -c 'ss -Hltn "sport = :8081" | grep -q .' ||
	sys_die "the listener with a markup name does not listen"
sys_wait 15 "cockpit on 9090" sys_exec sh -c 'ss -Hltn "sport = :9090" | grep -q .' ||
	sys_die "cockpit.socket does not listen on 9090"

stage "the page is installed"
check "portcheck-cockpit installed its manifest in /usr/share/cockpit/portcheck" \
	sys_exec test -s /usr/share/cockpit/portcheck/manifest.json
check "cockpit-bridge lists the package portcheck" \
	sys_exec sh -c 'cockpit-bridge --packages | grep -E "^portcheck[[:space:]]"'
check "ground truth before: a connection from the client to $SYS_SRV_IPV4:80 is rejected (ICMP 3/13)" \
	probe_is 80 ipv4 "icmp 3/13"
check "ground truth: Cockpit's port 9090 is reachable from the client" probe_is 9090 ipv4 "accept -"

# --- 1. a user without the right -------------------------------------------------------

stage "1. $PLAIN_USER (group portcheck, no administrative access) presses Open"
check "browser: $PLAIN_USER sees 80/tcp blocked, presses Open and is refused" \
	drive refused "$PLAIN_USER" "$PLAIN_PASSWORD" 0 10
check "ground truth after the refusal: $SYS_SRV_IPV4:80 is still rejected" probe_is 80 ipv4 "icmp 3/13"
check "firewalld after the refusal: no port 80/tcp or service http, runtime or permanent" firewalld_lacks_80
# The daemon's own line for this user's refused Open (not any "refused" in its log).
refusal_logged() {
	local uid
	uid=$(sys_exec id -u "$PLAIN_USER") || return 1
	sys_exec journalctl --no-pager -u portcheckd.service -o cat >"$SYS_DIR/refusal.log" || return 1
	grep -E "Open(/Close)? refused to pid [0-9]+ \(uid $uid\)" "$SYS_DIR/refusal.log"
}
check "portcheckd logged the refused change" refusal_logged

# --- 2. the admin ----------------------------------------------------------------------

stage "2. $ADMIN_USER (group sudo, administrative access) opens 80/tcp"
check "browser: $ADMIN_USER sees Open's dry run for 80/tcp and closes the dialog" \
	drive dryrun "$ADMIN_USER" "$ADMIN_PASSWORD" 1 15
check "ground truth after the dry run: $SYS_SRV_IPV4:80 is still rejected" probe_is 80 ipv4 "icmp 3/13"
check "firewalld after the dry run: no port 80/tcp or service http, runtime or permanent" firewalld_lacks_80
check "browser: $ADMIN_USER sees 80/tcp blocked with zone and fix, opens it (runtime and permanent), sees it open" \
	drive admin "$ADMIN_USER" "$ADMIN_PASSWORD" 1 20
check "ground truth: the client connects to $SYS_SRV_IPV4:80 now" probe_is 80 ipv4 "accept -"
check "ground truth: the client connects to [$SYS_SRV_IPV6]:80 now" probe_is 80 ipv6 "accept -"
check "firewalld: the change is in the runtime configuration" firewalld_has_80_runtime
check "firewalld: the change is in the permanent configuration" firewalld_has_80_permanent
change_logged() {
	sys_exec journalctl --no-pager -u portcheckd.service -o cat | grep -E 'firewall change by uid 0'
}
check "portcheckd logged the change (made as root through Cockpit's administrative access)" change_logged

check "browser: the page in German (its po.de.js), 80/tcp \"offen\"" \
	drive german "$ADMIN_USER" "$ADMIN_PASSWORD" 1 25

# --- 3. a user who may not read ----------------------------------------------------------

stage "3. $OTHER_USER (no group portcheck, no administrative access)"
check "browser: $OTHER_USER is told the daemon refuses and what to do" \
	drive denied "$OTHER_USER" "$OTHER_PASSWORD" 0 30

# --- 4. no daemon ----------------------------------------------------------------------

stage "4. portcheckd stopped"
sys_exec systemctl stop portcheckd.socket portcheckd.service
check "browser: with portcheckd stopped the page says it is not running and how to start it" \
	drive nodaemon "$ADMIN_USER" "$ADMIN_PASSWORD" 1 40
sys_exec systemctl start portcheckd.socket

# --- result ----------------------------------------------------------------------------

stage "done"
find "$SHOTS" -maxdepth 1 -name '*.png' -printf '    screenshot: %f\n' | sort
if [[ ${#FAILED[@]} -gt 0 ]]; then
	printf '\n%d of %d checks FAILED:\n' "${#FAILED[@]}" "$N"
	printf '  %s\n' "${FAILED[@]}"
	exit 1
fi
printf '\nall %d checks passed in %d s (screenshots in %s)\n' "$N" $((SECONDS - T0)) "$SHOTS"
