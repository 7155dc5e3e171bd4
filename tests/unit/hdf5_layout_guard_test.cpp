// White-box: checkpoint/src/hdf5_layout_guard.h. HDF5 1.10.8 decodes a
// dataset's layout on open trusting the counts and lengths it reads; a
// crafted virtual mapping is read past its heap object (the input the
// snapshot_root_file fuzz target found, in its corpus, killed it with
// SIGSEGV). Shown here: lull refuses that input and each class of damage
// behind it with a message naming what is wrong, and
// accepts every layout lull and HDF5 write, including the selection
// encoding HDF5 uses for offsets past 2^32.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "hdf5_layout_guard.h"
#include "lull/checkpoint.h"
#include "support/gtest_helpers.h"
#include "support/snapshot_editor.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

// HDF5's checksum of its metadata (Jenkins' lookup3), exported by the
// library though not in its public headers: to re-sign an object header
// edited below, as anyone crafting a file can.
extern "C" std::uint32_t H5_checksum_metadata(const void* data, std::size_t length, std::uint32_t initval);

namespace lull::test {
namespace {

using lull::detail::dataset_layout_problem;
using lull::detail::layout_problem_at;

const std::filesystem::path kFuzzFound =
    std::filesystem::path(LULL_SOURCE_DIR) / "tests/fuzz/corpus/snapshot_root_file/vds_mapping_hdf5_reads_past.h5";

std::uint64_t header_address(const std::filesystem::path& file, const std::string& object) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  H5O_info_t info{};
  const herr_t status = H5Oget_info_by_name2(f, object.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT);
  H5Fclose(f);
  if (status < 0) throw std::runtime_error("no object " + object + " in " + file.string());
  return info.addr;
}

// The guard's verdict on `object` of `file`.
std::string problem_of(const std::filesystem::path& file, const std::string& object) {
  auto bytes = FileSystem::posix().open_file(file, /*writable=*/false);
  return layout_problem_at(*bytes, header_address(file, object));
}

void patch(const std::filesystem::path& file, std::uint64_t at, const void* bytes, std::size_t size) {
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(at));
  f.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(size));
  if (!f) throw std::runtime_error("cannot patch " + file.string());
}

void patch_u32(const std::filesystem::path& file, std::uint64_t at, std::uint32_t value) {
  patch(file, at, &value, sizeof value);  // little-endian, as HDF5 stores it
}

// Recomputes the checksum of the version-2 object header at `address`
// (chunk 0: prefix and messages, then 4 bytes of checksum).
void resign_object_header(const std::filesystem::path& file, std::uint64_t address) {
  const std::string bytes = read_whole_file(file);
  ASSERT_EQ(bytes.substr(address, 4), "OHDR");
  const auto flags = static_cast<unsigned char>(bytes[address + 5]);
  std::uint64_t at = address + 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0);
  std::uint64_t size = 0;
  const unsigned width = 1u << (flags & 0x03);
  std::memcpy(&size, bytes.data() + at, width);
  at += width + size;
  patch_u32(file, at, H5_checksum_metadata(bytes.data() + address, at - address, 0));
}

class LayoutGuard : public ::testing::Test {
 protected:
  LayoutGuard() : scratch_("layout-guard"), store_(scratch_.path() / "store") {
    spec_.tensors = {{"weights", DType::f32, {8, 4}, 0}, {"bias", DType::f64, {3}, -1}};
    spec_.blobs = {{"rng", 16}};
    store_.commit(1, write_all_ranks(store_, spec_, 1, 2));
    dir_ = snapshot_dir(store_, 1);
    root_ = dir_ / "root.h5";
  }

  // Where the first piece of /tensors/weights' mapping has its view
  // selection: after the piece's two names and its 16-byte "all" source
  // selection. Its fields: type, version, reserved, length, rank, boxes.
  std::uint64_t view_selection() const {
    const std::string bytes = read_whole_file(root_);
    const std::string names = std::string("shard-00000.h5") + '\0' + "/tensors/weights" + '\0';
    const auto at = bytes.find(names);
    if (at == std::string::npos || bytes.find(names, at + 1) != std::string::npos) {
      throw std::runtime_error("the first piece's names are not in " + root_.string() + " once");
    }
    return at + names.size() + 16;
  }

  std::string refusal() {
    try {
      SnapshotReader::open(dir_);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      return e.message();
    }
    ADD_FAILURE() << "the damaged snapshot was opened";
    return {};
  }

  ScratchDir scratch_;
  SnapshotStore store_;
  SnapshotSpec spec_;
  std::filesystem::path dir_;
  std::filesystem::path root_;
};

TEST_F(LayoutGuard, AcceptsEveryLayoutLullWrites) {
  for (const char* object : {"/lull/manifest", "/tensors/weights"}) {
    EXPECT_EQ(problem_of(root_, object), "") << object;
  }
  EXPECT_EQ(problem_of(dir_ / "shard-00000.h5", "/tensors/weights"), "");
  auto reader = SnapshotReader::open(dir_);
  EXPECT_EQ(join_lines(check_snapshot(reader, spec_, 1)), "");
}

