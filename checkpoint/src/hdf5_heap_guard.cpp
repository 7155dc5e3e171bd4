#include "hdf5_heap_guard.h"

namespace lull::detail {

namespace {

constexpr std::string_view kSignature = "GCOL";
constexpr std::uint64_t kObjectHeaderBytes = 16;  // index, references, reserved, object size

std::uint64_t little_endian(std::string_view bytes, std::uint64_t at, unsigned width) {
  std::uint64_t value = 0;
  for (unsigned i = width; i-- > 0;) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

}  // namespace

std::string walk_heap_collection(std::string_view collection, std::uint64_t file_offset,
                                 const std::function<void(const HeapObject&)>& visit) {
  // H5HG__cache_heap_deserialize's walk, with its unsigned arithmetic: an
  // object moves on by its size (object 0, the free space) or by its header
  // and its size rounded up to 8 (the others).
  const std::uint64_t end = collection.size();
  std::uint64_t at = kHeapCollectionHeaderBytes;
  while (at < end) {
    if (at + kObjectHeaderBytes > end) break;  // the tail: free space
    const std::uint64_t index = little_endian(collection, at, 2);
    const std::uint64_t object = little_endian(collection, at + 8, 8);
    const std::uint64_t step = index > 0 ? kObjectHeaderBytes + ((object + 7) & ~std::uint64_t{7}) : object;
    // A step of nothing loops for ever; one that wraps or leaves the
    // collection (HDF5 adds it to a pointer) walks into other memory. In a
    // well-formed collection the objects tile it exactly.
    if (step == 0 || step > end - at || (index > 0 && object > step - kObjectHeaderBytes)) {
      return "its global heap collection at byte " + std::to_string(file_offset) + " holds an object at byte " +
             std::to_string(file_offset + at) + " of " + std::to_string(object) +
             " bytes that HDF5 1.10 would read for ever or past the collection";
    }
    if (index > 0) visit({index, at + kObjectHeaderBytes, object});
    at += step;
  }
  return {};
}

std::string global_heap_problem(std::string_view bytes) {
  for (std::size_t start = bytes.find(kSignature); start != std::string_view::npos;
       start = bytes.find(kSignature, start + 1)) {
    if (start + kHeapCollectionHeaderBytes > bytes.size() || static_cast<unsigned char>(bytes[start + 4]) != 1) {
      continue;
    }
    const std::uint64_t size = little_endian(bytes, start + 8, 8);
    // HDF5 cannot read a collection past the end of the file: no loop then.
    if (size > bytes.size() - start) continue;
    if (std::string problem = walk_heap_collection(bytes.substr(start, size), start, [](const HeapObject&) {});
        !problem.empty()) {
      return problem;
    }
  }
  return {};
}

}  // namespace lull::detail
