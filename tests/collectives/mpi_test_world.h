#pragma once
// What the MPI-backend test binaries share: this process's place in
// MPI_COMM_WORLD and communicators over it with a test-sized timeout.

#include <mpi.h>

#include <memory>
#include <string>

#include "lull/collectives/communicator.h"

namespace lull::test {

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline int world_size() {
  int s = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// A mismatch between ranks after a failed assertion ends in the watchdog
// (exit 70) after this long, rather than hanging until CTest's timeout.
inline CommunicatorOptions test_options(std::string label = "test") {
  CommunicatorOptions options;
  options.timeout_seconds = 20;
  options.label = std::move(label);
  return options;
}

inline std::unique_ptr<Communicator> world(std::string label = "test") {
  return make_communicator("mpi", MPI_COMM_WORLD, test_options(std::move(label)));
}

}  // namespace lull::test
