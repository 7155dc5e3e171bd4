# lull_warnings(target): the warning set for lull's own code, C and C++
# (the C++-only flags go to C++ sources only: GCC warns about them in C).
# With -DLULL_WERROR=ON (CI) any warning fails the build.
function(lull_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Wnull-dereference
    "$<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor;-Wold-style-cast;-Woverloaded-virtual>"
    "$<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes;-Wmissing-prototypes>"
    $<$<BOOL:${LULL_WERROR}>:-Werror>)
endfunction()
