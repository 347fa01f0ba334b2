# A protobuf-lite runtime for libfl_client.so alone, compiled from Debian's
# source of the installed protobuf (scripts/fetch-protobuf-source.sh puts it in
# ~/.cache/fl-deps/protobuf-VERSION; scripts/install-deps.sh calls it).
#
# Why: the SDK's wire code is generated for the lite runtime (every .proto has
# optimize_for = LITE_RUNTIME). Linked from the shared libprotobuf-lite.so.32,
# libfl_client.so would resolve google::protobuf:: symbols at load time against
# whatever protobuf the app brings: an app linking protobuf 4.x statically would
# silently replace our runtime by an incompatible one. Linked as this archive,
# behind --exclude-libs,ALL, every protobuf symbol is local to libfl_client.so
# and bound inside it; the library NEEDs no libprotobuf.
#
# Debian's libprotobuf-lite.a cannot be used for that: 10 of its 32 objects
# use the local-exec TLS model (R_X86_64_TPOFF32) or non-PIC references, which
# ld refuses in a shared object. The 32 files below are upstream's
# cmake/libprotobuf-lite.cmake list for 3.21; they compile in about a minute.
#
# The runtime must be the same version as the headers the generated code is
# compiled against (the installed ones): checked here from
# GOOGLE_PROTOBUF_VERSION in both.
#
# Sets FL_PRIVATE_PROTOBUF_TARGET (fl_protobuf_lite_private) when enabled.
option(FL_PRIVATE_PROTOBUF
  "Link a private protobuf-lite runtime into libfl_client.so (from Debian's source)" ON)
set(FL_PRIVATE_PROTOBUF_TARGET "")
if(NOT FL_PRIVATE_PROTOBUF)
  message(STATUS "libfl_client.so: shared protobuf-lite runtime (FL_PRIVATE_PROTOBUF=OFF)")
  return()
endif()

if(DEFINED ENV{FL_DEPS_DIR})
  set(fl_deps_dir "$ENV{FL_DEPS_DIR}")
elseif(DEFINED ENV{XDG_CACHE_HOME})
  set(fl_deps_dir "$ENV{XDG_CACHE_HOME}/fl-deps")
else()
  set(fl_deps_dir "$ENV{HOME}/.cache/fl-deps")
endif()

function(fl_protobuf_header_version header out)
  file(STRINGS "${header}" line REGEX "^#define GOOGLE_PROTOBUF_VERSION [0-9]+")
  string(REGEX REPLACE ".* ([0-9]+).*" "\\1" v "${line}")
  set(${out} "${v}" PARENT_SCOPE)
endfunction()
find_file(FL_INSTALLED_PROTOBUF_COMMON_H google/protobuf/stubs/common.h
  HINTS ${Protobuf_INCLUDE_DIRS} NO_CACHE)
if(NOT FL_INSTALLED_PROTOBUF_COMMON_H)
  message(FATAL_ERROR "protobuf's headers (google/protobuf/stubs/common.h) were not found: "
                      "install libprotobuf-dev (scripts/install-deps.sh)")
endif()
fl_protobuf_header_version("${FL_INSTALLED_PROTOBUF_COMMON_H}" installed_version)
math(EXPR major "${installed_version} / 1000000")
math(EXPR minor "(${installed_version} / 1000) % 1000")
math(EXPR patch "${installed_version} % 1000")
set(FL_PROTOBUF_SOURCE_DIR "${fl_deps_dir}/protobuf-${major}.${minor}.${patch}" CACHE PATH
  "Debian's protobuf source, the installed version (scripts/fetch-protobuf-source.sh)")
set(src ${FL_PROTOBUF_SOURCE_DIR}/src)
if(NOT EXISTS ${src}/google/protobuf/stubs/common.h)
  message(FATAL_ERROR
    "libfl_client.so links a private protobuf-lite runtime built from Debian's protobuf "
    "source, not found in ${FL_PROTOBUF_SOURCE_DIR}. Run scripts/fetch-protobuf-source.sh "
    "(scripts/install-deps.sh does), set FL_PROTOBUF_SOURCE_DIR, or configure with "
    "-DFL_PRIVATE_PROTOBUF=OFF to depend on the shared libprotobuf-lite instead.")
