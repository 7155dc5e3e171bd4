#include "hdf5_layout_guard.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "hdf5_heap_guard.h"
#include "lull/base/error.h"

// The structures below are those of the HDF5 file format specification
// (version 3.0, as HDF5 1.10 reads it); the comments name its sections.
namespace lull::detail {

namespace {

// A layout HDF5 must not be given; `what` says why.
struct Refused {
  std::string what;
};

[[noreturn]] void refuse(std::string what) { throw Refused{std::move(what)}; }

// lull's root files have headers of a few hundred bytes and one heap
// collection of a few KiB; these bounds only keep a crafted size from
// allocating the machine's memory.
constexpr std::uint64_t kMaxHeaderChunkBytes = 1 << 20;
constexpr std::uint64_t kMaxHeapCollectionBytes = 64 << 20;
constexpr std::size_t kMaxHeaderChunks = 64;
constexpr unsigned kMaxRank = 32;  // H5S_MAX_RANK
constexpr std::uint64_t kUndefinedAddress = ~std::uint64_t{0};

// Little-endian fields read one after another from the bytes of one
// structure; reading past its end refuses, naming the structure.
class Fields {
 public:
  Fields(std::string_view bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}

  std::uint64_t number(unsigned width) {
    need(width, "a field");
    std::uint64_t value = 0;
    for (unsigned i = width; i-- > 0;) value = (value << 8) | static_cast<unsigned char>(bytes_[at_ + i]);
    at_ += width;
    return value;
  }
  void skip(std::uint64_t bytes, const char* what) {
    need(bytes, what);
    at_ += bytes;
  }
  // A NUL-terminated string (HDF5 measures it with strlen).
  std::string_view c_string(const std::string& what) {
    const std::size_t nul = bytes_.find('\0', at_);
    if (nul == std::string_view::npos) refuse(what + " has no end within the " + size_text() + " of " + what_);
    const std::string_view text = bytes_.substr(at_, nul - at_);
    at_ = nul + 1;
    return text;
  }
  std::string_view take(std::uint64_t bytes, const char* what) {
    need(bytes, what);
    const std::string_view taken = bytes_.substr(at_, bytes);
    at_ += bytes;
    return taken;
  }
  std::uint64_t left() const { return bytes_.size() - at_; }
  std::uint64_t offset() const { return at_; }
  const std::string& what() const { return what_; }

  void need(std::uint64_t bytes, const char* what) const {
    if (bytes > left()) {
      refuse(what_ + " needs " + std::to_string(bytes) + " bytes for " + what + " at byte " + std::to_string(at_) +
             " of its " + size_text());
    }
  }

 private:
  std::string size_text() const { return std::to_string(bytes_.size()) + " bytes"; }

  std::string_view bytes_;
  std::string what_;
  std::uint64_t at_ = 0;
};

// The file's bytes, read on demand within the file.
class FileBytes {
 public:
  explicit FileBytes(RandomAccessFile& file) : file_(file), size_(file.size()) {}
  std::uint64_t size() const { return size_; }

  std::string read(std::uint64_t offset, std::uint64_t bytes, std::uint64_t limit, const std::string& what) {
    if (bytes > limit) {
      refuse(what + " claims " + std::to_string(bytes) + " bytes, more than lull writes (" + std::to_string(limit) +
             ")");
    }
    if (offset > size_ || bytes > size_ - offset) {
      refuse(what + " lies past the end of the file (" + std::to_string(bytes) + " bytes at byte " +
             std::to_string(offset) + " of " + std::to_string(size_) + ")");
    }
    std::string out(bytes, '\0');
    if (bytes == 0) return out;
    file_.read_at(offset, out.data(), out.size());
    return out;
  }

