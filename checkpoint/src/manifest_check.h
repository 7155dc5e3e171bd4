#pragma once
// The manifest read from a root file is untrusted input: anyone who can
// write the snapshot directory can rewrite it and recompute its checksum.
// check_manifest() makes sure that nothing in it can make a reader allocate,
// seek or name more than the snapshot's own files hold, before anything
// acts on it.

#include <string>

#include "manifest.h"

namespace lull::detail {

// Throws Error(corrupt), naming `subject` (the root file), the field and the
// object, unless:
//   - every tensor and blob name is a valid lull name (they become HDF5
//     paths), and tensors and blobs are unique;
//   - every rank is in [0, world_size), with one shard file each, named as
//     lull names it (shard_file_name);
//   - every tensor's byte count fits in 64 bits, every shard holds exactly
//     its box's bytes (more than none), at most one per rank, and the shards
//     tile the tensor exactly;
//   - every shard and blob lies inside its rank's shard file as the manifest
//     records its size (recorded offset included), and together a rank's
//     objects fit in that file.
// The shard files' real sizes are compared with the recorded ones by the
// reader, so every size here is bounded by bytes that exist on disk.
void check_manifest(const Manifest& manifest, const std::string& subject);

}  // namespace lull::detail
