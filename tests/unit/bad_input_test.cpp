// Bad input gets a clear lull::Error with the right code, never a crash:
// wrong dtype or a box outside the tensor on read, malformed names and
// shapes on write, files that are not lull snapshots (another HDF5 file, a
// shard file, random bytes, nothing), FIFOs, sockets, directories and links
// to devices where snapshot files should be (refused without blocking).
// Commits that must not happen are in bad_commit_test.cpp.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "lull/checkpoint.h"
#include "support/gtest_helpers.h"
#include "support/pattern.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"
#include "bad_input_fixture.h"

namespace lull::test {
namespace {

// An ordinary HDF5 file with a dataset and an attribute, made with the C API.
void write_foreign_hdf5(const std::filesystem::path& file) {
  const hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const hsize_t dims[2] = {4, 5};
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t group = H5Gcreate2(f, "tensors", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t ds = H5Dcreate2(group, "w", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<float> data(20, 1.5f);
  H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
  const hid_t scalar = H5Screate(H5S_SCALAR);
  const hid_t attr = H5Acreate2(f, "step", H5T_NATIVE_INT64, scalar, H5P_DEFAULT, H5P_DEFAULT);
  const std::int64_t step = 5;
  H5Awrite(attr, H5T_NATIVE_INT64, &step);
  H5Aclose(attr);
  H5Sclose(scalar);
  H5Dclose(ds);
  H5Gclose(group);
  H5Sclose(space);
  H5Fclose(f);
}

void write_random_bytes(const std::filesystem::path& file, std::size_t size) {
  std::mt19937_64 rng(1234);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
  write_whole_file(file, bytes);
}

// ---- reads ----------------------------------------------------------------

TEST_F(BadInput, ReadWithWrongDTypeIsInvalidArgument) {
  SnapshotReader reader = store_.open_latest();
  std::vector<std::byte> out(8 * 6 * 8);
  for (DType wrong : kAllDTypes) {
    if (wrong == DType::f32) continue;
    EXPECT_TRUE(throws_error([&] { reader.read_all("w", wrong, out.data()); }, ErrorCode::invalid_argument))
        << dtype_name(wrong);
  }
  EXPECT_TRUE(throws_error([&] { reader.read("w", DType::i32, {0, 0}, {1, 1}, out.data()); },
                           ErrorCode::invalid_argument));
}

TEST_F(BadInput, ReadOutsideTheTensorIsInvalidArgument) {
  SnapshotReader reader = store_.open_latest();
  std::vector<std::byte> out(8 * 6 * 4 * 4);
  const std::vector<std::pair<Shape, Shape>> boxes = {
      {{0, 0}, {9, 6}},            // too many rows
      {{8, 0}, {1, 1}},            // starts past the end
      {{0, 5}, {1, 2}},            // ends past the end
      {{0, 0}, {8}},               // too few dimensions in extent
      {{0}, {8, 6}},               // too few dimensions in offset
      {{0, 0, 0}, {8, 6, 1}},      // too many
      {{~0ull, 0}, {2, 1}},        // offset + extent overflows
      {{1, 0}, {~0ull, 1}},        // so does this
  };
  for (const auto& [offset, extent] : boxes) {
    EXPECT_TRUE(throws_error([&] { reader.read("w", DType::f32, offset, extent, out.data()); },
                             ErrorCode::invalid_argument))
        << "offset " << shape_string(offset) << " extent " << shape_string(extent);
  }
  // Offset and extent of different lengths are named as given (not read past the shorter one).
  EXPECT_TRUE(throws_error([&] { reader.read("w", DType::f32, {0, 0}, {8}, out.data()); }, ErrorCode::invalid_argument,
                           "offset [0, 0] extent [8]"));
  EXPECT_TRUE(throws_error([&] { reader.read("s", DType::i64, {0}, {1}, out.data()); }, ErrorCode::invalid_argument));
  // Still usable afterwards.
  reader.read("w", DType::f32, {7, 5}, {1, 1}, out.data());
  EXPECT_TRUE(reader.verify().ok());
}

TEST_F(BadInput, MissingTensorOrBlobIsNotFound) {
  SnapshotReader reader = store_.open_latest();
  std::vector<std::byte> out(64);
  EXPECT_TRUE(throws_error([&] { reader.read_all("nope", DType::f32, out.data()); }, ErrorCode::not_found, "nope"));
  EXPECT_TRUE(throws_error([&] { reader.tensor("nope"); }, ErrorCode::not_found, "nope"));
  EXPECT_TRUE(throws_error([&] { reader.read_blob(0, "nope"); }, ErrorCode::not_found, "nope"));
  EXPECT_TRUE(throws_error([&] { reader.read_blob(-1, "rng"); }, ErrorCode::not_found));
  EXPECT_TRUE(throws_error([&] { reader.read_blob(2, "rng"); }, ErrorCode::not_found));
  EXPECT_TRUE(throws_error([&] { store_.open_step(99); }, ErrorCode::not_found));
}

// ---- names and shapes on write --------------------------------------------

TEST_F(BadInput, MalformedNamesAreRejected) {
  const std::vector<std::string> bad = {
      "",        "a/b",      "/abs",     "..",         "a..b",      "../escape", ".",
      "back\\slash", std::string("nul\0byte", 8), "new\nline", "tab\there", "del\x7f", "\x1b[31mred",
      " lead",   "trail ",   std::string(256, 'x'),
  };
  SnapshotWriter writer = store_.writer(2, 0, 1);
  const float value = 1;
  const std::byte byte{1};
  for (const auto& name : bad) {
    EXPECT_TRUE(throws_error([&] { writer.write_tensor(name, DType::f32, {1}, {0}, {1}, &value); },
                             ErrorCode::invalid_argument))
        << "tensor name of " << name.size() << " bytes";
    EXPECT_TRUE(throws_error([&] { writer.write_replicated(name, DType::f32, {1}, &value); },
                             ErrorCode::invalid_argument));
    EXPECT_TRUE(throws_error([&] { writer.write_blob(name, std::span(&byte, 1)); }, ErrorCode::invalid_argument));
    EXPECT_TRUE(throws_error([&] { writer.set_metadata(name, "v"); }, ErrorCode::invalid_argument));
  }
  // The good neighbours of the bad names are fine, and the writer still works.
  writer.write_tensor(std::string(255, 'x'), DType::f32, {1}, {0}, {1}, &value);
  writer.write_tensor("layer1.weight", DType::f32, {1}, {0}, {1}, &value);
  writer.write_tensor("a.b-c_d \xce\xbb", DType::f32, {1}, {0}, {1}, &value);
  writer.write_blob("rng.state", std::span(&byte, 1));
  const ShardReport report = writer.finish();
  EXPECT_TRUE(report.ok());
  store_.commit(2, {report});
  SnapshotReader reader = store_.open_latest();
  EXPECT_TRUE(reader.has_tensor(std::string(255, 'x')));
  EXPECT_TRUE(reader.has_tensor("a.b-c_d \xce\xbb"));
  EXPECT_TRUE(reader.verify().ok());
}

TEST_F(BadInput, MalformedShapesAndBoxesAreRejected) {
  SnapshotWriter writer = store_.writer(2, 0, 2);
  std::vector<std::byte> data(4096);
  struct Case {
    const char* why;
    Shape global, offset, extent;
  };
  const std::vector<Case> cases = {
      {"box past the end", {8, 6}, {4, 0}, {5, 6}},
      {"offset past the end", {8, 6}, {8, 0}, {1, 6}},
      {"offset rank differs", {8, 6}, {0}, {4, 6}},
      {"extent rank differs", {8, 6}, {0, 0}, {4}},
      {"nine dimensions", Shape(9, 1), Shape(9, 0), Shape(9, 1)},
      {"overflowing box", {8, 6}, {~0ull, 0}, {2, 6}},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(throws_error([&] { writer.write_tensor("t", DType::u8, c.global, c.offset, c.extent, data.data()); },
                             ErrorCode::invalid_argument))
        << c.why;
  }
  EXPECT_TRUE(throws_error([&] { writer.write_replicated("r", DType::u8, Shape(9, 1), data.data()); },
                           ErrorCode::invalid_argument));
  writer.write_tensor("t", DType::u8, {8, 6}, {0, 0}, {4, 6}, data.data());
  EXPECT_TRUE(throws_error([&] { writer.write_tensor("t", DType::u8, {8, 6}, {4, 0}, {4, 6}, data.data()); },
                           ErrorCode::invalid_argument, "t"))
      << "a name may be written once";
  EXPECT_TRUE(throws_error([&] { writer.write_blob("b", {}); writer.write_blob("b", {}); },
                           ErrorCode::invalid_argument));
}

TEST_F(BadInput, WriterRankOutOfRangeIsRejected) {
  EXPECT_TRUE(throws_error([&] { store_.writer(2, 2, 2); }, ErrorCode::invalid_argument));
  EXPECT_TRUE(throws_error([&] { store_.writer(2, -1, 2); }, ErrorCode::invalid_argument));
  EXPECT_TRUE(throws_error([&] { store_.writer(2, 0, 0); }, ErrorCode::invalid_argument));
}

// ---- files that are not lull snapshots -------------------------------------

TEST_F(BadInput, ForeignHdf5FileIsCorrupt) {
  const auto dir = plant_fake_snapshot(5, [](const std::filesystem::path& f) { write_foreign_hdf5(f); });
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(dir / "root.h5"); }, ErrorCode::corrupt));
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(dir); }, ErrorCode::corrupt));
  EXPECT_TRUE(throws_error([&] { store_.open_step(5, Verification::structure); }, ErrorCode::corrupt));
  std::vector<RejectedSnapshot> rejected;
  EXPECT_EQ(store_.open_latest(Verification::structure, &rejected).step(), 1u);
  for (const auto& r : rejected) EXPECT_EQ(r.step, 5u) << r.reason;
}

