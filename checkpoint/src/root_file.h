#pragma once
// The root file of a snapshot: the global view h5py users open.
//
//   attributes  format="lull", format_version, step, world_size,
//               created_unix, created (ISO 8601 UTC)
//   /tensors/<name>      one global dataset per tensor: a virtual dataset
//                        mapping each rank's box to its shard file (a
//                        scalar is an external link; an empty tensor a
//                        plain empty dataset)
//   /ranks/<r>/<name>    each rank-local blob, the same way
//   /metadata            user key/values as string attributes
//   /lull/manifest       the manifest JSON (u8), attribute "checksum"

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "lull/base/file_system.h"
#include "manifest.h"

namespace lull::detail {

inline constexpr const char* kManifestPath = "/lull/manifest";

// A virtual dataset's source dataset name for `name`: '%' starts a
// printf-like pattern there, so it is doubled.
std::string escape_vds_name(const std::string& name);

// Writes `manifest`'s root file at `path`, created through `fs` with `mode`
// (shard files are named relative to its directory). Does not fsync. On
// failure (Error; ENOSPC in the system's words) nothing of HDF5's stays
// open; the incomplete file is left for the caller to remove.
void write_root_file(FileSystem& fs, const std::filesystem::path& path, mode_t mode, const Manifest& manifest);

}  // namespace lull::detail
