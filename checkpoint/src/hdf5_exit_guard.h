#pragma once
// HDF5 1.10.8 cannot always release a file: after it failed to decode an
// object header of a damaged file (an external file list, say), the header
// stays pinned in the metadata cache, H5Fclose fails half-way, frees the
// file and leaves its identifier registered. HDF5's own exit cleanup (its
// atexit handler) then closes that identifier again and the process dies
// with SIGSEGV: `lull verify` of a damaged snapshot would exit 139, and a
// job that passed over one at restore would end with 139 instead of 0 or
// 75. Found by the snapshot_root_file fuzz target.
//
// The one such failure known (an external file list that does not decode)
// lull avoids: it looks for that message before it opens a dataset
// (hdf5_links.h). For any other, when a release fails and the identifier is
// still registered, lull makes the process end at exit with the status it
// exits with, before HDF5's cleanup runs: an on_exit() handler, registered
// after HDF5's (HDF5 registers its own when it starts, before any file
// exists), flushes stdio and calls _exit(status). Handlers and static
// destructors registered before it do not run then; the alternative is a
// crash that runs none of them either. (The parallel HDF5 also cleans up in
// MPI_Finalize: a program that finalizes MPI itself still crashes there; when
// lull initialized MPI, its finalization at exit is skipped and mpirun
// reports an improper exit instead of a crash.)

#include <hdf5.h>

namespace lull::detail {

// Releases `id` (H5Idec_ref); false when HDF5 failed to. Then, if `id` is
// still registered, arms the exit guard above (once per process). Never
// throws.
bool release_hdf5_id(hid_t id) noexcept;

}  // namespace lull::detail
