#!/usr/bin/env bash
# rootfs.sh [EXTRA_PACKAGE...]: build once, cache, and print the path of a Debian 12
# (bookworm) tree that boots in systemd-nspawn and has everything portcheck's package
# needs installed (the container has no network: nothing can be fetched after boot).
#
# The tree is ${PORTCHECK_SYSTEST_CACHE:-/var/cache/portcheck-systest}/bookworm-HASH,
# HASH covering this script's version, the suite, the mirror and the package list
# (base list below + EXTRA_PACKAGE arguments, e.g. the .deb's Depends). A build goes
# into a temporary directory beside it and is renamed into place only when complete, so
# an interrupted build never leaves a half tree; builders serialise on a lock file.
# The cached tree is never booted read-write: container.sh boots an overlay over it.
#
# Environment:
#   PORTCHECK_SYSTEST_CACHE   cache directory (default /var/cache/portcheck-systest)
#   PORTCHECK_SYSTEST_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   PORTCHECK_SYSTEST_EXTRA   more packages, space-separated (same as arguments)
#
# Output: the tree's path on stdout, progress on stderr, the build log in
# CACHE/build-HASH.log. Exit 0 on success, 1 on failure. Needs root (and the network
# only while building).
set -euo pipefail

# Bump when the way the tree is built or prepared changes: it changes the hash.
ROOTFS_SCRIPT_VERSION=2
SUITE=bookworm
MIRROR=${PORTCHECK_SYSTEST_MIRROR:-http://deb.debian.org/debian}
CACHE=${PORTCHECK_SYSTEST_CACHE:-/var/cache/portcheck-systest}

# The base package list. Add to it here (or pass names as arguments): the hash follows.
BASE_PACKAGES=(
	# a bootable systemd system
	systemd systemd-sysv dbus
	libpam-systemd # else polkitd (pulled by firewalld) fails to configure on minbase
	netbase        # else firewalld dies on a missing /etc/protocols
	# the firewall portcheck analyses
	firewalld nftables
	# tools the test runs inside
	iproute2 procps python3
	# portcheck's runtime libraries
	libmnl0 libnftnl11 libnftables1 libdbus-1-3 libsystemd0 libjansson4
)

say() { printf 'rootfs: %s\n' "$*" >&2; }
die() {
	printf 'rootfs: FAIL: %s\n' "$*" >&2
	exit 1
}

[[ $(id -u) -eq 0 ]] || die "must run as root"
command -v debootstrap >/dev/null || die "debootstrap is not installed"

# Package names only: "libc6 (>= 2.34), libfoo | libbar" -> libc6 libfoo (the first
# alternative), so a Depends field can be passed through as it is.
normalize_packages() {
	sed -e 's/([^)]*)//g' -e 's/\[[^]]*\]//g' -e 's/:any//g' <<<"$*" | tr ',' '\n' |
		sed -e 's/|.*//' | tr -s '[:blank:]' '\n' | grep -E '^[a-z0-9][a-z0-9+.-]+$' | sort -u
}
# shellcheck disable=SC2086 # word splitting of the extra list is intended
mapfile -t PACKAGES < <(normalize_packages "${BASE_PACKAGES[*]} $* ${PORTCHECK_SYSTEST_EXTRA:-}")

HASH=$( {
	echo "version=$ROOTFS_SCRIPT_VERSION suite=$SUITE mirror=$MIRROR"
	printf '%s\n' "${PACKAGES[@]}"
} | sha256sum | cut -c1-12)
TREE=$CACHE/$SUITE-$HASH
LOG=$CACHE/build-$HASH.log

if [[ -x $TREE/usr/lib/systemd/systemd ]]; then
	echo "$TREE"
	exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 1800 9 || die "timed out waiting for another build (lock $CACHE/.lock)"
if [[ -x $TREE/usr/lib/systemd/systemd ]]; then # built by whoever held the lock
	echo "$TREE"
	exit 0
fi

# With the lock held no build is running: any temporary tree is a dead build's. The
# builds' mounts live in private mount namespaces, so there is nothing mounted in them;
# --one-file-system all the same.
for stale in "$CACHE"/.tmp-*; do
	[[ -d $stale ]] || continue
	say "removing the remains of an interrupted build: $stale"
	rm -rf --one-file-system "$stale"
done

TMP=$(mktemp -d "$CACHE/.tmp-$SUITE-$HASH.XXXXXX")
chmod 755 "$TMP" # it becomes /: mktemp's 0700 would lock out every user but root
cleanup() {
	local rc=$?
	if [[ -n ${TMP:-} && -d $TMP ]]; then
		rm -rf --one-file-system "$TMP"
	fi
	if [[ $rc -ne 0 ]]; then
		say "build failed; last lines of $LOG:"
		tail -n 30 "$LOG" >&2 || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

say "building $SUITE tree $TREE (${#PACKAGES[@]} packages, log $LOG); this takes a few minutes"
start=$SECONDS
: >"$LOG"

# Every mount (debootstrap's /proc and /sys, ours) happens inside a private mount
# namespace made for that step, so it disappears with the step, even when killed.
in_private_mounts() { unshare --mount --propagation private -- "$@"; }

# 1. minbase. debootstrap fetches over the network of this machine's own namespace: it
#    only downloads packages.
in_private_mounts timeout 1200 debootstrap --variant=minbase "$SUITE" "$TMP" "$MIRROR" \
	>>"$LOG" 2>&1 || die "debootstrap failed"
say "debootstrap done after $((SECONDS - start)) s"

# 2. The rest with apt inside the tree. No daemon may start during the build.
cat >"$TMP/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
EOF
printf '#!/bin/sh\nexit 101\n' >"$TMP/usr/sbin/policy-rc.d"
chmod 755 "$TMP/usr/sbin/policy-rc.d"
cp -L /etc/resolv.conf "$TMP/etc/resolv.conf"
chroot_sh() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	in_private_mounts sh -c 'mount -t proc proc "$1/proc" && mount -t sysfs sysfs "$1/sys" &&
		shift && exec chroot "$@"' sh "$TMP" "$TMP" /usr/bin/env -i \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}
chroot_sh timeout 600 apt-get -q update >>"$LOG" 2>&1 || die "apt-get update failed"
chroot_sh timeout 1200 apt-get -q -y --no-install-recommends install "${PACKAGES[@]}" \
	>>"$LOG" 2>&1 || die "apt-get install ${PACKAGES[*]} failed"
chroot_sh apt-get clean >>"$LOG" 2>&1
say "packages installed after $((SECONDS - start)) s"

# 3. Prepare for booting in a container with no network.
rm -f "$TMP/usr/sbin/policy-rc.d" "$TMP/etc/resolv.conf"
echo pcsys >"$TMP/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tpcsys\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$TMP/etc/hosts"
# Empty: systemd makes up a transient machine ID at each boot, so no two boots (or two
# containers) share one and the tree is not "first boot" either.
: >"$TMP/etc/machine-id"
rm -f "$TMP/var/lib/dbus/machine-id"
# No logins on consoles, nothing that wants the network or runs maintenance mid-test.
for unit in console-getty.service getty@.service serial-getty@.service container-getty@.service \
	getty.target apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
	dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer \
	systemd-networkd.service systemd-networkd-wait-online.service systemd-timesyncd.service \
	systemd-resolved.service; do
	ln -sfn /dev/null "$TMP/etc/systemd/system/$unit"
done
# The journal lives in /run: the overlay is thrown away after each boot anyway.
mkdir -p "$TMP/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\n' >"$TMP/etc/systemd/journald.conf.d/systest.conf"
# The firewall must be up in the container: fail loudly instead of silently.
[[ -e $TMP/etc/systemd/system/multi-user.target.wants/firewalld.service ]] ||
	ln -sfn /lib/systemd/system/firewalld.service "$TMP/etc/systemd/system/multi-user.target.wants/firewalld.service"
# A marker with what the tree holds, for humans.
{
	echo "built $(date -u +%FT%TZ) by tests/system/rootfs.sh version $ROOTFS_SCRIPT_VERSION"
	echo "suite $SUITE mirror $MIRROR"
	echo "packages ${PACKAGES[*]}"
} >"$TMP/etc/portcheck-systest-tree"

mv -T "$TMP" "$TREE" 2>/dev/null || {
	[[ -x $TREE/usr/lib/systemd/systemd ]] || die "cannot move $TMP to $TREE"
}
TMP=
say "tree ready after $((SECONDS - start)) s: $TREE"
echo "$TREE"
