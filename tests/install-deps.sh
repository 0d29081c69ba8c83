#!/usr/bin/env bash
# Install what building, testing and the demo need on Debian 12, from Debian's archive.
# Idempotent and quick when everything is already there.
set -euo pipefail

packages=(
	build-essential cmake pkg-config clang-format
	libmnl-dev libnftnl-dev libnftables-dev libdbus-1-dev libsystemd-dev libjansson-dev libcmocka-dev
	# the lab: namespaces, a private bus, a real firewalld and real probes
	iproute2 dbus-daemon firewalld nftables iptables nmap python3 procps util-linux
	# the system service: unit checks, metrics checks (promtool), man pages, the package
	systemd prometheus prometheus-node-exporter man-db groff-base bash-completion dpkg-dev fakeroot
	# the rpm packaging (tests/units/test_rpm.sh): rpmbuild, rpmlint, eu-strip for the
	# debuginfo split, git for the release tarball
	rpm rpmlint elfutils git
	# the system tier: a Debian 12 container booted with systemd-nspawn
	debootstrap systemd-container
	# the Cockpit page's test: Debian's browser, driven from node by puppeteer-core
	chromium nodejs npm
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root to install packages (try: sudo $0)" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# npm ships with nodejs in some distributions of it (NodeSource): then there is no
# Debian package npm to install, and none is needed.
if command -v npm >/dev/null 2>&1; then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | grep -vx -e npm -e '' || true)
fi
# puppeteer-core for tests/system/test_cockpit.sh, exactly as locked, from the npm
# registry (never a browser: it uses Debian's chromium).
npm_ci() {
	local dir
	dir="$(cd "$(dirname "$0")" && pwd)/system/cockpit"
	if [ ! -f "$dir/node_modules/puppeteer-core/package.json" ] ||
		[ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		echo "install-deps: npm ci in $dir"
		(cd "$dir" && PUPPETEER_SKIP_DOWNLOAD=1 timeout 600 npm ci --ignore-scripts --no-audit --no-fund)
	fi
}
if [ ${#missing[@]} -eq 0 ]; then
	npm_ci
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# firewalld's postinst must not start a firewall in this machine's own namespace: the lab
# runs its own firewalld inside namespaces. policy-rc.d 101 forbids service starts.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=1
fi
trap '[ $created_policy -eq 1 ] && rm -f "$policy"' EXIT
apt-get install -y -q "${missing[@]}"
npm_ci
