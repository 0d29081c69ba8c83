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
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root to install packages (try: sudo $0)" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
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