endif()
fl_protobuf_header_version(${src}/google/protobuf/stubs/common.h source_version)
if(NOT source_version STREQUAL installed_version)
  message(FATAL_ERROR "protobuf source ${FL_PROTOBUF_SOURCE_DIR} is version ${source_version}, "
                      "the installed headers ${installed_version}: rerun scripts/fetch-protobuf-source.sh")
endif()
# A Debian revision (a security fix) keeps GOOGLE_PROTOBUF_VERSION: compare
# the package version the source was fetched for with the installed one, so
# an apt upgrade of protobuf is not silently left out of libfl_client.so.
find_program(FL_DPKG_QUERY dpkg-query)
if(FL_DPKG_QUERY AND EXISTS ${FL_PROTOBUF_SOURCE_DIR}/.fl-debian-version)
  execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE fl_arch
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  execute_process(COMMAND ${FL_DPKG_QUERY} -W "-f=\${source:Version}" "libprotobuf-dev:${fl_arch}"
                  OUTPUT_VARIABLE fl_deb_version ERROR_QUIET)
  file(READ ${FL_PROTOBUF_SOURCE_DIR}/.fl-debian-version fl_fetched_version)
  string(STRIP "${fl_fetched_version}" fl_fetched_version)
  if(fl_deb_version AND NOT fl_deb_version STREQUAL fl_fetched_version)
    message(FATAL_ERROR "protobuf source ${FL_PROTOBUF_SOURCE_DIR} is Debian's ${fl_fetched_version}, "
                        "the installed libprotobuf-dev ${fl_deb_version}: rerun "
                        "scripts/fetch-protobuf-source.sh (then rebuild libfl_client.so)")
  endif()
endif()

set(p ${src}/google/protobuf)
add_library(fl_protobuf_lite_private STATIC
  ${p}/any_lite.cc ${p}/arena.cc ${p}/arenastring.cc ${p}/arenaz_sampler.cc
  ${p}/extension_set.cc ${p}/generated_enum_util.cc ${p}/generated_message_tctable_lite.cc
  ${p}/generated_message_util.cc ${p}/implicit_weak_message.cc ${p}/inlined_string_field.cc
  ${p}/io/coded_stream.cc ${p}/io/io_win32.cc ${p}/io/strtod.cc ${p}/io/zero_copy_stream.cc
  ${p}/io/zero_copy_stream_impl.cc ${p}/io/zero_copy_stream_impl_lite.cc ${p}/map.cc
  ${p}/message_lite.cc ${p}/parse_context.cc ${p}/repeated_field.cc ${p}/repeated_ptr_field.cc
  ${p}/stubs/bytestream.cc ${p}/stubs/common.cc ${p}/stubs/int128.cc ${p}/stubs/status.cc
  ${p}/stubs/statusor.cc ${p}/stubs/stringpiece.cc ${p}/stubs/stringprintf.cc
  ${p}/stubs/structurally_valid.cc ${p}/stubs/strutil.cc ${p}/stubs/time.cc
  ${p}/wire_format_lite.cc)
set_target_properties(fl_protobuf_lite_private PROPERTIES
  POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
  CXX_STANDARD 17)
# Its own headers while it compiles; users compile against the installed ones
# (same version, checked above).
target_include_directories(fl_protobuf_lite_private PRIVATE ${src})
target_compile_definitions(fl_protobuf_lite_private PRIVATE HAVE_PTHREAD)
target_compile_options(fl_protobuf_lite_private PRIVATE -w)  # third-party code
target_link_libraries(fl_protobuf_lite_private INTERFACE Threads::Threads)
set(FL_PRIVATE_PROTOBUF_TARGET fl_protobuf_lite_private)
message(STATUS "libfl_client.so: private protobuf-lite runtime from ${FL_PROTOBUF_SOURCE_DIR}")
