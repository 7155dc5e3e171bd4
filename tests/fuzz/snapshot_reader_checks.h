#pragma once
// What the snapshot fuzz targets share: a real committed snapshot made once
// per process (2 ranks: a tensor split over both, a scalar, an empty tensor,
// a replicated one, a name with '%', blobs of 16 and 0 bytes), whose root
// file each input replaces, and the properties every root file must keep
// when read through the one check every reader makes (SnapshotReader::open,
// as a restore, `lull verify` and `lull inspect` do):
//   - open() either succeeds or throws lull::Error (corrupt, not_found,
//     unsupported or hdf5) naming the snapshot's directory; nothing else
//     escapes, nothing hangs, nothing allocates past the files' real sizes;
//   - an open snapshot's bytes fit in its shard files;
//   - verify() never throws, and it finds no problem exactly when reading
//     every tensor and blob succeeds (the tools and a restore choose alike);
//   - a read either succeeds or throws Error(corrupt) naming the step;
//   - every HDF5 dataset, group, type and attribute opened is closed again.
// HDF5 1.10.8 itself leaks a few bytes on some error paths of damaged files
// (its own allocations, no lull handle among them): LeakSanitizer is told to
// pass over allocations made inside libhdf5.
#include <hdf5.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "lull/checkpoint.h"

// Read by the sanitizers at start (one translation unit per target includes
// this header, so each is defined once). HDF5 asks malloc for sizes it read
// from the file and handles a null answer, as glibc gives for an impossible
// size; ASan aborts instead unless told to answer null too. (operator new
// still aborts on such a size: lull's own allocations stay checked.)
extern "C" __attribute__((used)) const char* __lsan_default_suppressions() { return "leak:libhdf5\n"; }
extern "C" __attribute__((used)) const char* __asan_default_options() { return "allocator_may_return_null=1"; }

namespace lull::fuzz {

struct FuzzSnapshot {
  std::filesystem::path dir;   // the committed snapshot's directory
  std::filesystem::path root;  // its root.h5, replaced by each input
  std::string root_bytes;      // the root file lull wrote
  std::uint64_t shard_bytes = 0;
};

inline std::string read_bytes(const std::filesystem::path& file) {
  std::string bytes(std::filesystem::file_size(file), '\0');
  std::ifstream in(file, std::ios::binary);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  FUZZ_CHECK(in.good(), "the snapshot's root file could not be read");
  return bytes;
}

// A new file each time (a new inode): HDF5 shares an open file's state with
// any later open of the same inode, and HDF5 1.10.8 cannot close some
// damaged files (an object header left pinned after a failed decode), so
// rewriting the same inode would let one input's file stand in for the next.
inline void write_bytes(const std::filesystem::path& file, const void* data, std::size_t size) {
  std::error_code ignored;
  std::filesystem::remove(file, ignored);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  FUZZ_CHECK(out.good(), "the input could not be written as a root file");
}

// The scratch directory, removed when the process exits normally.
inline std::filesystem::path& fuzz_scratch() {
  static std::filesystem::path scratch;
  return scratch;
}

// Made on first use, in /dev/shm when there is one (the inputs are written
// there at every execution), or in $LULL_FUZZ_SNAPSHOT_DIR, which is kept
// (with pristine-root.h5, the root file lull wrote, to make seeds from).
inline const FuzzSnapshot& fuzz_snapshot() {
  static const FuzzSnapshot snapshot = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    // Every H5Fopen allocates a 0.5 MB metadata cache, beyond HDF5's default
    // free-list limit (64 KB a list): given back to the system and mapped
    // anew at the next open, its page faults were 60% of the time (55
    // executions/s). Kept on the free list instead.
    H5set_free_list_limits(64 << 20, 16 << 20, -1, -1, -1, -1);
    std::filesystem::path scratch;
    if (const char* kept = std::getenv("LULL_FUZZ_SNAPSHOT_DIR")) {
      scratch = kept;
      std::filesystem::create_directories(scratch);
    } else {
      const char* shm = "/dev/shm";
      std::string pattern = (std::filesystem::is_directory(shm) ? std::filesystem::path(shm)
                                                                 : std::filesystem::temp_directory_path()) /
                            "lull-fuzz-snapshot-XXXXXX";
      FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr, "no scratch directory");
      scratch = pattern;
      fuzz_scratch() = scratch;
      std::atexit([] {
        std::error_code ignored;
        std::filesystem::remove_all(fuzz_scratch(), ignored);
      });
    }
    const SnapshotStore store(scratch / "job");
    std::vector<ShardReport> reports;
    for (int rank = 0; rank < 2; ++rank) {
      SnapshotWriter writer = store.writer(1, rank, 2);
      std::vector<float> rows(4 * 4, static_cast<float>(rank + 1));
      const std::uint64_t r = static_cast<std::uint64_t>(rank);
      writer.write_tensor("w", DType::f32, {8, 4}, {4 * r, 0}, {4, 4}, rows.data());
      const std::int64_t scalar = 42;
      writer.write_replicated("s", DType::i64, {}, &scalar);
      writer.write_replicated("p%d", DType::u8, {3}, "abc");
      writer.write_replicated("e", DType::u8, {0, 3}, "");
      const std::vector<std::byte> rng(16, std::byte{static_cast<unsigned char>(rank)});
      writer.write_blob("rng", rng);
      writer.write_blob("none", {});
      writer.set_metadata(kJobMetadataKey, "fuzz");
      reports.push_back(writer.finish());
    }
    store.commit(1, reports);
    FuzzSnapshot made;
    made.dir = store.committed().front().path;
    made.root = made.dir / "root.h5";
    made.root_bytes = read_bytes(made.root);
    std::filesystem::copy_file(made.root, scratch / "pristine-root.h5",
                               std::filesystem::copy_options::overwrite_existing);
    for (const auto& r : reports) made.shard_bytes += r.file_bytes;
    return made;
  }();
  return snapshot;
}

