#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The rpm packaging: release tarball, source rpm, binary rpms (the spec and cpack -G RPM),
# rpmlint, the files and the scriptlets. No root, no network.
#
#   PORTCHECK_BUILD_DIR=BUILD tests/units/test_rpm.sh
#
#  1. `cmake --build BUILD --target dist`: of HEAD (the release path), exactly HEAD's
#     files; then with PORTCHECK_DIST_REF=WORKTREE (the tree as it is, uncommitted edits
#     included), which the rest packages: top directory, exactly git's files, no build
#     directories, the spec's Version is project()'s.
#  2. `rpmbuild -ts` of the tarball alone, with this host's stock rpm macros: the
#     .src.rpm.
#  3. `rpmbuild --rebuild` of that .src.rpm with tests/units/rpm-macros.fedora-stand-in
#     (Debian's rpm has no systemd-rpm-macros or cmake-rpm-macros) and --nodeps (the
#     BuildRequires name Fedora packages; the rpm database here is empty, the build uses
#     Debian's -dev packages through pkg-config). Its %check runs the unit tests.
#     The Cockpit subpackage is built when the tree has cockpit/install.cmake, else
#     --without cockpit (said).
#  4. `cpack -G RPM` of BUILD.
#  5. rpmlint (tests/units/rpmlint-fedora.stand-in.toml for Fedora's profile,
#     packaging/rpm/portcheck.rpmlintrc for this package's filters) on the spec, the
#     .src.rpm and every binary rpm except the generated -debuginfo/-debugsource ones:
#     no error and no warning that portcheck.rpmlintrc does not explain.
#  6. rpm -qlp: the files (units, sysusers, man pages, completion, catalog, config as
#     %config(noreplace), the Cockpit page in its own noarch package) and no directory
#     that other packages own; rpm -qp --scripts: the systemd scriptlets, valid sh.
#
# Writes only in a private temporary directory and BUILD (the tarball). Exit 77
# (skipped) only when rpm, rpmbuild or rpmlint is missing (tests/install-deps.sh installs
# them) or the source is not a git checkout (the tarball is made from git).
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${PORTCHECK_BUILD_DIR:-}

for tool in rpm rpmbuild rpmlint rpmspec cpack; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIPPED: $tool not found (packages rpm rpmlint; tests/install-deps.sh)" >&2
		exit 77
	fi
done
if [ -z "$build" ] || [ ! -f "$build/CMakeCache.txt" ]; then
	echo "test_rpm: set PORTCHECK_BUILD_DIR to a configured and built build directory" >&2
	exit 2