TEST_F(BadInput, RandomBytesNamedRootH5AreCorrupt) {
  const auto dir = plant_fake_snapshot(5, [](const std::filesystem::path& f) { write_random_bytes(f, 100000); });
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(dir / "root.h5"); }, ErrorCode::corrupt));
  EXPECT_TRUE(throws_error([&] { store_.open_step(5); }, ErrorCode::corrupt));
  std::vector<RejectedSnapshot> rejected;
  EXPECT_EQ(store_.open_latest(Verification::full, &rejected).step(), 1u);
  for (const auto& r : rejected) EXPECT_EQ(r.step, 5u) << r.reason;
}

TEST_F(BadInput, RandomBytesWithHdf5SignatureAreCorrupt) {
  const auto dir = plant_fake_snapshot(5, [](const std::filesystem::path& f) {
    write_random_bytes(f, 4096);
    std::string bytes = read_whole_file(f);
    bytes.replace(0, 8, "\x89HDF\r\n\x1a\n", 8);
    write_whole_file(f, bytes);
  });
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(dir / "root.h5"); }, ErrorCode::corrupt));
  EXPECT_EQ(store_.open_latest().step(), 1u);
}

TEST_F(BadInput, EmptyRootFileIsCorrupt) {
  const auto dir = plant_fake_snapshot(5, [](const std::filesystem::path& f) { write_whole_file(f, ""); });
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(dir); }, ErrorCode::corrupt));
  EXPECT_EQ(store_.open_latest().step(), 1u);
}

