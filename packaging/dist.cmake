# SPDX-License-Identifier: MIT
# The release tarball: `cmake --build BUILD --target dist` writes
# BUILD/portcheck-VERSION.tar.gz (top directory portcheck-VERSION/, VERSION from project()),
# the one source both the rpm (packaging/rpm/portcheck.spec, Source0) and a Debian
# package start from.
#
# It is made from git, never from the directory: build directories, editor files and
# anything else untracked stay out. Which tree, by PORTCHECK_DIST_REF in the environment:
#   unset or a commit-ish (default HEAD)  `git archive` of that commit: a release;
#   WORKTREE                              the tracked files and the untracked ones that
#                                         .gitignore does not exclude, as they are on
#                                         disk now (uncommitted edits included): what a
#                                         test of the working tree needs.
#
# Included from CMakeLists.txt it defines the target; the target runs this same file in
# script mode (cmake -P), so the tarball is made at build time, never at configure time.

if(NOT CMAKE_SCRIPT_MODE_FILE)
	set(_pc_dist_tarball "${CMAKE_CURRENT_BINARY_DIR}/${PROJECT_NAME}-${PROJECT_VERSION}.tar.gz")
	add_custom_target(dist
		COMMAND "${CMAKE_COMMAND}" -DPC_DIST_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}
			-DPC_DIST_NAME=${PROJECT_NAME}-${PROJECT_VERSION}
			-DPC_DIST_OUTPUT=${_pc_dist_tarball}
			-DPC_DIST_BINARY_DIR=${CMAKE_BINARY_DIR}
			-P "${CMAKE_CURRENT_LIST_DIR}/dist.cmake"
		COMMENT "Release tarball ${_pc_dist_tarball}"
		VERBATIM)
	unset(_pc_dist_tarball)
	return()
endif()

# --- script mode ----------------------------------------------------------------------
cmake_minimum_required(VERSION 3.20)
foreach(v PC_DIST_SOURCE_DIR PC_DIST_NAME PC_DIST_OUTPUT)
	if(NOT DEFINED ${v})
		message(FATAL_ERROR "dist.cmake: ${v} not set (run it through the dist target)")
	endif()
endforeach()
find_package(Git QUIET)
if(NOT GIT_FOUND)
	message(FATAL_ERROR "dist: git not found; the tarball is made from the git tree")
endif()
execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --is-inside-work-tree
		WORKING_DIRECTORY "${PC_DIST_SOURCE_DIR}" RESULT_VARIABLE _rc
		OUTPUT_QUIET ERROR_QUIET)
if(NOT _rc EQUAL 0)
	message(FATAL_ERROR "dist: ${PC_DIST_SOURCE_DIR} is not a git checkout; "
		"a tarball is made from git (unpacked tarballs are releases already)")
endif()

set(_ref "$ENV{PORTCHECK_DIST_REF}")
if(_ref STREQUAL "")
	set(_ref HEAD)
endif()
file(REMOVE "${PC_DIST_OUTPUT}")

if(NOT _ref STREQUAL "WORKTREE")
	execute_process(COMMAND "${GIT_EXECUTABLE}" status --porcelain --untracked-files=no
			WORKING_DIRECTORY "${PC_DIST_SOURCE_DIR}" OUTPUT_VARIABLE _dirty)
	if(_ref STREQUAL "HEAD" AND NOT _dirty STREQUAL "")
		message(WARNING "dist: the tree has uncommitted changes; the tarball is HEAD "
			"without them (PORTCHECK_DIST_REF=WORKTREE takes the tree as it is)")
	endif()
	execute_process(COMMAND "${GIT_EXECUTABLE}" archive --format=tar.gz
			"--prefix=${PC_DIST_NAME}/" -o "${PC_DIST_OUTPUT}" "${_ref}"
			WORKING_DIRECTORY "${PC_DIST_SOURCE_DIR}" RESULT_VARIABLE _rc)
	if(NOT _rc EQUAL 0)
		message(FATAL_ERROR "dist: git archive ${_ref} failed")
	endif()
	message(STATUS "dist: ${PC_DIST_OUTPUT} (git archive ${_ref})")
	return()
endif()

# WORKTREE: copy the files git would take into a staging directory, then tar it.
execute_process(COMMAND "${GIT_EXECUTABLE}" -c core.quotePath=false ls-files --cached --others
			--exclude-standard
		WORKING_DIRECTORY "${PC_DIST_SOURCE_DIR}" OUTPUT_VARIABLE _files
		RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
	message(FATAL_ERROR "dist: git ls-files failed")
endif()
get_filename_component(_outdir "${PC_DIST_OUTPUT}" DIRECTORY)
string(RANDOM LENGTH 12 _random)
set(_stage "${_outdir}/.dist-${_random}")
file(MAKE_DIRECTORY "${_stage}/${PC_DIST_NAME}")
# One path a line (CMake strings hold no NUL, so no -z). A path with ';' would split the
# CMake list and git quotes one with a newline or a control character: refuse both
# rather than ship a wrong tree.
string(FIND "${_files}" ";" _semicolon)
if(NOT _semicolon EQUAL -1)
	message(FATAL_ERROR "dist: a path in the tree contains ';'")
endif()
string(REPLACE "\n" ";" _files "${_files}")
set(_bin_rel "")
if(DEFINED PC_DIST_BINARY_DIR)
	file(RELATIVE_PATH _bin_rel "${PC_DIST_SOURCE_DIR}" "${PC_DIST_BINARY_DIR}")
	if(_bin_rel MATCHES "^\\.\\./" OR _bin_rel STREQUAL "")
		set(_bin_rel "") # outside the tree (or the tree itself: in-source builds are not supported)
	endif()
endif()
foreach(f IN LISTS _files)
	if(f STREQUAL "")
		continue()
	endif()
	if(f MATCHES "^\"")
		message(FATAL_ERROR "dist: a path git had to quote: ${f}")
	endif()
	# A build directory inside the tree that .gitignore does not name stays out too.
	if(NOT _bin_rel STREQUAL "")
		string(FIND "${f}" "${_bin_rel}/" _pos)
		if(_pos EQUAL 0)
			continue()
		endif()
	endif()
	# A tracked file deleted in the tree is not in the tarball (as on disk).
	if(NOT EXISTS "${PC_DIST_SOURCE_DIR}/${f}" AND NOT IS_SYMLINK "${PC_DIST_SOURCE_DIR}/${f}")
		continue()
	endif()
	get_filename_component(_d "${f}" DIRECTORY)
	file(COPY "${PC_DIST_SOURCE_DIR}/${f}" DESTINATION "${_stage}/${PC_DIST_NAME}/${_d}"
	     USE_SOURCE_PERMISSIONS)
endforeach()
execute_process(COMMAND "${CMAKE_COMMAND}" -E tar czf "${PC_DIST_OUTPUT}" "${PC_DIST_NAME}"
		WORKING_DIRECTORY "${_stage}" RESULT_VARIABLE _rc)
file(REMOVE_RECURSE "${_stage}")
if(NOT _rc EQUAL 0)
	message(FATAL_ERROR "dist: tar failed")
endif()
message(STATUS "dist: ${PC_DIST_OUTPUT} (working tree)")
