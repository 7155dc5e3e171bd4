// lull._lull.SampleCursor: lull::SampleCursor for Python, exported as
// lull.SampleCursor. Arguments are taken as Python ints and checked here, so
// that a negative size or a float is a lull.UsageError saying which argument,
// not pybind11's "incompatible function arguments".
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "bindings.h"
#include "lull/base/error.h"
#include "lull/runtime/sample_cursor.h"

namespace py = pybind11;

namespace lull::python {

namespace {

// `value` as a Python int (an int, a numpy or torch integer), else
// Error(invalid_argument) naming `what`.
py::int_ index_of(py::handle value, const char* what) {
  if (PyBool_Check(value.ptr()) || !PyIndex_Check(value.ptr())) {
    throw Error(ErrorCode::invalid_argument, std::string(what) + " must be an int, not " +
                                                 std::string(py::str(py::type::of(value).attr("__name__"))));
  }
  return py::reinterpret_steal<py::int_>(PyNumber_Index(value.ptr()));
}

long long integer_arg(py::handle value, const char* what, long long low, long long high) {
  const py::int_ index = index_of(value, what);
  int overflow = 0;
  const long long number = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (overflow != 0 || number < low || number > high) {
    throw Error(ErrorCode::invalid_argument, std::string(what) + " must be between " + std::to_string(low) + " and " +
                                                 std::to_string(high) + ", not " + py::str(index.ptr()).cast<std::string>());
  }
  return number;
}

// Counts up to 2**63 - 1: ids go to Python as int64, what numpy and torch index with.
std::uint64_t count_arg(py::handle value, const char* what) {
  return static_cast<std::uint64_t>(integer_arg(value, what, 0, LLONG_MAX));
}

int rank_arg(py::handle value, const char* what) { return static_cast<int>(integer_arg(value, what, INT_MIN, INT_MAX)); }

SampleCursor make_cursor(py::handle dataset_size, py::handle seed) {
  const std::uint64_t size = count_arg(dataset_size, "dataset_size");
  // Any int is a seed, taken modulo 2**64 (as numpy's are).
  return SampleCursor(size, PyLong_AsUnsignedLongLongMask(index_of(seed, "seed").ptr()));
}

py::array_t<std::int64_t> to_numpy(const std::vector<std::uint64_t>& ids) {
  py::array_t<std::int64_t> out(static_cast<py::ssize_t>(ids.size()));
  auto view = out.mutable_unchecked<1>();
  for (std::size_t i = 0; i < ids.size(); ++i) view(static_cast<py::ssize_t>(i)) = static_cast<std::int64_t>(ids[i]);
  return out;
}

}  // namespace

void bind_sample_cursor(py::module_& m) {
  py::class_<SampleCursor>(m, "SampleCursor", R"doc(
A data-parallel job's place in its data, the same at any number of ranks.

An epoch visits samples 0 .. dataset_size-1 in an order drawn from (seed,
epoch): a permutation, the same on every rank, run and machine. A step takes
the next `global_batch` samples of it (or what is left of the epoch) and rank
r of W takes its contiguous share. So the batches depend on the global batch,
not on the world size, and a job resumed on another number of ranks takes
each sample of an epoch exactly once::

    cursor = lull.SampleCursor(len(dataset), seed=0)
    rt.protect("data.order", cursor)          # before restore(); any world size
    for step in rt.steps(total):
        ids = cursor.rank_batch(global_batch, rt.rank, rt.world_size)
        ... train on dataset[ids]; average gradients over cursor.step_size(global_batch) ...
        cursor.advance(global_batch)          # every rank, same argument

Every rank makes its own with the same arguments; they stay equal because
every rank advances them alike. Misuse raises lull.UsageError.
)doc")
      .def(py::init(&make_cursor), py::arg("dataset_size"), py::arg("seed") = 0,
           "A cursor at epoch 0, position 0 over `dataset_size` (>= 1) samples; `seed` picks the orders (any int).")
      .def_property_readonly("dataset_size", &SampleCursor::dataset_size, "The number of samples of an epoch.")
      .def_property_readonly("seed", &SampleCursor::seed, "The seed the orders are drawn from (modulo 2**64).")
      .def_property_readonly("epoch", &SampleCursor::epoch, "The current epoch, from 0.")
      .def_property_readonly("position", &SampleCursor::position,
                             "The samples of the current epoch all ranks together have taken.")
      .def(
          "step_size",
          [](const SampleCursor& c, py::handle global_batch) {
            return c.step_size(count_arg(global_batch, "global_batch"));
          },
          py::arg("global_batch"),
          "The samples the next step takes over all ranks: global_batch, or what is left of the epoch (a step "
          "never spans two epochs). UsageError for 0, or when the restored position is another data set's or seed's.")
      .def(
          "rank_batch",
          [](const SampleCursor& c, py::handle global_batch, py::handle rank, py::handle world_size) {
            return to_numpy(c.rank_batch(count_arg(global_batch, "global_batch"), rank_arg(rank, "rank"),
                                         rank_arg(world_size, "world_size")));
          },
          py::arg("global_batch"), py::arg("rank"), py::arg("world_size"),
          "The sample ids (numpy int64, for indexing numpy arrays or torch.from_numpy) rank `rank` of `world_size` "
          "takes in the next step; empty when the step has fewer samples than ranks and this rank's share is none. "
          "Does not advance.")
      .def(
          "advance", [](SampleCursor& c, py::handle global_batch) { c.advance(count_arg(global_batch, "global_batch")); },
          py::arg("global_batch"),
          "Moves past the next step (to the next epoch after its last sample); every rank calls it with the same "
          "global_batch.")
      .def(
          "sample_at",
          [](const SampleCursor& c, py::handle epoch, py::handle position) {
            const std::uint64_t at = count_arg(position, "position");
            if (at >= c.dataset_size()) {
              throw Error(ErrorCode::invalid_argument, "position " + std::to_string(at) + " is past the data set of " +
                                                           std::to_string(c.dataset_size()) + " samples");
            }
            return c.sample_at(count_arg(epoch, "epoch"), at);
          },
          py::arg("epoch"), py::arg("position"), "The id of the sample at `position` of `epoch`'s order.")
      .def_property_readonly(
          "_state",
          [](py::object self) {
            // The protected words (dataset_size, seed, epoch, position) in place,
            // the int64[4] Runtime::protect_cursor registers, so a snapshot holds
            // the same tensor from C++, C and Python; `self` keeps them alive.
            auto& words = self.cast<SampleCursor&>().state();
            return py::array_t<std::int64_t>({static_cast<py::ssize_t>(words.size())},
                                             {static_cast<py::ssize_t>(sizeof(std::int64_t))},
                                             reinterpret_cast<std::int64_t*>(words.data()), self);
          },
          "The cursor's state as lull protects it (int64[4], in place); use Runtime.protect(name, cursor).")
      .def("__repr__", [](const SampleCursor& c) {
        return "lull.SampleCursor(dataset_size=" + std::to_string(c.dataset_size()) + ", seed=" +
               std::to_string(c.seed()) + ", epoch=" + std::to_string(c.epoch()) +
               ", position=" + std::to_string(c.position()) + ")";
      });
}

}  // namespace lull::python
