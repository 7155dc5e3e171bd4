# Sanitizer builds: the one place their flags are chosen.
#
#   -DLULL_SANITIZE=address,undefined
#       every target of the build compiled and linked with these sanitizers
#       (GCC or clang), for a whole-suite run under ASan/UBSan (make
#       test-asan, in build-asan/; its tests run with the options of
#       tests/sanitizers/).
#   -DLULL_FUZZ=ON   (clang only)
#       the libFuzzer targets of tests/fuzz (fuzz_<name>, `make fuzz`). Every
#       library is instrumented for coverage too (-fsanitize=fuzzer-no-link):
#       the fuzzer only learns from code that is instrumented. LULL_SANITIZE
#       defaults to address,undefined here.
#
# Findings stop the program (-fno-sanitize-recover): a UBSan report that let
# the run go on would not fail a test or a fuzzer.
# Included before any target is defined, so the options reach all of them.
set(LULL_SANITIZE "" CACHE STRING "Sanitizers for every target, e.g. address,undefined")
option(LULL_FUZZ "Build the libFuzzer targets of tests/fuzz (clang; make fuzz)" OFF)

if(LULL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "LULL_FUZZ needs clang (libFuzzer): configure with -DCMAKE_C_COMPILER=clang "
                        "-DCMAKE_CXX_COMPILER=clang++ in a build directory of its own (make fuzz does); "
                        "scripts/install-deps.sh --with-fuzz installs clang and libFuzzer")
  endif()
  if(LULL_SANITIZE STREQUAL "")
    set(LULL_SANITIZE "address,undefined" CACHE STRING "Sanitizers for every target, e.g. address,undefined" FORCE)
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(NOT LULL_SANITIZE STREQUAL "")
  add_compile_options(-fsanitize=${LULL_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${LULL_SANITIZE})
  # GCC's manual: sanitizers raise the rate of false -Wmaybe-uninitialized
  # warnings (GCC 12 and ASan: std::regex's std::function members), so that
  # warning is off here; -DLULL_WERROR=ON still holds for every other one.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()

# lull_fuzz_link(target): links `target` as a libFuzzer program (libFuzzer's
# main() drives LLVMFuzzerTestOneInput).
function(lull_fuzz_link target)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer)
endfunction()
