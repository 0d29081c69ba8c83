# SPDX-License-Identifier: MIT
# pc_configure_units(OUTDIR BINDIR SBINDIR LIBEXECDIR RESULT_VAR): write the unit files
# for these (absolute) directories into OUTDIR and set RESULT_VAR to their paths. Used at
# configure time (BUILD/systemd/, for inspection and systemd-analyze) and at install time
# (systemd/install.cmake, with the real prefix).
# The templates live beside this file; captured now (inside a function
# CMAKE_CURRENT_LIST_DIR is the caller's).
set(PC_UNITS_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(PC_UNIT_TEMPLATES portcheckd.service.in portcheck-check.service.in
		      portcheck-alert@.service.in)
set(PC_UNIT_FILES portcheckd.socket portcheck-check.timer)

function(pc_configure_units outdir bindir sbindir libexecdir result_var)
	set(_out)
	foreach(f IN LISTS PC_UNIT_TEMPLATES PC_UNIT_FILES)
		string(REGEX REPLACE "\\.in$" "" name "${f}")
		file(READ "${PC_UNITS_SOURCE_DIR}/${f}" text)
		string(REGEX MATCHALL "@[A-Za-z_]+@" subst "${text}")
		list(REMOVE_ITEM subst @bindir@ @sbindir@ @libexecdir@)
		if(subst)
			message(FATAL_ERROR "${f}: unknown substitution ${subst}")
		endif()
		# Substitutes @bindir@, @sbindir@, @libexecdir@ (this function's arguments);
		# writes only on change, so an unchanged unit keeps its time stamp.
		file(CONFIGURE OUTPUT "${outdir}/${name}" CONTENT "${text}" @ONLY)
		list(APPEND _out "${outdir}/${name}")
	endforeach()
	file(MAKE_DIRECTORY "${outdir}/empty/portcheck.conf.d" "${outdir}/empty/alert.d")
	set(${result_var} "${_out}" PARENT_SCOPE)
endfunction()