inline void check_reader(const FuzzSnapshot& snapshot);

// The properties above, for the snapshot as it now is on disk; and every
// dataset, group, named type and attribute the reader opened is closed again
// when it is gone. (Files are not counted: HDF5 1.10.8 refuses to close a
// file in which it failed to decode an object header, whatever its caller
// does; such a file stays open until the process ends.)
inline void check_snapshot_reader(const FuzzSnapshot& snapshot) {
  check_reader(snapshot);
  const unsigned objects = H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR;
  FUZZ_CHECK(H5Fget_obj_count(H5F_OBJ_ALL, objects) == 0, "the reader left an HDF5 object open");
}

inline void check_reader(const FuzzSnapshot& snapshot) {
  std::optional<SnapshotReader> reader;
  try {
    reader.emplace(SnapshotReader::open(snapshot.dir));
  } catch (const Error& e) {
    FUZZ_CHECK(e.code() == ErrorCode::corrupt || e.code() == ErrorCode::not_found ||
                   e.code() == ErrorCode::unsupported || e.code() == ErrorCode::hdf5,
               "open() threw an unexpected kind of Error");
    FUZZ_CHECK(e.message().find(snapshot.dir.string()) != std::string::npos,
               "open()'s error does not name the snapshot");
    return;
  }
  FUZZ_CHECK(reader->total_bytes() <= snapshot.shard_bytes, "the snapshot declares more bytes than its files hold");
  const VerifyReport report = reader->verify();
  bool every_read_passed = true;
  auto read = [&](auto&& body) {
    try {
      body();
    } catch (const Error& e) {
      FUZZ_CHECK(e.code() == ErrorCode::corrupt, "a read threw an Error that is not corrupt");
      FUZZ_CHECK(e.message().find("snapshot step") != std::string::npos, "a read's error does not name the step");
      every_read_passed = false;
    }
  };
  for (const TensorInfo& t : reader->tensors()) {
    read([&] {
      std::vector<std::byte> out(t.bytes);
      reader->read_all(t.name, t.dtype, out.data());
    });
  }
  for (const BlobInfo& b : reader->blobs()) read([&] { reader->read_blob(b.rank, b.name); });
  FUZZ_CHECK(report.ok() == every_read_passed, "verify() and the reads a restore makes disagree");
}

}  // namespace lull::fuzz