 private:
  RandomAccessFile& file_;
  std::uint64_t size_;
};

// Superblock (II.A): where addresses start, with 8-byte addresses and
// lengths as lull's files have them (every field below assumes 8).
std::uint64_t base_address(FileBytes& file) {
  const std::string bytes = file.read(0, 32, 32, "the superblock");
  Fields sb(bytes, "the superblock");
  if (sb.take(8, "the signature") != std::string_view("\x89HDF\r\n\x1a\n", 8)) {
    refuse("the file does not start with an HDF5 superblock (lull writes none elsewhere)");
  }
  const std::uint64_t version = sb.number(1);
  unsigned offsets_at = 13;  // versions 0 and 1
  unsigned base_at = version == 0 ? 24 : 28;
  if (version >= 2) {
    offsets_at = 9;
    base_at = 12;
  }
  if (version > 3) refuse("the superblock has version " + std::to_string(version) + ", unknown to HDF5 1.10");
  if (static_cast<unsigned char>(bytes[offsets_at]) != 8 || static_cast<unsigned char>(bytes[offsets_at + 1]) != 8) {
    refuse("the file's addresses or lengths are not 8 bytes long, as lull writes them");
  }
  Fields base(std::string_view(bytes).substr(base_at), "the superblock");
  return base.number(8);
}

struct Message {
  unsigned type = 0;
  unsigned flags = 0;
  std::string_view data;
};

// Object header (IV.A.1): its messages in chunk 0 and in every continuation
// chunk, each message lying inside its chunk.
class ObjectHeader {
 public:
  ObjectHeader(FileBytes& file, std::uint64_t base, std::uint64_t address) : file_(file), base_(base) {
    const std::uint64_t at = absolute(address, "the object header");
    // The longest prefix (version 2 with times and limits) is 40 bytes.
    const std::uint64_t prefix_bytes = std::min<std::uint64_t>(40, at < file_.size() ? file_.size() - at : 0);
    const std::string prefix = file_.read(at, prefix_bytes, 40, "the object header");
    Fields head(prefix, "the object header at byte " + std::to_string(at));
    if (prefix.starts_with("OHDR")) {
      head.skip(4, "the signature");
      version_ = head.number(1);
      if (version_ != 2) refuse(head.what() + " has version " + std::to_string(version_));
      flags_ = head.number(1);
      if (flags_ & 0x20) head.skip(16, "its times");
      if (flags_ & 0x10) head.skip(4, "its attribute limits");
      const std::uint64_t size = head.number(1u << (flags_ & 0x03));
      add_chunk(at + head.offset(), size);
    } else {
      version_ = head.number(1);
      if (version_ != 1) refuse(head.what() + " is neither version 1 nor version 2");
      head.skip(7, "its counts");
      const std::uint64_t size = head.number(4);
      add_chunk(at + 16, size);  // the prefix is padded to 16 bytes
    }
    for (std::size_t i = 0; i < chunks_.size(); ++i) read_chunk(chunks_[i]);
  }

  const std::vector<Message>& messages() const { return messages_; }
  std::uint64_t absolute(std::uint64_t address, const std::string& what) const {
    if (address > ~std::uint64_t{0} - base_) refuse(what + "'s address " + std::to_string(address) + " overflows");
    return base_ + address;
  }

 private:
  struct Chunk {
    std::uint64_t at;
    std::uint64_t size;
    std::string bytes;
  };

  void add_chunk(std::uint64_t at, std::uint64_t size) {
    if (!seen_.insert(at).second) refuse("the object header's continuation at byte " + std::to_string(at) + " loops");
    if (chunks_.size() == kMaxHeaderChunks) refuse("the object header has more chunks than lull writes");
    const std::string what = "the object header's chunk at byte " + std::to_string(at);
    chunks_.push_back({at, size, file_.read(at, size, kMaxHeaderChunkBytes, what)});
  }

