# An SDK-only build (FL_SDK_ONLY=ON) from scratch, as a device team would
# configure it: no server or tool dependency may be needed. Every one of them
# is disabled (CMAKE_DISABLE_FIND_PACKAGE_*), so a find_package(... REQUIRED)
# of any of them left on the SDK's path fails the configure, and a target
# that uses one fails the build. Prints the wall time of configure + build.
#   cmake -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -DCXX=... [-DCCACHE=...] -P sdk_only_build.cmake
#
# WORK_DIR should sit at the same depth as the main build tree: with ccache's
# base_dir the objects of the main build are then hits here.
file(REMOVE_RECURSE ${WORK_DIR})
string(TIMESTAMP start "%s")

set(launcher)
if(CCACHE)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${CCACHE} -DCMAKE_C_COMPILER_LAUNCHER=${CCACHE})
endif()
set(disabled)
foreach(pkg SQLite3 yaml-cpp nlohmann_json CLI11 Eigen3 GTest benchmark)
  list(APPEND disabled -DCMAKE_DISABLE_FIND_PACKAGE_${pkg}=ON)
endforeach()

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
endfunction()

run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR} -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFL_SDK_ONLY=ON ${launcher} ${disabled})
string(TIMESTAMP configured "%s")
run(${CMAKE_COMMAND} --build ${WORK_DIR} --parallel 2)
string(TIMESTAMP built "%s")

foreach(f client_sdk/libfl_client.so.0 client_sdk/bundle/libfl_client.a)
  if(NOT EXISTS ${WORK_DIR}/${f})
    message(FATAL_ERROR "the SDK-only build made no ${f}")
  endif()
endforeach()
foreach(t fl_model fl_coordinator_service fl-coordinator fl-sim fl_client_builtin)
  file(GLOB_RECURSE found ${WORK_DIR}/*lib${t}.a ${WORK_DIR}/*/${t})
  if(found)
    message(FATAL_ERROR "the SDK-only build built ${t}: ${found}")
  endif()
endforeach()
math(EXPR configure_s "${configured} - ${start}")
math(EXPR build_s "${built} - ${configured}")
math(EXPR total_s "${built} - ${start}")
message(STATUS "SDK-only build: configure ${configure_s} s, build ${build_s} s, total ${total_s} s "
               "(2 jobs, ccache: ${CCACHE})")
