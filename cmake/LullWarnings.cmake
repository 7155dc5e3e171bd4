# lull_warnings(target): the warning set for lull's own code.
# With -DLULL_WERROR=ON (CI) any warning fails the build.
function(lull_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual -Wnull-dereference
    $<$<BOOL:${LULL_WERROR}>:-Werror>)
endfunction()
