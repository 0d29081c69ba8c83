# portcheck post-uninstall scriptlet (cpack -G RPM): the systemd_postun_with_restart
# macro written out (see cpack-post.sh). The daemon only, as in the spec.
if [ "$1" -ge 1 ]; then
	if [ -x /usr/lib/systemd/systemd-update-helper ]; then
		/usr/lib/systemd/systemd-update-helper mark-restart-system-units portcheckd.service || :
	else
		systemctl try-restart portcheckd.service >/dev/null 2>&1 || :
	fi
fi
