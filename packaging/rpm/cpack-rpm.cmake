# SPDX-License-Identifier: MIT
# The rpm, the quick path: `cd BUILD && cpack -G RPM` (included from CMakeLists.txt before
# include(CPack); the DEB settings there are not touched). The distribution's way is the
# spec, packaging/rpm/portcheck.spec; packaging/rpm/README.md compares the two.
#
# Build it on the distribution it is for: the unit directory comes from that host's
# pkg-config (/usr/lib/systemd/system on Fedora and RHEL, /lib/systemd/system on Debian 12)
# and the library dependencies from its libraries. Like the .deb, it installs under /usr
# whatever the build's prefix (CPACK_SET_DESTDIR in CMakeLists.txt).

set(CPACK_RPM_PACKAGE_LICENSE "MIT")
# Group: is ignored by current rpm and dropped by Fedora; older tools still show it.
set(CPACK_RPM_PACKAGE_GROUP "Applications/System")
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
# Library dependencies come from rpm's automatic ones; systemd runs the units.
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
set(CPACK_RPM_PACKAGE_REQUIRES "systemd")
set(CPACK_RPM_PACKAGE_SUGGESTS "firewalld")
# No build-id links in /usr/lib/.build-id: they would conflict between packages
# of the same build and belong to a debuginfo package this path does not make.
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")

# The admin's configuration survives upgrades and removals (as the .deb's conffile).
set(CPACK_RPM_USER_FILELIST "%config(noreplace) /etc/portcheck/portcheck.conf")
# Directories other packages own (systemd, bash-completion, cockpit, the filesystem):
# the package must not claim them.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /lib /lib/systemd /lib/systemd/system
    /usr/lib /usr/lib/systemd /usr/lib/systemd/system /usr/lib/systemd/catalog
    /usr/lib/sysusers.d /usr/libexec /usr/share/bash-completion
    /usr/share/bash-completion/completions /usr/share/cockpit
    /usr/share/man/man5 /usr/share/man/man8)

# The systemd scriptlets of the spec, written out (cpack-post.sh says why), for the
# main package only: named by its component, so the cockpit package gets none.
set(CPACK_RPM_UNSPECIFIED_POST_INSTALL_SCRIPT_FILE
    "${CMAKE_CURRENT_LIST_DIR}/cpack-post.sh")
set(CPACK_RPM_UNSPECIFIED_PRE_UNINSTALL_SCRIPT_FILE
    "${CMAKE_CURRENT_LIST_DIR}/cpack-preun.sh")
set(CPACK_RPM_UNSPECIFIED_POST_UNINSTALL_SCRIPT_FILE
    "${CMAKE_CURRENT_LIST_DIR}/cpack-postun.sh")

# One rpm per install component: everything without a component (Unspecified) is the
# main package "portcheck"; the component cockpit (cockpit/install.cmake) is
# portcheck-cockpit, noarch, for the same version of portcheck.
set(CPACK_RPM_COMPONENT_INSTALL ON)
set(CPACK_RPM_MAIN_COMPONENT Unspecified)
set(CPACK_RPM_COCKPIT_PACKAGE_NAME "${CPACK_PACKAGE_NAME}-cockpit")
set(CPACK_RPM_COCKPIT_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_COCKPIT_PACKAGE_ARCHITECTURE noarch)
set(CPACK_RPM_COCKPIT_PACKAGE_SUMMARY
    "Cockpit page for portcheck: listening ports and the firewall")
set(CPACK_RPM_COCKPIT_PACKAGE_DESCRIPTION
    "A \"Listening ports\" page for Cockpit: every listening socket and whether the\n\
firewall lets new connections through, the rule that decides, and the fix as a\n\
button. It talks to portcheckd over its Varlink socket.")
set(CPACK_RPM_COCKPIT_PACKAGE_REQUIRES
    "${CPACK_PACKAGE_NAME} = ${PROJECT_VERSION}-${CPACK_RPM_PACKAGE_RELEASE}, cockpit-bridge")
