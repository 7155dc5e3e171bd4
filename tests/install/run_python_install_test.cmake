# Driven by CTest (install.python_package, CMakeLists.txt): `cmake --install`
# into a scratch prefix, then the installed package imported and used.
cmake_minimum_required(VERSION 3.25)
foreach(var LULL_BUILD_DIR WORK_DIR PYTHON PACKAGE_SUBDIR CHECK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_python_install_test.cmake: -D${var}=... is required")
  endif()
endforeach()
set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

execute_process(COMMAND ${CMAKE_COMMAND} --install ${LULL_BUILD_DIR} --prefix ${prefix}
                RESULT_VARIABLE result OUTPUT_QUIET ERROR_VARIABLE output)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "install test: cmake --install failed: ${output}")
endif()
set(package ${prefix}/${PACKAGE_SUBDIR})
foreach(installed lull/__init__.py lull/_lull.pyi lull/py.typed)
  if(NOT EXISTS ${package}/${installed})
    message(FATAL_ERROR "install test: ${installed} is not installed under ${package}")
  endif()
endforeach()

# The OMPI_* variables let a singleton MPI start as root; nothing of the build tree is on any path.
execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH PYTHONPATH=${package}
                        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
                        ${PYTHON} ${CHECK} ${prefix} ${package}/lull ${WORK_DIR}/run
                WORKING_DIRECTORY ${WORK_DIR}
                RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
message("${output}")
if(NOT result EQUAL 0 OR NOT output MATCHES "installed package: ok")
  message(FATAL_ERROR "install test: the installed package failed (${result})")
endif()
