#include "torch_communicator.h"

#include <pybind11/stl.h>  // std::vector <-> list for the vote values

#include <algorithm>
#include <cstring>
#include <utility>

#include "bindings.h"
#include "lull/base/error.h"

namespace py = pybind11;

namespace lull::python {

namespace {

// A uint8 tensor over `bytes` bytes at `data` (no copy). bytes > 0.
py::object byte_tensor(const py::object& torch, void* data, std::size_t bytes) {
  py::object view = py::reinterpret_steal<py::object>(
      PyMemoryView_FromMemory(static_cast<char*>(data), static_cast<Py_ssize_t>(bytes), PyBUF_WRITE));
  if (!view) throw py::error_already_set();
  return torch.attr("frombuffer")(view, py::arg("dtype") = torch.attr("uint8"));
}

const char* torch_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i8: return "int8";
    case DType::u8: return "uint8";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::boolean: return "uint8";  // reduced as 0/1 bytes
  }
  return "uint8";
}

const char* op_name(ReduceOp op, DType dtype) {
  switch (op) {
    // Booleans: a sum is a logical or (the Communicator contract), a max of 0/1.
    case ReduceOp::sum: return dtype == DType::boolean ? "MAX" : "SUM";
    case ReduceOp::max: return "MAX";
    case ReduceOp::min: return "MIN";
  }
  return "SUM";
}

// A call on a vote's torch Work; a Python exception becomes an Error(io).
template <class Body>
auto call(const char* what, Body&& body) {
  try {
    return body();
  } catch (py::error_already_set& e) {
    throw Error(ErrorCode::io, std::string("torch.distributed's all_reduce (lull's step vote) failed in ") + what +
                                   "(): " + e.what());
  }
}

// One start_allreduce(): an async all_reduce of an int64 tensor. Every call
// into torch takes the GIL: the runtime calls with it released.
class TorchPendingAllreduce final : public PendingAllreduce::Operation {
 public:
  TorchPendingAllreduce(py::object tensor, py::object work, std::size_t count)
      : tensor_(std::move(tensor)), work_(std::move(work)), count_(count) {}

  ~TorchPendingAllreduce() override {
    py::gil_scoped_acquire gil;
    // A pending work keeps its own tensor alive in torch: dropping ours never blocks.
    work_ = py::object();
    tensor_ = py::object();
  }

  bool test() override {
    if (done_) return true;
    py::gil_scoped_acquire gil;
    if (!call("is_completed", [&] { return work_.attr("is_completed")().cast<bool>(); })) return false;
    take_values();
    return true;
  }

  void wait() override {
    if (done_) return;
    py::gil_scoped_acquire gil;
    call("wait", [&] { return work_.attr("wait")().cast<bool>(); });
    take_values();
  }

  std::span<const std::int64_t> values() const noexcept override { return {values_.data(), count_}; }

 private:
  void take_values() {
    auto list = tensor_.attr("tolist")().cast<std::vector<std::int64_t>>();
    std::copy(list.begin(), list.end(), values_.begin());
    done_ = true;
  }

  py::object tensor_;
  py::object work_;
  std::size_t count_;
  std::array<std::int64_t, kMaxAgreementValues> values_{};
  bool done_ = false;
};

}  // namespace

TorchCommunicator::TorchCommunicator(py::object group)
    : dist_(py::module_::import("torch.distributed")),
      torch_(py::module_::import("torch")),
      group_(std::move(group)) {
  if (!dist_.attr("is_initialized")().cast<bool>()) {
    throw Error(ErrorCode::invalid_argument, "torch.distributed has no process group",
                {}, {}, "call torch.distributed.init_process_group() first, or let lull.Runtime() do it");
  }
  rank_ = dist_.attr("get_rank")(group_).cast<int>();
  size_ = dist_.attr("get_world_size")(group_).cast<int>();
}

TorchCommunicator::~TorchCommunicator() {
  py::gil_scoped_acquire gil;
  group_ = py::object();
  torch_ = py::object();
  dist_ = py::object();
}

void TorchCommunicator::abort(std::string_view reason) noexcept {
  try {
    std::lock_guard lock(reason_mutex_);
    if (abort_reason_.empty()) abort_reason_ = std::string(reason);
  } catch (...) {  // out of memory for the reason: the flag below still says it
  }
  aborted_.store(true);
}

std::string TorchCommunicator::abort_reason() const {
  std::lock_guard lock(reason_mutex_);
  return abort_reason_;
}

void TorchCommunicator::throw_if_aborted() const {
  if (aborted_.load()) {
    throw Error(ErrorCode::io, "the torch.distributed communicator was aborted: " + abort_reason());
  }
}

namespace {

// Runs `body` with the GIL; a Python exception aborts the communicator (a
// rank that failed a collective cannot take part in the next one) and becomes
// an Error(io) naming the call.
template <class Body>
void with_torch(TorchCommunicator& comm, const char* what, Body&& body) {
  py::gil_scoped_acquire gil;
  try {
    body();
  } catch (py::error_already_set& e) {
    const std::string reason = std::string("torch.distributed.") + what + " failed: " + e.what();
    comm.abort(reason);
    throw Error(ErrorCode::io, reason, {}, {}, "the other ranks' logs say which one failed first");
  }
}

}  // namespace

