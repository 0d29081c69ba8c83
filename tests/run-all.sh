#!/usr/bin/env bash
# Every test: installs what the tests need, builds the CI configuration (warnings as
# errors) and the ASan+UBSan configuration, and runs the unit, units and lab suites in
# both, and the system tier (the .deb in a Debian 12 container booted with systemd) in
# the CI configuration: a package of sanitizer builds would not run in a plain Debian.
# Lab and system tests need root; without it they are reported as skipped, loudly.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "$(id -u)" -eq 0 ]; then
	tests/install-deps.sh
else
	echo "run-all: not root: not installing packages; lab tests will be SKIPPED" >&2
fi

status=0
# run_config DIR "CTEST ARGS" CMAKE ARGS...
run_config() {
	local dir=$1 ctest_args=$2
	shift 2
	echo "=== configuration $dir: $* ==="
	cmake -S . -B "$dir" -DPORTCHECK_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$(nproc)"
	# shellcheck disable=SC2086 # ctest_args is a word list
	if ! ctest --test-dir "$dir" --output-on-failure --timeout 1500 $ctest_args | tee "$dir/ctest.out"; then
		status=1
	fi
	# ctest counts a skip (exit 77) as passed; its summary names them.
	if grep -q 'The following tests did not run' "$dir/ctest.out"; then
		echo "!!! run-all: some tests in $dir were SKIPPED (see above): the lab and system tiers need root and their tools" >&2
		if [[ ${CI:-} == true ]]; then
			echo "!!! run-all: in CI a skipped test fails the run" >&2
			status=1
		fi
	fi
}

run_config build-ci "" -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_config build-asan "-LE system" -DCMAKE_BUILD_TYPE=Debug -DPORTCHECK_SANITIZE=ON
exit $status
