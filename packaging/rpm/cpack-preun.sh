# portcheck pre-uninstall scriptlet (cpack -G RPM): the systemd_preun macro written out
# (see cpack-post.sh).
units="portcheckd.socket portcheckd.service portcheck-check.timer"
if [ "$1" -eq 0 ]; then
	if [ -x /usr/lib/systemd/systemd-update-helper ]; then
		/usr/lib/systemd/systemd-update-helper remove-system-units $units || :
	else
		systemctl --no-reload disable --now $units >/dev/null 2>&1 || :
	fi
fi
