#pragma once
// The alternative physical layout: ONE shared HDF5 file written by all ranks
// with parallel HDF5 (MPI-IO driver), each rank writing its hyperslab of
// every tensor's global dataset. Only the benchmark uses parallel HDF5;
// lull's checkpoint/ knows nothing of MPI.

#include <filesystem>
#include <memory>

#include "checkpoint_method.h"

namespace lull::bench {

enum class TransferMode { independent, collective };

// Dataset creation and other metadata operations are collective (as parallel
// HDF5 requires); raw data goes with H5Dwrite/H5Dread in `mode`. Datasets
// are contiguous, allocated early, never filled. After H5Fclose rank 0
// fsyncs the file (one fsync covers every rank's bytes on a local file
// system).
std::unique_ptr<CheckpointMethod> make_shared_file_method(const MpiJob& job, std::filesystem::path dir,
                                                          TransferMode mode);

}  // namespace lull::bench
