# SPDX-License-Identifier: MIT
# Install-time part of the system integration, run by `cmake --install` and by CPack
# (see the end of the top-level CMakeLists.txt). It runs at install time because the
# prefix is only known then: `cmake --install BUILD --prefix P` may differ from the
# configured prefix, and CPack installs a /usr/local-configured build under /usr.
#
#  - prefix /usr (a package): units in the system unit dir (/lib/systemd/system on
#    Debian 12), the config in /etc;
#  - any other prefix P: everything under P (P/lib/systemd/system, P/etc), so an install
#    never writes outside P.
#
# Set by the install(CODE) that includes this script, with policies of CMake 3.20 (the
# default ones of cmake_install.cmake make "@bindir@" a variable reference, CMP0053):
# PC_SOURCE_DIR,
# PC_SYSTEM_UNITDIR (pkg-config's systemdsystemunitdir at configure time), PC_BINDIR,
# PC_SBINDIR, PC_LIBEXECDIR (relative to the prefix).

include("${PC_SOURCE_DIR}/systemd/units.cmake")

if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR CMAKE_INSTALL_PREFIX STREQUAL "/usr/")
	set(_pc_prefix "/usr")
	set(_pc_unitdir "${PC_SYSTEM_UNITDIR}")
	set(_pc_sysconfdir "/etc")
else()
	string(REGEX REPLACE "/+$" "" _pc_prefix "${CMAKE_INSTALL_PREFIX}")
	# /lib/systemd/system and /usr/lib/systemd/system both become P/lib/systemd/system.
	string(REGEX REPLACE "^/usr/" "/" _pc_rel "${PC_SYSTEM_UNITDIR}")
	set(_pc_unitdir "${_pc_prefix}${_pc_rel}")
	set(_pc_sysconfdir "${_pc_prefix}/etc")
endif()

# Configured into a scratch directory, not the build tree: the install may run as another
# user than the build (a root-owned build installed by a test, or the reverse).
if(DEFINED ENV{TMPDIR} AND IS_DIRECTORY "$ENV{TMPDIR}")
	set(_pc_tmp "$ENV{TMPDIR}")
else()
	set(_pc_tmp /tmp)
endif()
string(RANDOM LENGTH 16 _pc_random)
set(_pc_scratch "${_pc_tmp}/portcheck-install-${_pc_random}")
pc_configure_units("${_pc_scratch}" "${_pc_prefix}/${PC_BINDIR}" "${_pc_prefix}/${PC_SBINDIR}"
		   "${_pc_prefix}/${PC_LIBEXECDIR}" _pc_units)

file(INSTALL DESTINATION "${_pc_unitdir}" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE
     GROUP_READ WORLD_READ FILES ${_pc_units})
# The admin's config: a conffile in the package; never overwrite an edited one here.
if(EXISTS "$ENV{DESTDIR}${_pc_sysconfdir}/portcheck/portcheck.conf")
	file(READ "${PC_SOURCE_DIR}/etc/portcheck.conf" _pc_new)
	file(READ "$ENV{DESTDIR}${_pc_sysconfdir}/portcheck/portcheck.conf" _pc_old)
	if(NOT _pc_new STREQUAL _pc_old)
		message(STATUS "Keeping: $ENV{DESTDIR}${_pc_sysconfdir}/portcheck/portcheck.conf "
			"(edited; the new example is in share/doc/portcheck)")
		set(_pc_keep_config TRUE)
	endif()
endif()
if(NOT _pc_keep_config)
	file(INSTALL DESTINATION "${_pc_sysconfdir}/portcheck" TYPE FILE PERMISSIONS OWNER_READ
	     OWNER_WRITE GROUP_READ WORLD_READ FILES "${PC_SOURCE_DIR}/etc/portcheck.conf")
endif()
# Empty directories the admin fills: drop-ins and alert hooks.
file(INSTALL DESTINATION "${_pc_sysconfdir}/portcheck" TYPE DIRECTORY
     DIR_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
     WORLD_READ WORLD_EXECUTE
     FILES "${_pc_scratch}/empty/portcheck.conf.d" "${_pc_scratch}/empty/alert.d")
file(REMOVE_RECURSE "${_pc_scratch}")