  void read_chunk(const Chunk& chunk) {
    // Version 2 continuation chunks start with "OCHK" and end with a
    // checksum (included in the continuation's length); chunk 0's checksum
    // follows the size its prefix gives.
    std::string_view bytes = chunk.bytes;
    const bool continuation = chunk.at != chunks_.front().at;
    if (version_ == 2 && continuation) {
      if (!bytes.starts_with("OCHK") || bytes.size() < 8) {
        refuse("the object header's chunk at byte " + std::to_string(chunk.at) + " is not a continuation chunk");
      }
      bytes = bytes.substr(4, bytes.size() - 8);
    }
    Fields chunk_fields(bytes, "the object header's chunk at byte " + std::to_string(chunk.at));
    const unsigned header_bytes = version_ == 2 ? (flags_ & 0x04 ? 6 : 4) : 8;
    while (chunk_fields.left() >= header_bytes) {
      Message m;
      if (version_ == 2) {
        m.type = static_cast<unsigned>(chunk_fields.number(1));
        const std::uint64_t size = chunk_fields.number(2);
        m.flags = static_cast<unsigned>(chunk_fields.number(1));
        if (flags_ & 0x04) chunk_fields.skip(2, "a message's creation order");
        m.data = chunk_fields.take(size, "a message");
      } else {
        m.type = static_cast<unsigned>(chunk_fields.number(2));
        const std::uint64_t size = chunk_fields.number(2);
        m.flags = static_cast<unsigned>(chunk_fields.number(1));
        chunk_fields.skip(3, "a message's reserved bytes");
        m.data = chunk_fields.take(size, "a message");
      }
      messages_.push_back(m);
      constexpr unsigned kContinuation = 0x10;
      if (m.type == kContinuation) {
        Fields next(m.data, "a continuation message");
        const std::uint64_t address = next.number(8);
        const std::uint64_t length = next.number(8);
        add_chunk(absolute(address, "a continuation"), length);
      }
    }
  }

