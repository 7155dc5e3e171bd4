// lull._lull: the C++ half of the `lull` Python package. Users import `lull`
// (python/lull/__init__.py), never this module directly.

#include <pybind11/pybind11.h>

#include "bindings.h"
#include "error_translation.h"

PYBIND11_MODULE(_lull, m) {
  m.doc() = "The C++ half of the lull package (lull's runtime and snapshot reader); import lull instead.";
  lull::python::register_error_translation();
  lull::python::bind_runtime(m);
  lull::python::bind_snapshot(m);
  lull::python::bind_sample_cursor(m);
  lull::python::bind_torch_communicator(m);
}