fi
build=$(cd "$build" && pwd)
if ! git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	echo "SKIPPED: $src is not a git checkout; the release tarball is made from git" >&2
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portcheck-rpm.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
	echo "FAIL: $*" >&2
	failed=1
}
ok() { echo "ok: $*"; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$build/CMakeCache.txt")
if [ -z "$version" ]; then
	echo "test_rpm: no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt" >&2
	exit 1
fi
name=portcheck-$version
tarball=$build/$name.tar.gz

# --- 1. the release tarball -----------------------------------------------------------
# The release path first (git archive of HEAD): exactly HEAD's files under $name/.
if ! PORTCHECK_DIST_REF=HEAD cmake --build "$build" --target dist >"$tmp/dist-head.log" 2>&1; then
	cat "$tmp/dist-head.log" >&2
	fail "cmake --build $build --target dist (PORTCHECK_DIST_REF=HEAD)"
else
	tar -tzf "$tarball" | grep -v '/$' | sort >"$tmp/tar-head.list"
	git -C "$src" -c core.quotePath=false ls-tree -r --name-only HEAD | sed "s|^|$name/|" |
		sort >"$tmp/git-head.list"
	if cmp -s "$tmp/tar-head.list" "$tmp/git-head.list"; then
		ok "dist of HEAD: exactly HEAD's $(wc -l <"$tmp/git-head.list") files under $name/"
	else
		fail "dist of HEAD differs from git ls-tree HEAD: $(diff "$tmp/git-head.list" "$tmp/tar-head.list" | head -5)"
	fi
fi
# Then the tree as it is, which the rest of the test packages.
if ! PORTCHECK_DIST_REF=WORKTREE cmake --build "$build" --target dist >"$tmp/dist.log" 2>&1; then
	cat "$tmp/dist.log" >&2
	echo "FAIL: cmake --build $build --target dist" >&2
	exit 1
fi
if [ ! -f "$tarball" ]; then
	echo "FAIL: the dist target did not write $tarball" >&2
	exit 1
fi
ok "dist target wrote $tarball"
tar -tzf "$tarball" | sort >"$tmp/tar.list"
if grep -qv "^$name/" "$tmp/tar.list"; then
	fail "tarball entries outside $name/: $(grep -v "^$name/" "$tmp/tar.list" | head -3)"
else
	ok "every entry under $name/"
fi
# Exactly what git takes: tracked files and untracked ones .gitignore does not exclude,
# as on disk, minus a build directory inside the tree.
rel_build=$(realpath --relative-to="$src" "$build")
git -C "$src" -c core.quotePath=false ls-files --cached --others --exclude-standard |
	while IFS= read -r f; do
		[ -e "$src/$f" ] || [ -L "$src/$f" ] || continue
		case $rel_build in ../*) ;; *) [[ $f == "$rel_build"/* ]] && continue ;; esac
		echo "$name/$f"
	done | sort >"$tmp/git.list"
grep -v '/$' "$tmp/tar.list" >"$tmp/tar.files"
if ! diff -u "$tmp/git.list" "$tmp/tar.files" >"$tmp/tar.diff"; then
	fail "tarball files differ from git's (- git, + tarball):"
	head -20 "$tmp/tar.diff" >&2
else
	ok "tarball holds exactly git's $(wc -l <"$tmp/tar.files") files"
fi
if grep -E "^$name/([^/]*/)*(build[^/]*/|CMakeFiles/|CMakeCache\.txt$|_CPack_Packages/|\.git/)|\.(o|a|rpm|deb)$" \
	"$tmp/tar.list" >"$tmp/tar.junk"; then
	fail "build products in the tarball: $(head -3 "$tmp/tar.junk")"
else
	ok "no build directories or products in the tarball"
fi
for f in CMakeLists.txt README.md packaging/rpm/portcheck.spec packaging/dist.cmake \
	systemd/portcheck.sysusers systemd/portcheck.catalog systemd/portcheckd.socket \
	man/portcheck.1 man/portcheckd.8 completion/portcheck.bash daemon/portcheckd \
	client/main.c tests/unit; do
	grep -qxE "$name/$f/?" "$tmp/tar.list" || fail "tarball lacks $f"
done
tar -xzf "$tarball" -C "$tmp" "$name/packaging/rpm/portcheck.spec" || fail "no spec in the tarball"
spec=$tmp/$name/packaging/rpm/portcheck.spec
spec_version=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
if [ "$spec_version" != "$version" ]; then
	fail "spec Version: $spec_version, project() says $version (update packaging/rpm/portcheck.spec)"
else
	ok "spec Version: $version = project()"
fi
with_cockpit=0
if grep -qx "$name/cockpit/install.cmake" "$tmp/tar.list"; then
	with_cockpit=1
	ok "tree has the Cockpit page: building portcheck-cockpit"
else
	echo "NOTE: no cockpit/install.cmake in the tree: building --without cockpit" >&2
fi

# --- 2. the source rpm, from the tarball alone, with the stock macros -------------------
top=$tmp/rpmbuild
if ! rpmbuild -ts --define "_topdir $top" "$tarball" >"$tmp/srpm.log" 2>&1; then
	cat "$tmp/srpm.log" >&2
	fail "rpmbuild -ts $tarball"
fi
srpm=$(ls "$top"/SRPMS/portcheck-"$version"-*.src.rpm 2>/dev/null | head -1)
if [ -z "$srpm" ]; then
	echo "FAIL: no source rpm (rpmbuild -ts)" >&2
	exit 1
