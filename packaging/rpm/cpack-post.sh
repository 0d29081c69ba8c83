# portcheck post-install scriptlet (cpack -G RPM): what the spec's systemd_post macro
# expands to on Fedora, written out because CPack copies this file into its spec
# verbatim, on a build host that may have no systemd-rpm-macros. No percent sign in
# this file: rpm would expand it as a macro. Older systemd (no update helper): the preset.
units="portcheckd.socket portcheckd.service portcheck-check.timer"
if [ "$1" -eq 1 ]; then
	if [ -x /usr/lib/systemd/systemd-update-helper ]; then
		/usr/lib/systemd/systemd-update-helper install-system-units $units || :
	else
		systemctl --no-reload preset $units >/dev/null 2>&1 || :
	fi
fi
# The group ReadGroup= names (rpm >= 4.19 may have made it already from the sysusers.d
# file; systemd-sysusers then does nothing).
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers portcheck.conf || :
fi
# The catalog: on Fedora and RHEL systemd's rpm file trigger on its catalog directory
# runs journalctl --update-catalog; a cpack package may land where none does, and a
# second run is cheap.
if command -v journalctl >/dev/null 2>&1; then
	journalctl --update-catalog >/dev/null 2>&1 || :
fi
