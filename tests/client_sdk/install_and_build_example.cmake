# Installs the fl_client component into a scratch prefix and checks it as an
# outside project sees it:
#   - the public headers are fl/*.h only (no include/base/) and include
#     nothing but fl/*.h and the C++ standard library;
#   - libfl_client.so exports only fl:: symbols (nm -D, demangled);
#   - client_sdk/examples/device_app configures with find_package(fl_client),
#     builds and runs against the shared library (default fl::client), and
#     once more against the static archive (FL_CLIENT_USE_STATIC=ON).
# Fails on the first step that fails, saying what.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --component fl_client)
foreach(f include/fl/client.h include/fl/trainer.h include/fl/options.h include/fl/status.h include/fl/model.h
          include/fl/version.h include/fl/export.h lib/libfl_client.a lib/libfl_client.so
          lib/libfl_client.so.0 lib/cmake/fl_client/fl_clientConfig.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
if(EXISTS ${prefix}/include/base)
  message(FATAL_ERROR "include/base/ is installed: a generic name that collides with apps' headers")
endif()

# ---- public headers: fl/*.h and the standard library only -----------------
set(std_headers
  algorithm any array atomic barrier bit bitset cassert cctype cerrno cfloat charconv chrono
  cinttypes climits cmath compare complex concepts condition_variable coroutine cstddef cstdint
  cstdio cstdlib cstring ctime cwchar deque exception execution expected filesystem format
  forward_list functional future initializer_list iomanip ios iosfwd iostream istream iterator
  latch limits list locale map memory memory_resource mutex new numbers numeric optional ostream
  queue random ranges ratio regex scoped_allocator semaphore set shared_mutex source_location
  span sstream stack stdexcept stop_token streambuf string string_view syncstream system_error
  thread tuple type_traits typeindex typeinfo unordered_map unordered_set utility valarray
  variant vector version)
file(GLOB headers ${prefix}/include/fl/*.h)
file(GLOB_RECURSE all_installed RELATIVE ${prefix}/include ${prefix}/include/*)
foreach(f ${all_installed})
  if(NOT f MATCHES "^fl/[a-z_]+\\.h$")
    message(FATAL_ERROR "installed outside include/fl/: include/${f}")
  endif()
endforeach()
foreach(h ${headers})
  file(STRINGS ${h} includes REGEX "^[ \t]*#[ \t]*include")
  foreach(line ${includes})
    if(line MATCHES "#[ \t]*include[ \t]*\"fl/[a-z_]+\\.h\"")
      continue()
    elseif(line MATCHES "#[ \t]*include[ \t]*<(stddef|stdint)\\.h>")
      continue()  # fl/c_api.h: C's own headers
    elseif(line MATCHES "#[ \t]*include[ \t]*<([a-z_]+)>")
      list(FIND std_headers "${CMAKE_MATCH_1}" i)
      if(NOT i EQUAL -1)
        continue()
      endif()
    endif()
    message(FATAL_ERROR "${h}: includes something outside fl/ and the standard library: ${line}")
  endforeach()
endforeach()

# ---- the shared library exports fl:: and nothing else ---------------------
run(${NM} -D --defined-only -C ${prefix}/lib/libfl_client.so)
string(REPLACE "\n" ";" symbols "${run_output}")
set(exported 0)
foreach(line ${symbols})
  if(line STREQUAL "")
    continue()
  endif()
  # "ADDRESS TYPE NAME": the version node (A FL_CLIENT_0) or an fl:: entity.
  if(line MATCHES "^[0-9a-f]+ A FL_CLIENT_[0-9]+$")
    continue()
  endif()
  # The C ABI (fl/c_api.h): fl_ functions.
  if(line MATCHES "^[0-9a-f]+ T fl_[a-z0-9_]+(@@?FL_CLIENT_[0-9]+)?$")
    math(EXPR exported "${exported} + 1")
    continue()
  endif()
  if(NOT line MATCHES "^[0-9a-f]+ [A-Za-z] ((typeinfo|typeinfo name|vtable|VTT) for )?fl::")
    message(FATAL_ERROR "libfl_client.so exports a symbol outside fl::: ${line}")
  endif()
  math(EXPR exported "${exported} + 1")
endforeach()
if(exported EQUAL 0)
  message(FATAL_ERROR "libfl_client.so exports no fl:: symbol at all")
endif()
message(STATUS "libfl_client.so exports ${exported} symbols, all fl::")

# ---- and needs no protobuf (its lite runtime is private: FL_PRIVATE_PROTOBUF)
if(PRIVATE_PROTOBUF)
  run(${READELF} -d ${prefix}/lib/libfl_client.so)
  if(run_output MATCHES "NEEDED[^\n]*protobuf")
    message(FATAL_ERROR "libfl_client.so needs a shared protobuf:\n${run_output}")
  endif()
  message(STATUS "libfl_client.so needs no libprotobuf")
endif()

# ---- the example app, shared (default) and static -------------------------
foreach(variant shared static)
  set(build ${WORK_DIR}/build-${variant})
  set(extra)
  if(variant STREQUAL "static")
    set(extra -DFL_CLIENT_USE_STATIC=ON)
  endif()
  run(${CMAKE_COMMAND} -S ${EXAMPLE_DIR} -B ${build} -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX}
      -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release ${extra})
  run(${CMAKE_COMMAND} --build ${build})
  run(${READELF} -d ${build}/device_app)
  string(FIND "${run_output}" "[libfl_client.so.0]" needs_shared)
  if(variant STREQUAL "shared" AND needs_shared EQUAL -1)
    message(FATAL_ERROR "device_app (shared) does not load libfl_client.so.0:\n${run_output}")
  elseif(variant STREQUAL "static" AND NOT needs_shared EQUAL -1)
    message(FATAL_ERROR "device_app (static) loads libfl_client.so.0:\n${run_output}")
  endif()
  run(${build}/device_app --help)
  message(STATUS "device_app (${variant}) builds and runs")
endforeach()

# ---- the C example app, gcc -std=c11 against the installed headers --------
# Only fl/c_api.h and the shared library: no C++ compiler, no C++ header.
run(${CC} -std=c11 -Wall -Wextra -Wpedantic -Werror ${C_EXAMPLE_DIR}/main.c
    -I${prefix}/include -L${prefix}/lib -lfl_client -Wl,-rpath,${prefix}/lib
    -o ${WORK_DIR}/c_app)
run(${WORK_DIR}/c_app --version)
if(NOT run_output MATCHES "libfl_client [0-9]+\\.[0-9]+\\.[0-9]+")
  message(FATAL_ERROR "c_app --version: ${run_output}")
endif()
message(STATUS "c_app (C11) builds against fl/c_api.h and runs: ${run_output}")