void TorchCommunicator::do_allreduce(void* data, std::size_t count, DType dtype, ReduceOp op) {
  throw_if_aborted();
  if (count == 0) return;
  with_torch(*this, "all_reduce", [&] {
    py::object tensor = byte_tensor(torch_, data, count * dtype_size(dtype)).attr("view")(
        torch_.attr(torch_dtype_name(dtype)));
    // f16 and bf16 are reduced in float and rounded back (the Communicator contract).
    const bool half = dtype == DType::f16 || dtype == DType::bf16;
    py::object work = half ? tensor.attr("float")() : tensor;
    dist_.attr("all_reduce")(work, dist_.attr("ReduceOp").attr(op_name(op, dtype)), py::arg("group") = group_);
    if (half) tensor.attr("copy_")(work);
  });
}

void TorchCommunicator::do_broadcast(void* data, std::size_t bytes, int root) {
  throw_if_aborted();
  if (bytes == 0) return;
  with_torch(*this, "broadcast", [&] {
    // src is a global rank in torch; lull's group may be a subgroup.
    py::object source = dist_.attr("distributed_c10d").attr("get_global_rank")(group_, root);
    dist_.attr("broadcast")(byte_tensor(torch_, data, bytes), source, py::arg("group") = group_);
  });
}

void TorchCommunicator::do_allgather(const void* send, std::size_t bytes_per_rank, void* recv) {
  throw_if_aborted();
  if (bytes_per_rank == 0) return;
  with_torch(*this, "all_gather", [&] {
    auto* out = static_cast<std::byte*>(recv);
    std::vector<std::byte> mine(static_cast<const std::byte*>(send), static_cast<const std::byte*>(send) + bytes_per_rank);
    py::list parts;
    for (int r = 0; r < size_; ++r) parts.append(byte_tensor(torch_, out + static_cast<std::size_t>(r) * bytes_per_rank, bytes_per_rank));
    dist_.attr("all_gather")(parts, byte_tensor(torch_, mine.data(), bytes_per_rank), py::arg("group") = group_);
  });
}

std::vector<std::vector<std::byte>> TorchCommunicator::do_gather_bytes(std::span<const std::byte> mine, int root) {
  throw_if_aborted();
  // Sizes first, then every rank's bytes padded to the largest (gloo's
  // all_gather wants equal sizes); only `root` keeps them.
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(size_));
  const std::int64_t my_size = static_cast<std::int64_t>(mine.size());
  do_allgather(&my_size, sizeof my_size, sizes.data());
  const auto largest = static_cast<std::size_t>(*std::max_element(sizes.begin(), sizes.end()));
  std::vector<std::vector<std::byte>> out;
  if (largest == 0) {
    if (rank_ == root) out.resize(static_cast<std::size_t>(size_));
    return out;
  }
  std::vector<std::byte> padded(largest);
  std::copy(mine.begin(), mine.end(), padded.begin());
  std::vector<std::byte> all(largest * static_cast<std::size_t>(size_));
  do_allgather(padded.data(), largest, all.data());
  if (rank_ != root) return out;
  for (int r = 0; r < size_; ++r) {
    const auto* first = all.data() + static_cast<std::size_t>(r) * largest;
    out.emplace_back(first, first + sizes[static_cast<std::size_t>(r)]);
  }
  return out;
}

void TorchCommunicator::do_barrier() {
  throw_if_aborted();
  with_torch(*this, "barrier", [&] { dist_.attr("barrier")(py::arg("group") = group_); });
}

PendingAllreduce TorchCommunicator::do_start_allreduce(std::span<const std::int64_t> values, ReduceOp op) {
  throw_if_aborted();
  std::unique_ptr<PendingAllreduce::Operation> operation;
  with_torch(*this, "all_reduce", [&] {
    py::object tensor = torch_.attr("tensor")(std::vector<std::int64_t>(values.begin(), values.end()),
                                              py::arg("dtype") = torch_.attr("int64"));
    py::object work = dist_.attr("all_reduce")(tensor, dist_.attr("ReduceOp").attr(op_name(op, DType::i64)),
                                               py::arg("group") = group_, py::arg("async_op") = true);
    operation = std::make_unique<TorchPendingAllreduce>(std::move(tensor), std::move(work), values.size());
  });
  return PendingAllreduce(std::move(operation));
}

void bind_torch_communicator(py::module_& m) {
  py::class_<TorchCommunicator, std::shared_ptr<TorchCommunicator>>(m, "TorchCommunicator",
                                "lull's collectives over a torch.distributed gloo process group (for runs "
                                "without MPI). Made by lull.Runtime; not for direct use.")
      .def(py::init<py::object>(), py::arg("group"))
      .def_property_readonly("rank", &TorchCommunicator::rank)
      .def_property_readonly("size", &TorchCommunicator::size);
}

}  // namespace lull::python
