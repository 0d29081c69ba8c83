# The Cockpit page "Listening ports" (cockpit/): plain files, no build step. Installed
# to /usr/share/cockpit/portcheck with the prefix /usr; packaged as portcheck-cockpit
# (the component "cockpit", see the CPack DEB settings in CMakeLists.txt). Every page
# file is taken, translations (po.LANG.js) included, so a new module cannot be left out.
file(GLOB PC_COCKPIT_FILES CONFIGURE_DEPENDS
     "${CMAKE_CURRENT_LIST_DIR}/*.html" "${CMAKE_CURRENT_LIST_DIR}/*.js"
     "${CMAKE_CURRENT_LIST_DIR}/*.css" "${CMAKE_CURRENT_LIST_DIR}/manifest.json")
install(FILES ${PC_COCKPIT_FILES}
	DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/cockpit/portcheck COMPONENT cockpit)
