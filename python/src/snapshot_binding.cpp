// lull._lull.Snapshot: a verified read of one committed snapshot, without MPI
// (lull.load in python/lull/load.py builds torch tensors from it).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bindings.h"
#include "lull/base/error.h"
#include "lull/checkpoint/snapshot_reader.h"
#include "lull/checkpoint/snapshot_store.h"

namespace py = pybind11;

namespace lull::python {

namespace {

// The numpy type a tensor is read into; bf16 has none and comes as its bits
// (uint16), which lull.load views as torch.bfloat16.
py::dtype numpy_dtype(DType dtype) {
  switch (dtype) {
    case DType::f16: return py::dtype("float16");
    case DType::bf16: return py::dtype("uint16");
    case DType::f32: return py::dtype("float32");
    case DType::f64: return py::dtype("float64");
    case DType::i8: return py::dtype("int8");
    case DType::u8: return py::dtype("uint8");
    case DType::i32: return py::dtype("int32");
    case DType::i64: return py::dtype("int64");
    case DType::boolean: return py::dtype("bool");
  }
  return py::dtype("uint8");
}

class PySnapshot {
 public:
  explicit PySnapshot(SnapshotReader reader) : reader_(std::move(reader)) {}

  // `path`: a job's snapshot directory (its newest usable snapshot is read),
  // a committed snapshot (…/step-N) or its root file.
  static std::unique_ptr<PySnapshot> open(const std::string& path) {
    py::gil_scoped_release release;
    const std::filesystem::path p(path);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec) && p.filename().string().rfind("step-", 0) != 0) {
      StoreOptions options;
      options.create = false;
      SnapshotStore store(p, options);
      return std::make_unique<PySnapshot>(store.open_latest());
    }
    return std::make_unique<PySnapshot>(SnapshotReader::open(p));
  }

  py::list tensors() const {
    py::list out;
    for (const TensorInfo& t : reader_.tensors()) {
      out.append(py::make_tuple(t.name, std::string(dtype_name(t.dtype)), py::tuple(py::cast(t.shape))));
    }
    return out;
  }

  py::list blobs() const {
    py::list out;
    for (const BlobInfo& b : reader_.blobs()) out.append(py::make_tuple(b.rank, b.name, b.bytes));
    return out;
  }

  py::array read(const std::string& name) {
    const TensorInfo& info = reader_.tensor(name);
    std::vector<py::ssize_t> shape(info.shape.begin(), info.shape.end());
    py::array out(numpy_dtype(info.dtype), shape);
    void* data = out.mutable_data();
    if (info.bytes > 0) {
      py::gil_scoped_release release;
      reader_.read_all(name, info.dtype, data);
    }
    return out;
  }

  py::bytes read_blob(int rank, const std::string& name) {
    std::vector<std::byte> bytes;
    {
      py::gil_scoped_release release;
      bytes = reader_.read_blob(rank, name);
    }
    return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

  std::vector<std::string> verify() {
    py::gil_scoped_release release;
    std::vector<std::string> problems;
    for (const VerifyProblem& p : reader_.verify().problems) problems.push_back(p.describe());
    return problems;
  }

  SnapshotReader& reader() { return reader_; }

 private:
  SnapshotReader reader_;
};

}  // namespace

void bind_snapshot(py::module_& m) {
  py::class_<PySnapshot>(m, "Snapshot", "One committed snapshot, opened and checked; use lull.load / lull.open_snapshot.")
      .def_static("open", &PySnapshot::open, py::arg("path"))
      .def_property_readonly("step", [](PySnapshot& s) { return s.reader().step(); })
      .def_property_readonly("world_size", [](PySnapshot& s) { return s.reader().world_size(); })
      .def_property_readonly("job", [](PySnapshot& s) { return s.reader().job(); })
      .def_property_readonly("path", [](PySnapshot& s) { return s.reader().dir().string(); })
      .def("tensors", &PySnapshot::tensors)
      .def("blobs", &PySnapshot::blobs)
      .def("read", &PySnapshot::read, py::arg("name"))
      .def("read_blob", &PySnapshot::read_blob, py::arg("rank"), py::arg("name"))
      .def("verify", &PySnapshot::verify);
}

}  // namespace lull::python
