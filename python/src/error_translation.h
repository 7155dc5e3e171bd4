#pragma once
// lull::Error -> the lull.errors classes of the Python package: the one place
// where a C++ failure becomes a Python exception.

#include <pybind11/pybind11.h>

namespace lull::python {

// Registers the translator: every lull::Error leaving the extension is raised
// as the lull.errors class of its ErrorCode, with lull's message; any other
// std::exception as lull.errors.InternalError.
void register_error_translation();

}  // namespace lull::python