// ---- files that are not regular files ---------------------------------------
// A FIFO, socket, device or directory where a snapshot file should be: opening
// a FIFO blocks until someone writes to it, a device reads forever. Each check
// runs in a child process killed when it hangs, so a hang is a clear failure.

// `check` (returning "" when all is well) finishes within 20 s.
void expect_prompt(const std::function<std::string()>& check) {
  const ChildOutcome outcome = run_in_child(check, std::chrono::seconds(20));
  EXPECT_TRUE(outcome.finished) << "still running after " << outcome.seconds << " s: something opened a FIFO";
  EXPECT_EQ(outcome.report, "");
}

// "" when `f` throws Error(corrupt) naming each needle, else what happened.
template <typename F, typename... Needles>
std::string corrupt_naming(F&& f, const Needles&... needles) {
  const ::testing::AssertionResult result = throws_error(std::forward<F>(f), ErrorCode::corrupt, needles...);
  return result ? std::string() : std::string(result.message());
}

// "" when open_latest() at both levels gives step 1, passing over `step`
// for a reason that names `needle`.
std::string falls_back_to_step_1(const SnapshotStore& store, std::uint64_t step, const std::string& needle) {
  for (Verification v : {Verification::structure, Verification::full}) {
    std::vector<RejectedSnapshot> rejected;
    const std::uint64_t got = store.open_latest(v, &rejected).step();
    if (got != 1) return "open_latest gave step " + std::to_string(got);
    if (rejected.size() != 1 || rejected[0].step != step || !contains(rejected[0].reason, needle)) {
      return "the rejections do not name step " + std::to_string(step) + " and \"" + needle + "\"";
    }
  }
  return {};
}

void make_fifo(const std::filesystem::path& path) { ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << path; }

TEST_F(BadInput, FifoAsRootFileIsRefusedWithoutBlocking) {
  const auto dir = plant_fake_snapshot(5, [](const std::filesystem::path& f) { make_fifo(f); });
  expect_prompt([&] { return corrupt_naming([&] { SnapshotReader::open(dir); }, "root.h5", "is a FIFO"); });
  expect_prompt([&] { return corrupt_naming([&] { SnapshotReader::open(dir / "root.h5"); }, "is a FIFO"); });
  expect_prompt([&] { return falls_back_to_step_1(store_, 5, "FIFO"); });
}

