#pragma once
// lull's HDF5 file driver (a VFD) for the files lull writes: shard files and
// root files. HDF5's own reads and writes go through lull's FileSystem seam
// (create_file), like every other byte lull writes, and a write the system
// refuses (ENOSPC, EIO) never reaches HDF5 as a failure.
//
// Why: HDF5 1.10 does not survive a failed write of its metadata. The
// metadata cache is left half-flushed, every later flush or close of the
// file fails too, and H5Fclose then frees the file while its identifier
// stays registered: HDF5's exit cleanup touches the freed file and the
// process dies with SIGSEGV. So this driver records the first failure in
// the file's Hdf5WriteState and carries on in memory: from then on every
// page HDF5 writes is kept in an overlay (filled from the disk first), reads
// see the overlay over the disk, and HDF5 stays consistent and can always
// close the file. The caller reads the state and fails the snapshot with the
// system's own error. Setting `discard` sends every later write to the
// overlay too: how a file is abandoned without touching the disk again.
//
// Not thread-safe (HDF5 here is built without thread-safety: one thread at a
// time does all of lull's HDF5 calls).

#include <hdf5.h>

#include <memory>
#include <optional>

#include "lull/base/error.h"
#include "lull/base/file_system.h"

namespace lull::detail {

struct Hdf5WriteState {
  std::optional<Error> failure;  // the first write or truncate the system refused
  bool discard = false;          // abandoned: nothing more reaches the disk
};

// Selects the driver on the file access list `fapl`: files created through
// it are created by `fs` with `mode` and report to `state`. `fs` must
// outlive the files; `state` is shared with them.
void use_write_driver(hid_t fapl, FileSystem& fs, mode_t mode, std::shared_ptr<Hdf5WriteState> state);

}  // namespace lull::detail
