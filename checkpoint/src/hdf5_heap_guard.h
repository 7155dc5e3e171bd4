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

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace lull::detail {

// Empty when no global heap collection in `file_bytes` (a whole HDF5 file,
// 8-byte lengths as lull writes them) would make HDF5 loop; otherwise says
// where the collection that would is.
std::string global_heap_problem(std::string_view file_bytes);

// Bytes of a collection's header ("GCOL", version 1, reserved, 8-byte size).
inline constexpr std::uint64_t kHeapCollectionHeaderBytes = 16;

// An object of a global heap collection: its index (0 is the free space)
// and where its data lies in the collection's bytes.
struct HeapObject {
  std::uint64_t index = 0;
  std::uint64_t data_offset = 0;
  std::uint64_t data_size = 0;
};

// Walks `collection` (all its bytes, header included; it starts at byte
// `file_offset` of the file, for messages) as HDF5 1.10 does, calling
// `visit` for every object it finds, each lying inside the collection.
// Empty when the walk ends; otherwise says which object would make HDF5
// loop for ever or read past the collection.
std::string walk_heap_collection(std::string_view collection, std::uint64_t file_offset,
                                 const std::function<void(const HeapObject&)>& visit);

}  // namespace lull::detail
