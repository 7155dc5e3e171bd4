#include "mpi_reduction.h"

#include <cstdint>
#include <cstring>

#include "../half_float.h"
#include "lull/collectives/mpi_error.h"

namespace lull::detail {

namespace {

using ToFloat = float (*)(std::uint16_t) noexcept;
using FromFloat = std::uint16_t (*)(float) noexcept;

template <ToFloat to_float, FromFloat from_float, ReduceOp op>
void reduce_halves(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const std::uint16_t*>(in);
  auto* b = static_cast<std::uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) {
    float x = to_float(a[i]);
    float y = to_float(b[i]);
    float r;
    if constexpr (op == ReduceOp::sum) {
      r = x + y;
    } else if constexpr (op == ReduceOp::max) {
      r = x > y ? x : y;
    } else {
      r = x < y ? x : y;
    }
    b[i] = from_float(r);
  }
}

constexpr MPI_User_function* kHalfFunctions[2][3] = {
    {&reduce_halves<f16_to_float, float_to_f16, ReduceOp::sum>,
     &reduce_halves<f16_to_float, float_to_f16, ReduceOp::max>,
     &reduce_halves<f16_to_float, float_to_f16, ReduceOp::min>},
    {&reduce_halves<bf16_to_float, float_to_bf16, ReduceOp::sum>,
     &reduce_halves<bf16_to_float, float_to_bf16, ReduceOp::max>,
     &reduce_halves<bf16_to_float, float_to_bf16, ReduceOp::min>},
};

MPI_Op predefined(ReduceOp op) noexcept {
  switch (op) {
    case ReduceOp::sum: return MPI_SUM;
    case ReduceOp::max: return MPI_MAX;
    case ReduceOp::min: return MPI_MIN;
  }
  return MPI_OP_NULL;
}

}  // namespace

HalfReduceOps::HalfReduceOps() {
  for (auto& row : ops_) {
    for (MPI_Op& op : row) op = MPI_OP_NULL;
  }
  try {
    for (int t = 0; t < 2; ++t) {
      for (int o = 0; o < 3; ++o) {
        check_mpi(MPI_Op_create(kHalfFunctions[t][o], /*commute=*/1, &ops_[t][o]), "MPI_Op_create",
                  "the f16/bf16 reduction ops");
      }
    }
  } catch (...) {
    free_all();
    throw;
  }
}

HalfReduceOps::~HalfReduceOps() { free_all(); }

void HalfReduceOps::free_all() noexcept {
  int finalized = 1;
  if (MPI_Finalized(&finalized) != MPI_SUCCESS || finalized) return;
  for (auto& row : ops_) {
    for (MPI_Op& op : row) {
      if (op != MPI_OP_NULL) MPI_Op_free(&op);
    }
  }
}

MPI_Op HalfReduceOps::get(DType dtype, ReduceOp op) const noexcept {
  return ops_[dtype == DType::f16 ? 0 : 1][static_cast<int>(op)];
}

MpiReduction mpi_reduction(DType dtype, ReduceOp op, const HalfReduceOps& half_ops) noexcept {
  switch (dtype) {
    case DType::f16:
    case DType::bf16: return {MPI_UINT16_T, half_ops.get(dtype, op)};
    case DType::f32: return {MPI_FLOAT, predefined(op)};
    case DType::f64: return {MPI_DOUBLE, predefined(op)};
    case DType::i8: return {MPI_INT8_T, predefined(op)};
    case DType::u8: return {MPI_UINT8_T, predefined(op)};
    case DType::i32: return {MPI_INT32_T, predefined(op)};
    case DType::i64: return {MPI_INT64_T, predefined(op)};
    case DType::boolean: return {MPI_UINT8_T, op == ReduceOp::min ? MPI_MIN : MPI_MAX};
  }
  return {MPI_DATATYPE_NULL, MPI_OP_NULL};
}

}  // namespace lull::detail
