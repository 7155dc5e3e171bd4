#pragma once
// One way of making a rank's tensors durable and reading them back: lull,
// the raw write()+fsync() limit, one shared parallel-HDF5 file. The driver
// (interleaved_rep.h) times them alike; a method only does the I/O.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mpi_job.h"
#include "workload.h"

namespace lull::bench {

// Seconds spent in named parts of a phase on this rank. Every rank returns
// the same names in the same order (0 where a part does not apply to it).
using Breakdown = std::vector<std::pair<std::string, double>>;

class CheckpointMethod {
 public:
  virtual ~CheckpointMethod() = default;
  virtual std::string name() const = 0;
  // Collective: every rank calls it. Writes this rank's pieces durably
  // (fsync'd, and for lull committed) before returning.
  virtual Breakdown write(const Workload& workload, const RankState& state) = 0;
  // Collective. Reads this rank's pieces into state.target.
  virtual Breakdown read(const Workload& workload, RankState& state) = 0;
  // Everything this method put on disk (a directory).
  virtual std::filesystem::path files() const = 0;
};

// lull: a SnapshotWriter per rank, ShardReport JSON gathered to rank 0 over
// MPI, commit on rank 0; read through SnapshotStore::open_step(structure)
// and SnapshotReader::read of each rank's own boxes (checksums verified).
std::unique_ptr<CheckpointMethod> make_lull_method(const MpiJob& job, std::filesystem::path dir);

// The limit: each rank write()s its bytes to its own file, fsync(); read()s
// them back into the same buffers.
std::unique_ptr<CheckpointMethod> make_posix_method(const MpiJob& job, std::filesystem::path dir);

}  // namespace lull::bench