TEST_F(BadInput, FifoAsShardFileIsRefusedWithoutBlocking) {
  store_.commit(2, write_all_ranks(store_, small_spec(), 2, 2));
  const auto dir = snapshot_dir(store_, 2);
  std::filesystem::remove(dir / "shard-00001.h5");
  make_fifo(dir / "shard-00001.h5");
  expect_prompt([&] { return corrupt_naming([&] { SnapshotReader::open(dir); }, "shard-00001.h5", "rank 1", "FIFO"); });
  expect_prompt([&] { return falls_back_to_step_1(store_, 2, "FIFO"); });
}

TEST_F(BadInput, SocketAsShardFileIsRefused) {
  store_.commit(2, write_all_ranks(store_, small_spec(), 2, 2));
  const auto shard = snapshot_dir(store_, 2) / "shard-00000.h5";
  std::filesystem::remove(shard);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(shard.string().size(), sizeof address.sun_path);
  std::strcpy(address.sun_path, shard.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  expect_prompt([&] { return corrupt_naming([&] { SnapshotReader::open(snapshot_dir(store_, 2)); }, "socket"); });
  ::close(fd);
}

TEST_F(BadInput, FifoAsStepDirectoryIsRefused) {
  make_fifo(store_.dir() / step_dir_name(9));
  ASSERT_EQ(store_.committed().size(), 2u);  // listed by name, refused when opened
  expect_prompt([&] { return falls_back_to_step_1(store_, 9, "FIFO"); });
}

TEST_F(BadInput, DirectoryAsRootFileAndLinkToADeviceAreRefused) {
  const auto dir = plant_fake_snapshot(5, [](const std::filesystem::path& f) { std::filesystem::create_directory(f); });
  expect_prompt([&] { return corrupt_naming([&] { SnapshotReader::open(dir); }, "root.h5", "is a directory"); });
  std::filesystem::remove(dir / "root.h5");
  std::filesystem::create_symlink("/dev/zero", dir / "root.h5");
  expect_prompt([&] { return corrupt_naming([&] { SnapshotReader::open(dir); }, "symbolic link"); });
  expect_prompt([&] { return falls_back_to_step_1(store_, 5, "symbolic link"); });
}

TEST_F(BadInput, FifoAsLatestBlocksNeitherReadersNorTheNextCommit) {
  std::filesystem::remove(store_.dir() / "LATEST");
  make_fifo(store_.dir() / "LATEST");
  expect_prompt([&]() -> std::string {
    if (store_.open_latest().step() != 1) return "open_latest did not give step 1";
    store_.commit(2, write_all_ranks(store_, small_spec(), 2, 2));
    return store_.open_latest().step() == 2 ? "" : "the commit after it is not the latest";
  });
}

TEST_F(BadInput, ShardFileOpenedAsSnapshotIsCorrupt) {
  const auto dir = snapshot_dir(store_, 1);
  for (const auto& name : names_in(dir)) {
    if (name == "root.h5" || name.size() < 3 || name.substr(name.size() - 3) != ".h5") continue;
    EXPECT_TRUE(throws_error([&] { SnapshotReader::open(dir / name); }, ErrorCode::corrupt)) << name;
  }
}

TEST_F(BadInput, MissingPathsAreNotFound) {
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(scratch_.path() / "no-such-dir"); }, ErrorCode::not_found));
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(scratch_.path() / "no-such.h5"); }, ErrorCode::not_found));
  StoreOptions no_create;
  no_create.create = false;
  EXPECT_TRUE(throws_error([&] { SnapshotStore(scratch_.path() / "missing", no_create); }, ErrorCode::not_found));
  const SnapshotStore empty(scratch_.path() / "empty");
  EXPECT_TRUE(empty.committed().empty());
  EXPECT_TRUE(throws_error([&] { empty.open_latest(); }, ErrorCode::not_found));
}

TEST_F(BadInput, MalformedReportJsonIsInvalidArgument) {
  for (const char* json : {"", "{", "[]", "null", "42", "{\"step\": \"x\"}",
                           "{\"tensors\": [{\"dtype\": \"f128\"}]}", "\xff\xfe", "{\"step\": 1e99999}"}) {
    EXPECT_TRUE(throws_error([&] { ShardReport::from_json(json); }, ErrorCode::invalid_argument)) << json;
  }
}

}  // namespace
}  // namespace lull::test