fi
ok "rpmbuild -ts: $(basename "$srpm")"
rpm -qlp "$srpm" >"$tmp/srpm.list" 2>/dev/null
grep -qx "$name.tar.gz" "$tmp/srpm.list" && grep -qx portcheck.spec "$tmp/srpm.list" ||
	fail "source rpm lacks the tarball or the spec: $(tr '\n' ' ' <"$tmp/srpm.list")"

# --- 3. the binary rpms, from the source rpm, with the stand-in Fedora macros -----------
standin=$src/tests/units/rpm-macros.fedora-stand-in
cockpit_opt=()
[ $with_cockpit -eq 1 ] || cockpit_opt=(--without cockpit)
if ! rpmbuild --rebuild --nodeps "${cockpit_opt[@]}" --define "_topdir $top" \
	--load "$standin" "$srpm" >"$tmp/rebuild.log" 2>&1; then
	tail -60 "$tmp/rebuild.log" >&2
	echo "FAIL: rpmbuild --rebuild $srpm (log above)" >&2
	exit 1
fi
grep -q '100% tests passed' "$tmp/rebuild.log" || fail "%check did not run the unit tests"
main_rpm=$(ls "$top"/RPMS/*/portcheck-"$version"-*.rpm 2>/dev/null | head -1)
if [ -z "$main_rpm" ]; then
	echo "FAIL: rpmbuild made no portcheck rpm" >&2
	exit 1
fi
ok "rpmbuild --rebuild: $(cd "$top/RPMS" && ls -- */*.rpm | tr '\n' ' ')"
cockpit_rpm=$(ls "$top"/RPMS/noarch/portcheck-cockpit-"$version"-*.noarch.rpm 2>/dev/null | head -1)

# --- 4. cpack -G RPM ------------------------------------------------------------------
# CPack runs rpmbuild itself: rpm's brp-compress needs bash (Fedora's /bin/sh; see the
# stand-in), given here through a private HOME's .rpmmacros.
mkdir -p "$tmp/home" "$tmp/cpack"
grep '^%__brp_compress' "$standin" >"$tmp/home/.rpmmacros"
if ! (cd "$tmp/cpack" && HOME=$tmp/home cpack -G RPM -B "$tmp/cpack" \
	--config "$build/CPackConfig.cmake") >"$tmp/cpack.log" 2>&1; then
	tail -40 "$tmp/cpack.log" >&2
	fail "cpack -G RPM"
fi
cpack_main=$(ls "$tmp"/cpack/portcheck-"$version"-*.rpm 2>/dev/null | grep -v cockpit | head -1)
cpack_cockpit=$(ls "$tmp"/cpack/portcheck-cockpit-"$version"-*.rpm 2>/dev/null | head -1)
if [ -z "$cpack_main" ]; then
	fail "cpack -G RPM made no portcheck rpm"
else
	ok "cpack -G RPM: $(cd "$tmp/cpack" && ls -- *.rpm | tr '\n' ' ')"
fi

