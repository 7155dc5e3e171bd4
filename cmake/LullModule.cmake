# lull_module(<name> SOURCES <files>...): one of lull's module libraries,
# the same way for every module: target lull_<name> (alias lull::<name>,
# exported as lull::<name>), versioned shared object, public headers from
# <module>/include in the build tree and the include directory once
# installed, C++20, lull's warnings. Each module then adds its own links.
function(lull_module name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES")
  set(target lull_${name})
  add_library(${target} ${ARG_SOURCES})
  add_library(lull::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES OUTPUT_NAME ${target} EXPORT_NAME ${name}
                        VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} PUBLIC cxx_std_20)
  lull_warnings(${target})
endfunction()
