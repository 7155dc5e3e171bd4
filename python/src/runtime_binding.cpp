// lull._lull.Runtime: lull::Runtime for the Python package (python/lull/runtime.py
// wraps it for users). The collective calls release the GIL; the blob
// callbacks take it back.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "bindings.h"
#include "lull/base/error.h"
#include "lull/runtime.h"
#include "torch_communicator.h"

namespace py = pybind11;

namespace lull::python {

namespace {

DType dtype_from_name(const std::string& name) {
  if (auto dtype = parse_dtype(name)) return *dtype;
  throw Error(ErrorCode::invalid_argument, "unknown dtype \"" + name + "\"", {}, {},
              "lull stores f16, bf16, f32, f64, i8, u8, i32, i64 and bool");
}

// mpi4py's MPI._handleof(comm): the MPI_Comm itself (a pointer in Open MPI, an int in MPICH).
template <class Comm = MPI_Comm>
Comm comm_from_handle(std::uintptr_t handle) {
  if constexpr (std::is_pointer_v<Comm>) {
    return reinterpret_cast<Comm>(handle);
  } else {
    return static_cast<Comm>(handle);
  }
}

// Wraps a Python callable for a blob: runs it with the GIL taken, turns a
// Python exception into a lull::Error naming the blob (the snapshot cycle then
// fails this rank's part cleanly on every rank).
std::function<std::vector<std::byte>()> blob_saver(std::string name, py::function save) {
  auto held = std::make_shared<py::function>(std::move(save));
  return [name, held]() {
    py::gil_scoped_acquire gil;
    try {
      py::bytes bytes = (*held)();
      const std::string_view view = bytes;
      const auto* first = reinterpret_cast<const std::byte*>(view.data());
      return std::vector<std::byte>(first, first + view.size());
    } catch (py::error_already_set& e) {
      throw Error(ErrorCode::invalid_argument, "saving \"" + name + "\" raised " + e.what());
    }
  };
}

std::function<void(std::span<const std::byte>)> blob_loader(std::string name, py::function load) {
  auto held = std::make_shared<py::function>(std::move(load));
  return [name, held](std::span<const std::byte> stored) {
    py::gil_scoped_acquire gil;
    try {
      (*held)(py::bytes(reinterpret_cast<const char*>(stored.data()), stored.size()));
    } catch (py::error_already_set& e) {
      throw Error(ErrorCode::invalid_argument, "restoring \"" + name + "\" raised " + e.what());
    }
  };
}


class PyRuntime {
 public:
  PyRuntime(std::optional<std::string> job, std::optional<std::string> ckpt_dir, std::optional<std::uintptr_t> comm,
            std::shared_ptr<TorchCommunicator> torch_comm)
      : torch_comm_(std::move(torch_comm)) {
    RuntimeOptions options = RuntimeOptions::from_environment();
    if (job) options.job = *job;
    if (ckpt_dir) options.ckpt_dir = *ckpt_dir;
    if (options.ckpt_dir.empty()) {
      throw Error(ErrorCode::invalid_argument, "no snapshot directory: pass lull.Runtime(ckpt_dir=...) or set LULL_CKPT_DIR",
                  {}, {}, "`lull run --ckpt-dir DIR -- ...` sets LULL_CKPT_DIR for the program");
    }
    py::gil_scoped_release release;  // collective: waits for the other ranks
    if (torch_comm_) {
      runtime_ = std::make_unique<Runtime>(std::move(options), *torch_comm_);
    } else {
      runtime_ = std::make_unique<Runtime>(std::move(options), comm ? comm_from_handle(*comm) : MPI_COMM_WORLD);
    }
  }

  ~PyRuntime() { close(); }

  void close() {
    // The registry's callbacks hold Python objects: released here, GIL held.
    runtime_.reset();
    torch_comm_.reset();
  }

  Runtime& rt() {
    if (!runtime_) throw Error(ErrorCode::invalid_argument, "this lull.Runtime is closed");
    return *runtime_;
  }

