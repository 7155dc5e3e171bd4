#pragma once
// Reading a snapshot's root file as untrusted input. Two halves, both run by
// SnapshotReader::open, so a restore and `lull verify`/`lull inspect` make
// the same choice about every snapshot:
//
//   read_checked_manifest()  the attributes and the manifest, every size
//                            bounded by the root file's real size before
//                            anything is allocated, the manifest checked
//                            (manifest_check.h);
//   check_global_view()      the global view h5py users open is exactly the
//                            one the manifest describes: each tensor and
//                            blob an external link or virtual dataset into
//                            its own rank's shard file of this snapshot,
//                            nothing else anywhere (no other external or
//                            soft link, virtual dataset or external storage,
//                            which could name any file on the machine).
//
// Neither traverses a link or reads a dataset's data: nothing outside the
// root file is opened. Before HDF5 opens a dataset, its layout is read from
// the root file's bytes (`root_file`, the same file open for reading) and
// refused if HDF5 1.10 would read past it (hdf5_layout_guard.h).

#include <hdf5.h>

#include <cstdint>
#include <string>

#include "lull/base/file_system.h"
#include "manifest.h"

namespace lull::detail {

// The manifest of the open root file `root` of `root_bytes` bytes, checked,
// with the root's `format`, `format_version` and `step` attributes agreeing
// with it. Throws Error(corrupt) naming `subject` (the root file's path) and
// what is wrong, Error(unsupported) for a newer format version.
Manifest read_checked_manifest(hid_t root, RandomAccessFile& root_file, std::uint64_t root_bytes,
                               const std::string& subject);

// Throws Error(corrupt) naming the object that differs from `manifest`.
void check_global_view(hid_t root, RandomAccessFile& root_file, const Manifest& manifest,
                       const std::string& subject);

}  // namespace lull::detail
