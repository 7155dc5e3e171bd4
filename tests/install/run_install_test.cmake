# Driven by CTest (see CMakeLists.txt). Each step fails the test with the
# step's name and output; nothing here touches the build tree but reading it.
cmake_minimum_required(VERSION 3.25)

foreach(var LULL_BUILD_DIR LULL_VERSION CONSUMER_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_install_test.cmake: -D${var}=... is required")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/consumer-build)
set(snapshots ${WORK_DIR}/snapshots)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# run(<step> <command>...): runs it, prints its output (unless run_quiet is
# set), fails on non-zero. The output is left in run_output for checks.
function(run step)
  message(STATUS "install test: ${step}")
  execute_process(COMMAND ${ARGN}
                  RESULT_VARIABLE result
                  OUTPUT_VARIABLE output
                  ERROR_VARIABLE output)
  if(NOT run_quiet OR NOT result EQUAL 0)
    message("${output}")
  endif()
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "install test: ${step} failed (${result})")
  endif()
  set(run_output "${output}" PARENT_SCOPE)
endfunction()

run("cmake --install" ${CMAKE_COMMAND} --install ${LULL_BUILD_DIR} --prefix ${prefix})

foreach(installed include/lull/checkpoint.h include/lull/base/version.h bin/lull)
  if(NOT EXISTS ${prefix}/${installed})
    message(FATAL_ERROR "install test: ${installed} is not installed under ${prefix}")
  endif()
endforeach()

# The package registry is off so that only the installed tree can be found.
# A sanitizer build's libraries (SANITIZE, make test-asan) need the
# sanitizers' runtime loaded first: the consumer is then built with them too,
# as a user of such a build would build it.
set(consumer_flags)
if(SANITIZE)
  set(consumer_flags -DCMAKE_CXX_FLAGS=-fsanitize=${SANITIZE} -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${SANITIZE})
endif()
run("configure the consumer"
    ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${consumer_build} -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} ${consumer_flags}
    -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DEXPECTED_PREFIX=${prefix})
run("build the consumer" ${CMAKE_COMMAND} --build ${consumer_build})

run("run the consumer" ${consumer_build}/app ${snapshots})
if(NOT run_output MATCHES "consumer: ok")
  message(FATAL_ERROR "install test: the consumer did not report ok")
endif()

run("installed lull --version" ${prefix}/bin/lull --version)
if(NOT run_output MATCHES "lull ${LULL_VERSION}")
  message(FATAL_ERROR "install test: `lull --version` did not print 'lull ${LULL_VERSION}'")
endif()

run("installed lull verify" ${prefix}/bin/lull verify ${snapshots})
if(NOT run_output MATCHES "ok: step 7, 2 tensors")
  message(FATAL_ERROR "install test: `lull verify` did not accept the consumer's snapshot")
endif()

# The installed binaries must not lean on the build tree for their libraries.
find_program(LDD ldd)
set(run_quiet TRUE)
if(LDD)
  foreach(binary ${prefix}/bin/lull ${consumer_build}/app)
    run("ldd ${binary}" ${LDD} ${binary})
    if(run_output MATCHES "not found")
      message(FATAL_ERROR "install test: ${binary} has unresolved libraries")
    endif()
    string(REGEX MATCHALL "liblull[^ ]* => [^ ]+" lull_libraries "${run_output}")
    foreach(line ${lull_libraries})
      string(FIND "${line}" "=> ${prefix}/" position)
      if(position EQUAL -1)
        message(FATAL_ERROR "install test: ${binary} loads ${line}, not from ${prefix}")
      endif()
    endforeach()
  endforeach()
endif()

# ... nor for their search path: a build directory in it would be tried
# first, and the build tree's permissions would decide whether another user
# can run the installed lull (tests/arbiter Isolation runs one as nobody).
find_program(READELF readelf)
if(READELF)
  foreach(binary ${prefix}/bin/lull ${prefix}/lib/liblull_runtime.so)
    run("readelf -d ${binary}" ${READELF} -d ${binary})
    string(FIND "${run_output}" "${LULL_BUILD_DIR}" build_dir_at)
    if(NOT build_dir_at EQUAL -1)
      message(FATAL_ERROR "install test: ${binary}'s RUNPATH names the build tree:\n${run_output}")
    endif()
    if(NOT run_output MATCHES "R(UN)?PATH\\)[^\n]*\\$ORIGIN/\\.\\./lib")
      message(FATAL_ERROR "install test: ${binary} does not find its libraries relative to itself ($ORIGIN/../lib):\n${run_output}")
    endif()
  endforeach()
endif()

message(STATUS "install test: passed")
