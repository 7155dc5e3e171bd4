#pragma once
// A known crash of the HDF5 this project builds on (Debian 12's 1.10.8):
// opening a dataset decodes its layout message, and that decoding trusts the
// counts and lengths it reads. A virtual dataset's mapping lives in a global
// heap object (source file and dataset names, then two serialized
// selections); a selection that claims more coordinates than the object
// holds, or a name without its terminating NUL, is read past the object and
// the process dies with SIGSEGV in H5S_select_deserialize (found by the
// snapshot_root_file fuzz target). A compact layout's size is trusted the
// same way, and the heap object is looked up by an index HDF5 only asserts.
// lull cannot interrupt HDF5, so before H5Dopen2 on a file it did not just
// write it reads the dataset's object header and layout from the file's
// bytes and refuses a layout HDF5 would read past its end, or one lull
// never writes (chunked or shared layouts, version-1 object headers,
// selections other than "all" of the source into a box of the view).

#include <hdf5.h>

#include <cstdint>
#include <string>

#include "lull/base/file_system.h"

namespace lull::detail {

// Empty when HDF5 1.10 can decode the layout of the dataset `name` of
// `group` (a hard link) within its bounds; otherwise what is wrong ("its
// virtual mapping's selection 1 of piece 0 claims ..."). `file` holds the
// bytes of the HDF5 file `group` is in. Throws Error(corrupt) naming
// `subject` when HDF5 cannot read the object header at all.
std::string dataset_layout_problem(hid_t group, const std::string& name, RandomAccessFile& file,
                                   const std::string& subject);

// The same for the object header at `header_address` (relative to the
// file's base address, as HDF5 reports it): the parser itself, for tests.
std::string layout_problem_at(RandomAccessFile& file, std::uint64_t header_address);

}  // namespace lull::detail
