#pragma once
// lull's (DType, ReduceOp) as MPI's (MPI_Datatype, MPI_Op).
//
// MPI has no f16/bf16: they travel as MPI_UINT16_T with user-defined ops
// that reduce in float and round back to nearest even (float's 24 bits make
// that double rounding harmless for a sum of two halves). Booleans travel as
// MPI_UINT8_T: sum and max are logical or, min logical and (PyTorch's
// convention for bool with NCCL), for values 0 and 1.

#include <mpi.h>

#include "lull/base/dtype.h"
#include "lull/collectives/communicator.h"

namespace lull::detail {

// The six user-defined ops (f16/bf16 x sum/max/min). Made after MPI_Init;
// the destructor frees them (MPI_Op_free is local) unless MPI is finalized.
class HalfReduceOps {
 public:
  HalfReduceOps();
  ~HalfReduceOps();
  HalfReduceOps(const HalfReduceOps&) = delete;
  HalfReduceOps& operator=(const HalfReduceOps&) = delete;

  MPI_Op get(DType dtype, ReduceOp op) const noexcept;  // dtype is f16 or bf16

 private:
  void free_all() noexcept;
  MPI_Op ops_[2][3];
};

struct MpiReduction {
  MPI_Datatype type;
  MPI_Op op;
};

MpiReduction mpi_reduction(DType dtype, ReduceOp op, const HalfReduceOps& half_ops) noexcept;

}  // namespace lull::detail