  FileBytes& file_;
  std::uint64_t base_;
  std::uint64_t version_ = 0;
  std::uint64_t flags_ = 0;
  std::vector<Chunk> chunks_;  // grows while it is read: continuations
  std::vector<Message> messages_;
  std::set<std::uint64_t> seen_;
};

// Dataspace selection, as H5S_select_deserialize reads it (the encoding of
// the global heap block for virtual datasets, IV.A.2.i): the source
// selection lull writes is "all", the view's is one regular box.
void check_selection(Fields& block, const std::string& what, bool source) {
  constexpr std::uint64_t kPoints = 1, kHyperslab = 2, kAll = 3;
  const std::uint64_t type = block.number(4);
  const std::uint64_t version = block.number(4);
  if (source) {
    if (type != kAll || version != 1) {
      refuse(what + " is not all of the source (type " + std::to_string(type) + " version " +
             std::to_string(version) + ")");
    }
    block.skip(8, "its header");  // reserved, length
    return;
  }
  if (type != kHyperslab || (version != 1 && version != 2)) {
    refuse(what + " is not a box of the view (type " + std::to_string(type) + " version " + std::to_string(version) +
           (type == kPoints ? ", points" : "") + ")");
  }
  if (version == 2) block.skip(1, "its flags");
  if (version == 1) block.skip(4, "its reserved bytes");
  const std::uint64_t length = block.number(4);
  const std::uint64_t body_start = block.offset();
  const std::uint64_t rank = block.number(4);
  // HDF5 sizes an array of H5S_MAX_RANK dimensions by this rank.
  if (rank == 0 || rank > kMaxRank) refuse(what + " has rank " + std::to_string(rank));
  if (version == 2) {
    block.skip(4 * 8 * rank, "its start, stride, count and block");  // 8 bytes each per dimension
  } else {
    const std::uint64_t boxes = block.number(4);
    // Each box: a start and an end of 4 bytes per dimension.
    if (boxes > block.left() / (8 * rank)) {
      refuse(what + " claims " + std::to_string(boxes) + " boxes of rank " + std::to_string(rank) +
             " in the " + std::to_string(block.left()) + " bytes left");
    }
    block.skip(boxes * 8 * rank, "its boxes");
  }
  if (block.offset() - body_start != length) {
    refuse(what + " says it is " + std::to_string(length) + " bytes long but holds " +
           std::to_string(block.offset() - body_start));
  }
}

// The global heap block of a virtual dataset (IV.A.2.i): version, number of
// mappings, then per mapping the source file and dataset names and two
// selections, and a checksum. HDF5 allocates by the count before it reads.
void check_virtual_mapping(std::string_view block_bytes) {
  Fields block(block_bytes, "its virtual mapping");
  if (const std::uint64_t version = block.number(1); version != 0) {
    refuse("its virtual mapping has version " + std::to_string(version));
  }
  const std::uint64_t pieces = block.number(8);
  for (std::uint64_t i = 0; i < pieces; ++i) {
    const std::string piece = "its virtual mapping's piece " + std::to_string(i) + " of " + std::to_string(pieces);
    block.need(1, piece.c_str());
    block.c_string(piece + "'s source file name");
    block.c_string(piece + "'s source dataset name");
    check_selection(block, piece + "'s source selection", true);
    check_selection(block, piece + "'s view selection", false);
  }
  if (block.left() != 4) {
    refuse("its virtual mapping has " + std::to_string(block.left()) + " bytes where its checksum (4) should end it");
  }
}

// The heap object `index` of the collection at `address`, walked as HDF5
// walks it (it looks the object up by an index it does not check).
std::string heap_object(FileBytes& file, const ObjectHeader& header, std::uint64_t address, std::uint64_t index) {
  const std::uint64_t at = header.absolute(address, "its virtual mapping's heap");
  const std::string what = "its virtual mapping's heap collection at byte " + std::to_string(at);
  const std::string head = file.read(at, kHeapCollectionHeaderBytes, kHeapCollectionHeaderBytes, what);
  Fields fields(head, what);
  if (fields.take(4, "its signature") != "GCOL" || fields.number(1) != 1) refuse(what + " is not a heap collection");
  fields.skip(3, "its reserved bytes");
  const std::uint64_t size = fields.number(8);
  if (size < kHeapCollectionHeaderBytes) refuse(what + " is " + std::to_string(size) + " bytes long");
  const std::string collection = file.read(at, size, kMaxHeapCollectionBytes, what);
  std::optional<HeapObject> found;
  if (std::string problem = walk_heap_collection(collection, at, [&](const HeapObject& o) {
        if (o.index == index) found = o;  // HDF5 keeps the last one
      });
      !problem.empty()) {
    refuse("its virtual mapping's heap: " + problem);
  }
  if (!found) refuse(what + " has no object " + std::to_string(index));
  return collection.substr(found->data_offset, found->data_size);
}

// Data layout message (IV.A.2.i), versions 3 and 4.
void check_layout(FileBytes& file, const ObjectHeader& header, const Message& m) {
  constexpr unsigned kShared = 0x02;
  if (m.flags & kShared) refuse("its layout message is shared, which lull never writes");
  Fields layout(m.data, "its layout message");
  const std::uint64_t version = layout.number(1);
  if (version != 3 && version != 4) refuse("its layout message has version " + std::to_string(version));
  const std::uint64_t layout_class = layout.number(1);
  switch (layout_class) {
    case 0: {  // compact: the bytes follow their size
      const std::uint64_t size = layout.number(2);
      layout.need(size, "its compact data");
      return;
    }
    case 1:  // contiguous: address and size
      layout.need(16, "its address and size");
      return;
    case 3: {  // virtual: the global heap object holding the mapping
      if (version != 4) refuse("its layout message is virtual but has version " + std::to_string(version));
      const std::uint64_t address = layout.number(8);
      const std::uint64_t index = layout.number(4);
      if (address == kUndefinedAddress) return;  // no mapping: nothing decoded
      check_virtual_mapping(heap_object(file, header, address, index));
      return;
    }
    default:
      refuse("its layout is of class " + std::to_string(layout_class) + " (" +
             (layout_class == 2 ? "chunked" : "unknown") + "), which lull never writes");
  }
}

}  // namespace

std::string layout_problem_at(RandomAccessFile& file, std::uint64_t header_address) {
  try {
    FileBytes bytes(file);
    const ObjectHeader header(bytes, base_address(bytes), header_address);
    constexpr unsigned kLayout = 0x08;
    for (const Message& m : header.messages()) {
      if (m.type == kLayout) check_layout(bytes, header, m);
    }
    return {};
  } catch (const Refused& refused) {
    return refused.what;
  }
}

std::string dataset_layout_problem(hid_t group, const std::string& name, RandomAccessFile& file,
                                   const std::string& subject) {
  H5O_info_t info{};
  if (H5Oget_info_by_name2(group, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);
    throw Error(ErrorCode::corrupt, subject + ": " + name + " has an unreadable object header");
  }
  return layout_problem_at(file, info.addr);
}

}  // namespace lull::detail
