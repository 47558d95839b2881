# The installed package: CairnConfig.cmake (+ version file) and CairnTargets.cmake for
# find_package(Cairn), and cairn.pc for pkg-config. Each folder installs its own libraries,
# headers and programs into the CairnTargets export set; this file installs what ties them
# together. Everything is relative to the install prefix: the installed tree can be moved.
include(CMakePackageConfigHelpers)

set(CAIRN_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/Cairn
    CACHE STRING "Where CairnConfig.cmake is installed (relative to the prefix)")

install(EXPORT CairnTargets NAMESPACE Cairn:: DESTINATION ${CAIRN_INSTALL_CMAKEDIR})
if(TARGET cairn_dashboard)
  install(EXPORT CairnDashboardTargets NAMESPACE Cairn:: DESTINATION ${CAIRN_INSTALL_CMAKEDIR})
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/CairnConfig.cmake.in
  ${PROJECT_BINARY_DIR}/CairnConfig.cmake INSTALL_DESTINATION ${CAIRN_INSTALL_CMAKEDIR})
# 0.x: a new minor version may change the API, so only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/CairnConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/CairnConfig.cmake ${PROJECT_BINARY_DIR}/CairnConfigVersion.cmake
  DESTINATION ${CAIRN_INSTALL_CMAKEDIR})

# cairn.pc finds the prefix from its own place (${pcfiledir}), so it moves with the tree too.
file(RELATIVE_PATH CAIRN_PC_TO_PREFIX
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" CAIRN_PC_TO_PREFIX "${CAIRN_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/cairn.pc.in ${PROJECT_BINARY_DIR}/cairn.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cairn.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