  void protect_tensor(const std::string& name, std::uintptr_t address, const std::string& dtype, Shape global_shape,
                      Shape offset, Shape extent, bool replicated) {
    rt().protect(name, dtype_from_name(dtype), std::move(global_shape), std::move(offset), std::move(extent),
                 reinterpret_cast<void*>(address), replicated ? Sharing::replicated : Sharing::sharded);
  }

  void protect_blob(const std::string& name, py::function save, py::function load) {
    rt().protect_blob(name, blob_saver(name, std::move(save)), blob_loader(name, std::move(load)));
  }

  std::uint64_t restore() {
    Runtime& r = rt();
    py::gil_scoped_release release;
    return r.restore();
  }

  bool end_step(std::uint64_t step) {
    Runtime& r = rt();
    py::gil_scoped_release release;
    return r.end_step(step) == StepDecision::stop;
  }

  void checkpoint(std::uint64_t step) {
    Runtime& r = rt();
    py::gil_scoped_release release;
    r.checkpoint(step);
  }

  // Collective: `root`'s bytes on every rank (the others pass anything).
  py::bytes broadcast_bytes(const std::string& data, int root) {
    Communicator& comm = rt().communicator();
    std::string out = data;
    {
      py::gil_scoped_release release;
      std::uint64_t size = out.size();
      comm.broadcast(&size, sizeof size, root);
      out.resize(size);
      if (size > 0) comm.broadcast(out.data(), size, root);
    }
    return py::bytes(out);
  }

  int finish(std::uint64_t step) {
    Runtime& r = rt();
    py::gil_scoped_release release;
    return r.finish(step);
  }

 private:
  std::shared_ptr<TorchCommunicator> torch_comm_;  // outlives runtime_, which borrows it
  std::unique_ptr<Runtime> runtime_;
};

}  // namespace

void bind_runtime(py::module_& m) {
  py::class_<PyRuntime>(m, "Runtime", "lull::Runtime; use lull.Runtime (python/lull/runtime.py).")
      .def(py::init<std::optional<std::string>, std::optional<std::string>, std::optional<std::uintptr_t>,
                    std::shared_ptr<TorchCommunicator>>(),
           py::arg("job"), py::arg("ckpt_dir"), py::arg("comm_handle"), py::arg("torch_communicator"))
      .def("close", &PyRuntime::close)
      .def("protect_tensor", &PyRuntime::protect_tensor, py::arg("name"), py::arg("address"), py::arg("dtype"),
           py::arg("global_shape"), py::arg("offset"), py::arg("extent"), py::arg("replicated"))
      .def("protect_blob", &PyRuntime::protect_blob, py::arg("name"), py::arg("save"), py::arg("load"))
      .def("restore", &PyRuntime::restore)
      .def("end_step", &PyRuntime::end_step, py::arg("step"))
      .def("checkpoint", &PyRuntime::checkpoint, py::arg("step"))
      .def("finish", &PyRuntime::finish, py::arg("step"))
      .def("broadcast_bytes", &PyRuntime::broadcast_bytes, py::arg("data"), py::arg("root"))
      .def_property_readonly("exit_code", [](PyRuntime& p) { return p.rt().exit_code(); })
      .def_property_readonly("exit_reason", [](PyRuntime& p) { return p.rt().exit_reason(); })
      .def_property_readonly("rank", [](PyRuntime& p) { return p.rt().rank(); })
      .def_property_readonly("world_size", [](PyRuntime& p) { return p.rt().world_size(); })
      .def_property_readonly("last_committed_step", [](PyRuntime& p) { return p.rt().last_committed_step(); })
      .def_property_readonly("restored_world_size", [](PyRuntime& p) { return p.rt().restored_world_size(); })
      .def("restored_blob", [](PyRuntime& p, const std::string& name, int old_rank) {
            std::vector<std::byte> bytes;
            {
              py::gil_scoped_release release;
              bytes = p.rt().restored_blob(name, old_rank);
            }
            return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
          }, py::arg("name"), py::arg("old_rank"));
}

}  // namespace lull::python
