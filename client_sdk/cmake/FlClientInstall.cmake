# Installation of the client SDK as one self-contained static library plus a
# CMake package, so an outside project can write
#
#   find_package(fl_client REQUIRED)
#   target_link_libraries(app PRIVATE fl::client)
#
# libfl_client.a bundles the object files of fl_client and every project
# library it needs (transport, protocol, aggregation, model, crypto, proto,
# BLAKE3): an app links one archive and the system libraries named in
# fl_clientConfig.cmake (libsodium, protobuf, OpenSSL, Boost.System, zlib,
# threads), never our internal targets. Installed with component "fl_client":
#
#   cmake --install BUILD --prefix PREFIX --component fl_client
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(FL_CLIENT_BUNDLED_TARGETS
  fl_client fl_transport fl_protocol fl_aggregation fl_model fl_crypto fl_proto fl_base blake3)
set(FL_CLIENT_BUNDLE ${CMAKE_CURRENT_BINARY_DIR}/bundle/libfl_client.a)

# An ar MRI script naming each archive: GNU ar merges them member by member
# (duplicate member names across archives are kept, not overwritten).
set(mri "CREATE ${FL_CLIENT_BUNDLE}\n")
foreach(t ${FL_CLIENT_BUNDLED_TARGETS})
  string(APPEND mri "ADDLIB $<TARGET_FILE:${t}>\n")
endforeach()
string(APPEND mri "SAVE\nEND\n")
file(GENERATE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/bundle/fl_client.mri CONTENT "${mri}")

set(bundle_deps)
foreach(t ${FL_CLIENT_BUNDLED_TARGETS})
  list(APPEND bundle_deps $<TARGET_FILE:${t}>)
endforeach()
add_custom_command(
  OUTPUT ${FL_CLIENT_BUNDLE}
  COMMAND ${CMAKE_COMMAND} -E rm -f ${FL_CLIENT_BUNDLE}
  COMMAND ${CMAKE_AR} -M < ${CMAKE_CURRENT_BINARY_DIR}/bundle/fl_client.mri
  COMMAND ${CMAKE_RANLIB} ${FL_CLIENT_BUNDLE}
  DEPENDS ${FL_CLIENT_BUNDLED_TARGETS} ${bundle_deps}
  COMMENT "Bundling libfl_client.a for installation"
  VERBATIM)
add_custom_target(fl_client_bundle ALL DEPENDS ${FL_CLIENT_BUNDLE})

# Sanitised builds put instrumented objects in the archive; their users must
# link the sanitiser runtime too.
set(FL_CLIENT_INTERFACE_LINK_OPTIONS "")
if(FL_SANITIZE)
  set(FL_CLIENT_INTERFACE_LINK_OPTIONS "-fsanitize=address,undefined")
endif()

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/fl_clientConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/bundle/fl_clientConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fl_client
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/bundle/fl_clientConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)

install(FILES ${FL_CLIENT_BUNDLE}
  DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT fl_client)
set(fl_testing_header_rule)
if(NOT FL_SDK_TESTING)
  set(fl_testing_header_rule PATTERN "testing.h" EXCLUDE)
endif()
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/fl
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT fl_client FILES_MATCHING PATTERN "*.h"
  ${fl_testing_header_rule})
install(FILES ${PROJECT_SOURCE_DIR}/base/status.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/base COMPONENT fl_client)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/bundle/fl_clientConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/bundle/fl_clientConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fl_client COMPONENT fl_client)
# The command-line client is its own component: the SDK needs no executable.
install(TARGETS fl-client RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT fl_client_tools)
