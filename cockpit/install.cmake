# The Cockpit page "Listening ports" (cockpit/): plain files, no build step. Installed
# to /usr/share/cockpit/portcheck with the prefix /usr; packaged as portcheck-cockpit
# (the component "cockpit", see the CPack DEB settings in CMakeLists.txt).
set(PC_COCKPIT_FILES
    manifest.json index.html portcheck.css portcheck.js cockpit-shim.js dom.js theme.js
    varlink.js status.js change.js explain.js history.js)
list(TRANSFORM PC_COCKPIT_FILES PREPEND "${CMAKE_CURRENT_LIST_DIR}/")
file(GLOB PC_COCKPIT_PO CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/po.*.js")
install(FILES ${PC_COCKPIT_FILES} ${PC_COCKPIT_PO}
	DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/cockpit/portcheck COMPONENT cockpit)
