# Installs the headers and a relocatable package config so that
# find_package(tinyadapt) works after `cmake --install`.
include(CMakePackageConfigHelpers)
install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS tinyadapt EXPORT tinyadaptTargets)
install(EXPORT tinyadaptTargets NAMESPACE tinyadapt::
        DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/tinyadapt)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/tinyadaptConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/tinyadaptConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/tinyadapt)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tinyadaptConfigVersion.cmake
  COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tinyadaptConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/tinyadaptConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/tinyadapt)
# pkg-config: share/pkgconfig/tinyadapt.pc (the library is architecture
# independent), next to share/cmake/tinyadapt.
configure_file(${CMAKE_CURRENT_LIST_DIR}/tinyadapt.pc.in ${CMAKE_CURRENT_BINARY_DIR}/tinyadapt.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tinyadapt.pc DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)
