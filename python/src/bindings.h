#pragma once
// The parts of the lull._lull extension module, each registered by its own file.

#include <pybind11/pybind11.h>

namespace lull::python {

void bind_runtime(pybind11::module_& m);         // runtime_binding.cpp: lull._lull.Runtime
void bind_snapshot(pybind11::module_& m);        // snapshot_binding.cpp: lull._lull.Snapshot
void bind_sample_cursor(pybind11::module_& m);   // sample_cursor_binding.cpp: lull._lull.SampleCursor
void bind_torch_communicator(pybind11::module_& m);  // torch_communicator.cpp

}  // namespace lull::python
