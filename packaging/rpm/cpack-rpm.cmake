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
# Installs under /usr (CPACK_SET_DESTDIR), with units and config at fixed places: not
# relocatable (CPackRPM otherwise asks for it and warns that it cannot).
set(CPACK_PACKAGE_RELOCATABLE OFF) # read by CPackRPM (and macOS bundles) only
# Capitalised, and the description wrapped at 80 columns (rpmlint; the .deb's texts
# above are left as they are).
set(CPACK_RPM_PACKAGE_SUMMARY "Which listening ports the firewall lets through, and the fix")
set(CPACK_RPM_PACKAGE_DESCRIPTION
    "portcheck lists every listening socket on the host and tells whether a new\n\
connection from the network would get through the firewall (nftables,\n\
firewalld), per interface, address family and source range, with the deciding\n\
rule and the fix. portcheckd watches the ruleset and logs changes to the\n\
journal; portcheck check runs from a timer for alerting and Prometheus metrics.")
# Library dependencies come from rpm's automatic ones; systemd runs the units.
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
set(CPACK_RPM_PACKAGE_REQUIRES "systemd")
# No weak dependency on firewalld here (the spec has Recommends:): CMake 3.25's CPackRPM
# does not recognise the tags of Debian's rpmbuild --querytags and drops Suggests:.

# Directories other packages own (systemd, bash-completion, cockpit, the filesystem):
# the package must not claim them.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /lib /lib/systemd /lib/systemd/system
    /usr/lib /usr/lib/systemd /usr/lib/systemd/system /usr/lib/systemd/catalog
    /usr/lib/sysusers.d /usr/libexec /usr/sbin /usr/share/bash-completion
    /usr/share/bash-completion/completions /usr/share/cockpit
    /usr/share/man /usr/share/man/man1 /usr/share/man/man5 /usr/share/man/man8)

# For the main package only: the systemd scriptlets of the spec, written out
# (cpack-post.sh says why), and the admin's configuration as %config(noreplace) (kept on
# upgrades, as the .deb's conffile). CPack makes one package per component only when
# there is more than one (CPack.cmake): with the Cockpit page (component cockpit) these
# are named by the main package's component, Unspecified, so portcheck-cockpit gets
# none; without it the one package takes the general ones (in component mode CPack reads
# only the component's).
get_cmake_property(_pc_components COMPONENTS)
list(LENGTH _pc_components _pc_ncomponents)
if(_pc_ncomponents GREATER 1)
	set(_pc_rpm_scripts CPACK_RPM_UNSPECIFIED)
else()
	set(_pc_rpm_scripts CPACK_RPM)
endif()
set(${_pc_rpm_scripts}_POST_INSTALL_SCRIPT_FILE "${CMAKE_CURRENT_LIST_DIR}/cpack-post.sh")
set(${_pc_rpm_scripts}_PRE_UNINSTALL_SCRIPT_FILE "${CMAKE_CURRENT_LIST_DIR}/cpack-preun.sh")
set(${_pc_rpm_scripts}_POST_UNINSTALL_SCRIPT_FILE "${CMAKE_CURRENT_LIST_DIR}/cpack-postun.sh")
set(${_pc_rpm_scripts}_USER_FILELIST "%config(noreplace) /etc/portcheck/portcheck.conf")
unset(_pc_components)
unset(_pc_ncomponents)
unset(_pc_rpm_scripts)

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
    "A 'Listening ports' page for Cockpit: every listening socket and whether the\n\
firewall lets new connections through, the rule that decides, and the fix as a\n\
button. It talks to portcheckd over its Varlink socket.")
set(CPACK_RPM_COCKPIT_PACKAGE_REQUIRES
    "${CPACK_PACKAGE_NAME} = ${PROJECT_VERSION}-${CPACK_RPM_PACKAGE_RELEASE}, cockpit-bridge >= 266")
