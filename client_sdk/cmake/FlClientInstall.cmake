# Installation of the client SDK: a shared library, a self-contained static
# archive and a CMake package, so an outside project can write
#
#   find_package(fl_client REQUIRED)
#   target_link_libraries(app PRIVATE fl::client)         # libfl_client.so
#   target_link_libraries(app PRIVATE fl::client_static)  # libfl_client.a
#
# libfl_client.so.MAJOR carries its internal libraries inside and exports only
# the fl:: API; the app needs nothing but the headers (its NEEDED libsodium,
# OpenSSL and zlib come from the system). libfl_client.a bundles the object
# files of fl_client and every project library it needs (transport, protocol,
# aggregation, the model file reader, crypto, proto, BLAKE3): an app links one
# archive and the system libraries named in fl_clientConfig.cmake (libsodium,
# protobuf-lite, OpenSSL, Boost.System, zlib, threads). With the built-in trainer,
# libfl_client_builtin.a (fl::client_builtin, over fl::client_static).
# Installed with component "fl_client":
#
#   cmake --install BUILD --prefix PREFIX --component fl_client
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# An archive merging the archives of `targets`: GNU ar's MRI script adds each
# member by member (duplicate member names across archives are kept).
function(fl_bundle_archive name out)
  set(targets ${ARGN})
  set(mri "CREATE ${out}\n")
  set(deps)
  foreach(t ${targets})
    string(APPEND mri "ADDLIB $<TARGET_FILE:${t}>\n")
    list(APPEND deps $<TARGET_FILE:${t}>)
  endforeach()
  string(APPEND mri "SAVE\nEND\n")
  file(GENERATE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/bundle/${name}.mri CONTENT "${mri}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E rm -f ${out}
    COMMAND ${CMAKE_AR} -M < ${CMAKE_CURRENT_BINARY_DIR}/bundle/${name}.mri
    COMMAND ${CMAKE_RANLIB} ${out}
    DEPENDS ${targets} ${deps}
    COMMENT "Bundling ${name} for installation"
    VERBATIM)
  add_custom_target(${name}_bundle ALL DEPENDS ${out})
endfunction()

set(FL_CLIENT_BUNDLE ${CMAKE_CURRENT_BINARY_DIR}/bundle/libfl_client.a)
fl_bundle_archive(fl_client ${FL_CLIENT_BUNDLE} fl_client ${FL_CLIENT_INTERNAL_LIBS} blake3)
set(FL_CLIENT_HAS_BUILTIN OFF)
if(TARGET fl_client_builtin)
  set(FL_CLIENT_HAS_BUILTIN ON)
  set(FL_CLIENT_BUILTIN_BUNDLE ${CMAKE_CURRENT_BINARY_DIR}/bundle/libfl_client_builtin.a)
  # fl_model's objects, not in libfl_client.a; the rest comes from fl::client_static.
  fl_bundle_archive(fl_client_builtin ${FL_CLIENT_BUILTIN_BUNDLE} fl_client_builtin fl_model)
endif()

# Sanitised builds put instrumented objects in the archive; their users must
# link the sanitiser runtime too.
set(FL_CLIENT_INTERFACE_LINK_OPTIONS "")
if(FL_SANITIZE)
  set(FL_CLIENT_INTERFACE_LINK_OPTIONS "-fsanitize=address,undefined")
endif()
set(FL_CLIENT_SHARED_FILE libfl_client.so.${PROJECT_VERSION})
set(FL_CLIENT_SONAME libfl_client.so.${PROJECT_VERSION_MAJOR})

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/fl_clientConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/bundle/fl_clientConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fl_client
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/bundle/fl_clientConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)

install(TARGETS fl_client_shared
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT fl_client NAMELINK_COMPONENT fl_client)
install(FILES ${FL_CLIENT_BUNDLE} DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT fl_client)
set(fl_testing_header_rule)
if(NOT FL_SDK_TESTING)
  set(fl_testing_header_rule PATTERN "testing.h" EXCLUDE)
endif()
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/fl
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT fl_client
  FILES_MATCHING PATTERN "*.h" PATTERN "model_trainer.h" EXCLUDE ${fl_testing_header_rule})
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/include/fl/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fl COMPONENT fl_client)
if(FL_CLIENT_HAS_BUILTIN)
  install(FILES ${FL_CLIENT_BUILTIN_BUNDLE} DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT fl_client)
  install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/fl/model_trainer.h
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fl COMPONENT fl_client)
endif()
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/bundle/fl_clientConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/bundle/fl_clientConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fl_client COMPONENT fl_client)
# The command-line client is its own component: the SDK needs no executable.
if(TARGET fl-client)
  install(TARGETS fl-client RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT fl_client_tools)
endif()
