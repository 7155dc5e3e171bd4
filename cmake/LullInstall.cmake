# Installs headers, libraries, the lull binary and a CMake package so that
#   find_package(lull) + target_link_libraries(app PRIVATE lull::lull)
# works against the installed tree.
include(CMakePackageConfigHelpers)

install(TARGETS lull lull_base lull_checkpoint lull_collectives lull_runtime lull_policy lull_simulator
        EXPORT lullTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS lull_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# `lull report`'s drawing script and the events-file parser beside it (launcher/CMakeLists.txt tells lull where).
install(PROGRAMS launcher/src/report/timeline.py DESTINATION ${CMAKE_INSTALL_DATADIR}/lull)
install(FILES launcher/src/report/events_file.py DESTINATION ${CMAKE_INSTALL_DATADIR}/lull)
install(DIRECTORY base/include/ checkpoint/include/ collectives/include/ runtime/include/ policy/include/ simulator/include/ ${PROJECT_BINARY_DIR}/generated/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT lullTargets NAMESPACE lull:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lull)
configure_package_config_file(cmake/lullConfig.cmake.in
  ${PROJECT_BINARY_DIR}/lullConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lull)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lullConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/lullConfig.cmake ${PROJECT_BINARY_DIR}/lullConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lull)
