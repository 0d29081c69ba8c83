# shellcheck shell=bash
# The numbered checks of the system-tier tests (sourced by test_system.sh and
# test_cockpit.sh): `check DESCRIPTION CMD...` runs CMD with its output in $CHECK_OUT
# (set it before the first check), prints "ok N - ..." or "FAIL N - ..." with the last
# lines of the output, and collects the failures in FAILED for the summary at the end.

N=0
FAILED=()
CHECK_OUT=""

check() {
	local desc=$1 rc=0
	shift
	N=$((N + 1))
	"$@" >"$CHECK_OUT" 2>&1 || rc=$?
	if [[ $rc -eq 0 ]]; then
		echo "ok $N - $desc"
		[[ -z ${PORTCHECK_SYSTEST_VERBOSE:-} ]] || sed -e 's/^/    | /' "$CHECK_OUT" | tail -n 60
	else
		echo "FAIL $N - $desc (exit $rc)"
		sed -e 's/^/    | /' "$CHECK_OUT" | tail -n 60
		FAILED+=("$N - $desc")
	fi
}

# stage TEXT: a heading with the seconds since the test started (T0, set by the test).
stage() { printf '\n# %s (%d s)\n' "$*" $((SECONDS - T0)); }

# The EXIT trap of a system test: the container's journal when the test failed (its last
# $JOURNAL_LINES lines, default 150), then the teardown (container.sh).
on_exit() {
	local rc=$?
	set +e # errexit in an EXIT trap would skip the teardown
	if [[ $rc -ne 0 ]]; then
		sys_journal_dump "${JOURNAL_LINES:-150}"
	fi
	(exit "$rc")
	sys_teardown
}