# --- 5. rpmlint -----------------------------------------------------------------------
# One run over everything, so that a filter no package needs any more is reported
# (unused-rpmlintrc-filter, an error).
lint=("$spec" "$srpm")
for r in "$top"/RPMS/*/*.rpm; do
	case $r in *-debuginfo-* | *-debugsource-*) continue ;; esac
	lint+=("$r")
done
[ -n "$cpack_main" ] && lint+=("$cpack_main")
[ -n "$cpack_cockpit" ] && lint+=("$cpack_cockpit")
# Without the Cockpit page the filters for portcheck-cockpit have nothing to filter.
rpmlintrc=$src/packaging/rpm/portcheck.rpmlintrc
if [ $with_cockpit -eq 0 ]; then
	grep -v '^addFilter(r"^portcheck-cockpit' "$rpmlintrc" >"$tmp/portcheck.rpmlintrc"
	rpmlintrc=$tmp/portcheck.rpmlintrc
fi
rpmlint -c "$src/tests/units/rpmlint-fedora.stand-in.toml" -r "$rpmlintrc" "${lint[@]}" \
	>"$tmp/rpmlint.log" 2>&1
grep -E ': [EW]: ' "$tmp/rpmlint.log" >"$tmp/rpmlint.found"
summary=$(grep -E 'packages? and [0-9]+ specfiles? checked' "$tmp/rpmlint.log")
if [ -z "$summary" ]; then
	cat "$tmp/rpmlint.log" >&2
	fail "rpmlint did not run"
elif [ -s "$tmp/rpmlint.found" ]; then
	cat "$tmp/rpmlint.found" >&2
	fail "rpmlint: errors or unexplained warnings (fix them, or filter a warning in packaging/rpm/portcheck.rpmlintrc with the reason)"
else
	ok "rpmlint on ${#lint[@]} inputs:$summary"
fi

# --- 6. files and scriptlets ----------------------------------------------------------
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
unitdir=${unitdir:-/lib/systemd/system}
sbindir=$(rpm --eval '%{_sbindir}')
expected=(
	/usr/bin/portcheck "$sbindir/portcheckd" /usr/libexec/portcheck/portcheck-alert
	"$unitdir/portcheckd.service" "$unitdir/portcheckd.socket"
	"$unitdir/portcheck-check.service" "$unitdir/portcheck-check.timer"
	"$unitdir/portcheck-alert@.service"
	/usr/lib/sysusers.d/portcheck.conf /usr/lib/systemd/catalog/portcheck.catalog
	/etc/portcheck/portcheck.conf /etc/portcheck/portcheck.conf.d /etc/portcheck/alert.d
	/usr/share/bash-completion/completions/portcheck
	/usr/share/man/man1/portcheck.1.gz /usr/share/man/man5/portcheck.conf.5.gz
	/usr/share/man/man8/portcheckd.8.gz /usr/share/doc/portcheck/README.md
)
# Directories of systemd, bash-completion, man, cockpit and the filesystem.
foreign_dirs=(/usr /usr/bin /usr/sbin /usr/lib /usr/libexec /usr/share /usr/share/man
	/usr/share/man/man1 /usr/share/man/man5 /usr/share/man/man8 /lib /lib/systemd
	/usr/lib/systemd "$unitdir" /usr/lib/systemd/catalog /usr/lib/sysusers.d
	/usr/share/bash-completion /usr/share/bash-completion/completions /usr/share/cockpit
	/etc /usr/share/doc)

check_main() { # RPM LABEL
	local r=$1 what=$2 f missing=() owned=()
	rpm -qlp "$r" >"$tmp/files" 2>/dev/null
	for f in "${expected[@]}"; do
		grep -qxF "$f" "$tmp/files" || missing+=("$f")
	done
	for f in "${foreign_dirs[@]}"; do
		grep -qxF "$f" "$tmp/files" && owned+=("$f")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		fail "$what lacks ${missing[*]}"
	else
		ok "$what has the ${#expected[@]} expected files"
	fi
	[ ${#owned[@]} -eq 0 ] || fail "$what owns directories of other packages: ${owned[*]}"
	grep -q '^/usr/share/cockpit/' "$tmp/files" && fail "$what holds the Cockpit page"
	# c = %config, n = noreplace
	rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$r" 2>/dev/null |
		grep -qx '/etc/portcheck/portcheck.conf cn' ||
		fail "$what: /etc/portcheck/portcheck.conf is not %config(noreplace)"

	rpm -qp --scripts "$r" >"$tmp/scripts" 2>/dev/null
	local units='portcheckd.socket portcheckd.service portcheck-check.timer'
	# The spec says the units after the helper's verb; cpack's scriptlets name them once.
	grep -qE "install-system-units ($units|\\\$units)" "$tmp/scripts" &&
		grep -qE "remove-system-units ($units|\\\$units)" "$tmp/scripts" &&
		grep -q 'mark-restart-system-units portcheckd.service' "$tmp/scripts" &&
		{ grep -q "install-system-units $units" "$tmp/scripts" ||
			grep -q "units=\"$units\"" "$tmp/scripts"; } ||
		fail "$what: the systemd scriptlets (post/preun/postun) are missing or name other units"
	local tag body
	for tag in POSTIN PREUN POSTUN; do
		body=$(rpm -qp --qf "%{$tag}" "$r" 2>/dev/null)
		if [ -z "$body" ] || [ "$body" = "(none)" ]; then
			fail "$what: no $tag scriptlet"
		elif ! sh -n <<<"$body"; then
			fail "$what: $tag scriptlet is not valid sh"
		fi
	done
	[ $failed -eq 0 ] && ok "$what: systemd scriptlets in post, preun, postun"
}

check_cockpit() { # RPM LABEL
	local r=$1 what=$2
	rpm -qlp "$r" >"$tmp/files" 2>/dev/null
	grep -qx /usr/share/cockpit/portcheck/manifest.json "$tmp/files" ||
		fail "$what lacks /usr/share/cockpit/portcheck/manifest.json"
	grep -qv '^/usr/share/cockpit/portcheck\(/\|$\)' "$tmp/files" &&
		fail "$what has files outside /usr/share/cockpit/portcheck: $(grep -v '^/usr/share/cockpit/portcheck' "$tmp/files" | head -3)"
	[ "$(rpm -qp --qf '%{ARCH}' "$r" 2>/dev/null)" = noarch ] || fail "$what is not noarch"
	rpm -qpR "$r" 2>/dev/null >"$tmp/requires"
	grep -qE "^portcheck = $version-" "$tmp/requires" || fail "$what does not require portcheck = $version-RELEASE"
	grep -qx 'cockpit-bridge >= 266' "$tmp/requires" || fail "$what does not require cockpit-bridge >= 266"
	[ -z "$(rpm -qp --scripts "$r" 2>/dev/null)" ] || fail "$what has scriptlets"
	ok "$what: the page, noarch, requires portcheck = $version and cockpit-bridge, no scriptlets"
}

check_main "$main_rpm" "rpmbuild's $(basename "$main_rpm")"
[ -n "$cpack_main" ] && check_main "$cpack_main" "cpack's $(basename "$cpack_main")"
if [ $with_cockpit -eq 1 ]; then
	if [ -n "$cockpit_rpm" ]; then
		check_cockpit "$cockpit_rpm" "rpmbuild's $(basename "$cockpit_rpm")"
	else
		fail "rpmbuild made no portcheck-cockpit noarch rpm"
	fi
	if [ -n "$cpack_cockpit" ]; then
		check_cockpit "$cpack_cockpit" "cpack's $(basename "$cpack_cockpit")"
	else
		fail "cpack -G RPM made no portcheck-cockpit rpm"
	fi
fi

# Before Fedora 42 and on RHEL the group is made in %post (rpm does not read sysusers.d).
# (the parsed spec is written out first: grep -q ending a pipe early is no failure)
rpmspec -P --load "$standin" -D 'rhel 9' "$spec" 2>/dev/null |
	sed -n '/^%post$/,/^%preun$/p' >"$tmp/post.rhel"
rpmspec -P --load "$standin" -D 'fedora 42' "$spec" 2>/dev/null |
	sed -n '/^%post$/,/^%preun$/p' >"$tmp/post.fedora"
grep -q 'systemd-sysusers /usr/lib/sysusers.d/portcheck.conf' "$tmp/post.rhel" ||
	fail "spec: no systemd-sysusers in %post for RHEL"
grep -q 'systemd-sysusers' "$tmp/post.fedora" &&
	fail "spec: systemd-sysusers in %post on Fedora 42 (rpm creates the group there)"

if [ $failed -ne 0 ]; then
	echo "test_rpm: FAILED (rpmlint output: see above)" >&2
	exit 1
fi
echo "test_rpm: all passed"