TEST_F(LayoutGuard, AcceptsTheSelectionHdf5WritesForOffsetsPast4GiB) {
  // A virtual dataset of 2^34 bytes whose piece starts at 2^33: HDF5 stores
  // that box with 8-byte numbers (hyperslab encoding version 2).
  const auto file = scratch_.path() / "large.h5";
  const hsize_t whole = hsize_t{1} << 34, half = hsize_t{1} << 33;
  const hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t source = H5Screate_simple(1, &half, nullptr);
  const hid_t view = H5Screate_simple(1, &whole, nullptr);
  const hsize_t one = 1;
  ASSERT_GE(H5Sselect_hyperslab(view, H5S_SELECT_SET, &half, nullptr, &one, &half), 0);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  ASSERT_GE(H5Pset_virtual(dcpl, view, "elsewhere.h5", "/d", source), 0);
  const hid_t d = H5Dcreate2(f, "v", H5T_NATIVE_UINT8, view, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ASSERT_GE(d, 0);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(view);
  H5Sclose(source);
  H5Fclose(f);
  const std::string bytes = read_whole_file(file);
  const std::string v2_box = std::string("\x02\0\0\0\x02\0\0\0", 8);  // hyperslab, version 2
  ASSERT_NE(bytes.find(v2_box), std::string::npos) << "HDF5 did not use the 8-byte encoding";
  EXPECT_EQ(problem_of(file, "/v"), "");
}

TEST_F(LayoutGuard, TheInputTheFuzzerFoundIsRefused) {
  // Under AddressSanitizer (the fuzz build) HDF5 reads past the heap object
  // and dies with SIGSEGV; without it, the read past goes unnoticed or
  // fails depending on what lies beyond. Either way lull must not open it.
  ASSERT_TRUE(std::filesystem::is_regular_file(kFuzzFound)) << kFuzzFound;
  const std::string problem = problem_of(kFuzzFound, "/tensors/w");
  EXPECT_TRUE(contains(problem, "its virtual mapping's piece 0 of 2's view selection")) << problem;
}

TEST_F(LayoutGuard, ABoxCountPastTheMappingIsRefused) {
  patch_u32(root_, view_selection() + 20, 0x7fffffff);
  const std::string message = refusal();
  EXPECT_TRUE(contains(message, "/tensors/weights cannot be opened safely")) << message;
  EXPECT_TRUE(contains(message, "piece 0 of 2's view selection claims 2147483647 boxes")) << message;
}

TEST_F(LayoutGuard, ARankPastHdf5sLimitIsRefused) {
  patch_u32(root_, view_selection() + 16, 33);
  const std::string message = refusal();
  EXPECT_TRUE(contains(message, "view selection has rank 33")) << message;
}

TEST_F(LayoutGuard, APointSelectionIsRefused) {
  patch_u32(root_, view_selection(), 1);
  const std::string message = refusal();
  EXPECT_TRUE(contains(message, "is not a box of the view (type 1 version 1, points)")) << message;
}

TEST_F(LayoutGuard, AMappingPieceCountPastItsBytesIsRefused) {
  // The count follows the block's version byte, 9 bytes before the first
  // piece's file name; the selection of the last counted piece runs out.
  const std::string bytes = read_whole_file(root_);
  const auto names = bytes.find(std::string("shard-00000.h5") + '\0' + "/tensors/weights");
  ASSERT_NE(names, std::string::npos);
  const std::uint64_t pieces = 1'000'000'000;
  patch(root_, names - 8, &pieces, sizeof pieces);
  const std::string message = refusal();
  EXPECT_TRUE(contains(message, "piece 2 of 1000000000's source file name has no end")) << message;
}

TEST_F(LayoutGuard, AHeapIndexWithNoObjectIsRefused) {
  // The virtual layout message: version 4, class 3, heap address, index.
  const std::uint64_t header = header_address(root_, "/tensors/weights");
  const std::string bytes = read_whole_file(root_);
  const auto layout = bytes.find(std::string("\x04\x03", 2), header);
  ASSERT_NE(layout, std::string::npos);
  patch_u32(root_, layout + 10, 4000);
  resign_object_header(root_, header);
  const std::string message = refusal();
  EXPECT_TRUE(contains(message, "has no object 4000")) << message;
}

TEST_F(LayoutGuard, ACompactLayoutLongerThanItsMessageInAShardIsRefused) {
  // Rank 0's shard of /tensors/weights: contiguous (version 4, class 1,
  // address, size) made compact with 65535 bytes in an 18-byte message.
  const auto shard = dir_ / "shard-00000.h5";
  const std::uint64_t header = header_address(shard, "/tensors/weights");
  const std::string bytes = read_whole_file(shard);
  const auto layout = bytes.find(std::string("\x04\x01", 2), header);
  ASSERT_NE(layout, std::string::npos);
  const unsigned char compact[] = {0x04, 0x00, 0xff, 0xff};
  patch(shard, layout, compact, sizeof compact);
  resign_object_header(shard, header);
  auto reader = SnapshotReader::open(dir_);
  std::vector<float> out(32);
  EXPECT_TRUE(throws_error([&] { reader.read_all("weights", DType::f32, out.data()); },
                           ErrorCode::corrupt, "needs 65535 bytes for its compact data"));
}

}  // namespace
}  // namespace lull::test
