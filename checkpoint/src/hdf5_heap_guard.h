#pragma once
// A known hang of the HDF5 this project builds on (Debian 12's 1.10.8):
// reading a variable-length string, as every root file's attributes are,
// parses the file's global heap collection, and a collection whose free
// space entry (object 0) is 0 bytes long makes that parse loop for ever
// (H5HG__cache_heap_deserialize never advances), and one whose sizes wrap
// around sends it through other memory.
// Found by the snapshot_root_file fuzz target; fixed in later HDF5 releases.
// lull cannot interrupt HDF5, so it looks first: every global heap
// collection in the file's bytes (signature "GCOL") is walked as HDF5 walks
// it, before HDF5 is given the file.

#include <string>
#include <string_view>

namespace lull::detail {

// Empty when no global heap collection in `file_bytes` (a whole HDF5 file,
// 8-byte lengths as lull writes them) would make HDF5 loop; otherwise says
// where the collection that would is.
std::string global_heap_problem(std::string_view file_bytes);

}  // namespace lull::detail
