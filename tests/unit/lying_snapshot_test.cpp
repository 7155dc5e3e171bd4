// Snapshots that lie about themselves, rewritten as anyone who can write
// the directory could (support/snapshot_editor.h, checksums recomputed): a
// renamed step directory, symbolic links, external links, virtual datasets
// and external storage that lead out of the snapshot (shown never opened,
// with inotify), a global view that disagrees with the manifest, and
// declared sizes far beyond the files' (refused before any allocation, the
// child process's peak memory measured). Every one is refused by the one
// check every reader makes (SnapshotReader::open, so the store's open_step
// a restore uses too), with the object and the reason named.
#include "corruption_fixture.h"

namespace lull::test {
namespace {

// ---- snapshots that lie about themselves ------------------------------------

TEST_F(Corruption, RenamedStepDirectoryIsRefusedEverywhere) {
  // step-…2 renamed step-…5: a restore would report step 5 and load step 2's state.
  const auto renamed = store_->dir() / step_dir_name(5);
  std::filesystem::rename(snapshot_dir(*store_, 2), renamed);
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(renamed); }, ErrorCode::corrupt, "named for step 5",
                           "snapshot of step 2"));
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(renamed / "root.h5"); }, ErrorCode::corrupt, "named for step 5"));
  EXPECT_TRUE(throws_error([&] { store_->open_step(5, Verification::structure); }, ErrorCode::corrupt,
                           "named for step 5"));
  expect_fallback_to_step_1(Verification::structure, "named for step 5", 5);
  expect_fallback_to_step_1(Verification::full, "named for step 5", 5);
  // Copied out under another name, it is the snapshot of step 2 again.
  const auto copy = scratch_.path() / "copy-of-a-snapshot";
  std::filesystem::copy(renamed, copy);
  EXPECT_EQ(SnapshotReader::open(copy).step(), 2u);
}

TEST_F(Corruption, StepNamesOtherThanTheCommittersAreNotSnapshots) {
  std::filesystem::rename(snapshot_dir(*store_, 2), store_->dir() / "step-2");
  std::filesystem::create_directory(store_->dir() / "step-0000000000007");
  std::filesystem::create_directory(store_->dir() / "step-+8");
  ASSERT_EQ(store_->committed().size(), 1u);
  std::vector<RejectedSnapshot> rejected;
  EXPECT_EQ(store_->open_latest(Verification::full, &rejected).step(), 1u);
  EXPECT_TRUE(rejected.empty());
}

TEST_F(Corruption, SymbolicLinkToAnotherJobsSnapshotIsNotFollowed) {
  ScratchDir other_scratch("other-job");
  const SnapshotStore other(other_scratch.path() / "store");
  SnapshotSpec spec;
  spec.tensors = {{"weights", DType::f32, {64, 16}, 1}};
  other.commit(9, write_all_ranks(other, spec, 9, 2));
  const auto theirs = snapshot_dir(other, 9);
  OpenWatch their_root(theirs / "root.h5");
  OpenWatch their_shard(theirs / "shard-00000.h5");
  std::filesystem::create_directory_symlink(theirs, store_->dir() / step_dir_name(9));
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(store_->dir() / step_dir_name(9)); }, ErrorCode::corrupt,
                           "symbolic link"));
  std::vector<RejectedSnapshot> rejected;
  EXPECT_EQ(store_->open_latest(Verification::full, &rejected).step(), 2u);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].step, 9u);
  EXPECT_TRUE(contains(rejected[0].reason, "symbolic link")) << rejected[0].reason;
  EXPECT_FALSE(their_root.opened()) << "the other job's root file was opened";
  EXPECT_FALSE(their_shard.opened()) << "the other job's shard file was opened";
}

TEST_F(Corruption, SymbolicLinksToRootOrShardFilesAreNotFollowed) {
  const auto dir = snapshot_dir(*store_, 2);
  const auto outside = scratch_.path() / "outside";
  std::filesystem::create_directory(outside);
  for (const std::string& name : std::vector<std::string>{"root.h5", shard_files_.at(2).at(1)}) {
    SCOPED_TRACE(name);
    std::filesystem::copy_file(dir / name, outside / name);  // the very same bytes
    std::filesystem::rename(dir / name, outside / (name + ".original"));
    std::filesystem::create_symlink(outside / name, dir / name);
    OpenWatch watch(outside / name);
    expect_refused_everywhere(name, "symbolic link");
    EXPECT_FALSE(watch.opened()) << "the link's target was opened";
    std::filesystem::remove(dir / name);
    std::filesystem::rename(outside / (name + ".original"), dir / name);
  }
  EXPECT_TRUE(store_->open_step(2).verify().ok());
}

TEST_F(Corruption, ExternalLinkOutOfTheSnapshotIsRefused) {
  // /ranks/1/rng is an external link into shard-00001.h5; point it elsewhere.
  const auto outside = scratch_.path() / "passwd";
  write_whole_file(outside, "root:x:0:0:root:/root:/bin/bash\n");
  // A copy of the right shard file beside the snapshot, in the job directory.
  std::filesystem::create_directory(store_->dir() / "elsewhere");
  const auto beside = store_->dir() / "elsewhere" / shard_files_.at(2).at(1);
  std::filesystem::copy_file(shard_file(2, 1), beside);
  OpenWatch outside_watch(outside);
  OpenWatch beside_watch(beside);
  for (const std::string& target :
       std::vector<std::string>{outside.string(), "/etc/passwd", "../elsewhere/" + shard_files_.at(2).at(1)}) {
    SCOPED_TRACE(target);
    replace_with_external_link(root_file(2), "/ranks/1/rng", target, "/ranks/1/rng");
    expect_refused_everywhere("/ranks/1/rng", "links to " + target);
  }
  EXPECT_FALSE(outside_watch.opened());
  EXPECT_FALSE(beside_watch.opened()) << "a file beside the snapshot was opened through its root file";
}

TEST_F(Corruption, VirtualDatasetReadingAFileOutsideTheSnapshotIsRefused) {
  // An outside copy of rank 1's shard file with the very same bytes: the
  // checksums would all pass; the mapping itself is the lie.
  const auto outside = scratch_.path() / "outside-shard.h5";
  std::filesystem::copy_file(shard_file(2, 1), outside);
  OpenWatch watch(outside);
  auto pieces = virtual_pieces(root_file(2), "/tensors/weights");
  ASSERT_EQ(pieces.size(), 2u);
  ASSERT_EQ(pieces[1].file, shard_files_.at(2).at(1));
  pieces[1].file = outside.string();
  replace_with_virtual_dataset(root_file(2), "/tensors/weights", DType::f32, {64, 16}, pieces);
  expect_refused_everywhere("/tensors/weights", "piece 1 reads " + outside.string());
  EXPECT_FALSE(watch.opened()) << "the outside copy was opened";
}

TEST_F(Corruption, ExternalStorageIsRefused) {
  const auto outside = scratch_.path() / "outside.bin";
  write_whole_file(outside, std::string(64 * 16 * 4, '\x01'));
  OpenWatch watch(outside);
  replace_with_external_storage(root_file(2), "/tensors/weights", DType::f32, {64, 16}, outside.string());
  expect_refused_everywhere("/tensors/weights", "external files");
  replace_with_external_storage(root_file(2), "/lull/manifest", DType::u8, {64 * 16 * 4}, outside.string());
  expect_refused_everywhere("manifest", "not stored in the root file itself");
  EXPECT_FALSE(watch.opened());
}

TEST_F(Corruption, GlobalViewThatDisagreesWithTheManifestIsRefusedByRestoresToo) {
  // The two halves of weights swapped between the shard files: h5py would
  // read a scrambled tensor while a restore, reading the shards the manifest
  // names, would read the right one. Both must refuse it.
  auto pieces = virtual_pieces(root_file(2), "/tensors/weights");
  ASSERT_EQ(pieces.size(), 2u);
  std::swap(pieces[0].file, pieces[1].file);
  replace_with_virtual_dataset(root_file(2), "/tensors/weights", DType::f32, {64, 16}, pieces);
  expect_refused_everywhere("/tensors/weights", "piece 0 reads " + shard_files_.at(2).at(1));

  // Another shape in the root file than in the manifest.
  pieces = virtual_pieces(root_file(1), "/tensors/weights");
  replace_with_virtual_dataset(root_file(2), "/tensors/weights", DType::f32, {64, 17}, pieces);
  expect_refused_everywhere("/tensors/weights", "another shape");

  // A plain dataset where the manifest has shards.
  replace_with_external_storage(root_file(2), "/tensors/weights", DType::f32, {64, 16}, "x");
  expect_refused_everywhere("/tensors/weights");
}

TEST_F(Corruption, ObjectsTheManifestDoesNotListAreRefused) {
  replace_with_external_link(root_file(2), "/tensors/extra", shard_files_.at(2).at(0), "/tensors/weights");
  expect_refused_everywhere("/tensors holds extra", "which the manifest does not list");
}

TEST_F(Corruption, ShardDatasetBehindAnExternalLinkIsRefusedByReadsAndVerify) {
  // Inside rank 1's shard file, its blob becomes a link to an outside copy
  // (same bytes): h5py, following the root file's link, would leave the
  // snapshot. The shard file's new size is recorded, so the snapshot opens.
  const auto outside = scratch_.path() / "outside-shard.h5";
  std::filesystem::copy_file(shard_file(2, 1), outside);
  OpenWatch watch(outside);
  move_object(shard_file(2, 1), "/ranks/1/rng", "/ranks/1/rng-was-here");  // its bytes stay where recorded
  replace_with_external_link(shard_file(2, 1), "/ranks/1/rng", outside.string(), "/ranks/1/rng");
  edit_manifest(root_file(2), [&](nlohmann::json& doc) {
    for (auto& f : doc["files"]) {
      if (f["rank"] == 1) f["bytes"] = std::filesystem::file_size(shard_file(2, 1));
    }
  });
  SnapshotReader reader = store_->open_step(2, Verification::structure);  // as a restore opens it
  EXPECT_TRUE(throws_error([&] { reader.read_blob(1, "rng"); }, ErrorCode::corrupt, "rng", "rank 1",
                           "external link"));
  const VerifyReport report = reader.verify();
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_TRUE(contains(report.problems[0].describe(), "/ranks/1/rng is an external link"))
      << report.problems[0].describe();
  expect_fallback_to_step_1(Verification::full, "external link");
  EXPECT_FALSE(watch.opened());
}

// ---- declared sizes ------------------------------------------------------------

TEST_F(Corruption, ManifestDatasetDeclaringHugeSizesIsRefusedBeforeAnyAllocation) {
  for (const std::uint64_t bytes : {std::uint64_t{1} << 40, std::uint64_t{1} << 32}) {
    SCOPED_TRACE(bytes);
    declare_manifest_bytes(root_file(2), bytes);
    ASSERT_LT(std::filesystem::file_size(root_file(2)), 64u * 1024) << "the crafted root file should be small";
    const auto dir = snapshot_dir(*store_, 2);
    const ChildOutcome outcome = run_in_child(
        [&]() -> std::string {
          try {
            SnapshotReader::open(dir);
            return "the snapshot opened";
          } catch (const Error& e) {
            return e.code() == ErrorCode::corrupt && contains(e.what(), "more than the whole root file holds")
                       ? ""
                       : e.what();
          }
        },
        std::chrono::seconds(60));
    ASSERT_TRUE(outcome.finished) << "still running after " << outcome.seconds << " s";
    EXPECT_EQ(outcome.report, "");
    EXPECT_LT(outcome.peak_rss_kib, 256 * 1024) << "the reader allocated what the file declared";
    expect_fallback_to_step_1(Verification::full, "more than the whole root file holds");
  }
}

TEST_F(Corruption, ManifestThatLiesAboutItsObjectsIsRefused) {
  using nlohmann::json;
  struct Case {
    const char* why;
    std::function<void(json&)> edit;
    std::vector<std::string> needles;
  };
  auto blob = [](json& doc, int rank) -> json& {
    for (auto& b : doc["blobs"]) {
      if (b["rank"] == rank) return b;
    }
    throw std::runtime_error("no blob");
  };
  auto tensor = [](json& doc, const std::string& name) -> json& {
    for (auto& t : doc["tensors"]) {
      if (t["name"] == name) return t;
    }
    throw std::runtime_error("no tensor");
  };
  const std::vector<Case> cases = {
      {"a 2^40-byte blob", [&](json& d) { blob(d, 1)["bytes"] = std::uint64_t{1} << 40; },
       {"blob \"rng\" of rank 1", "declares 1099511627776 bytes"}},
      {"a blob past the end of its file", [&](json& d) { blob(d, 1)["file_offset"] = std::uint64_t{1} << 62; },
       {"blob \"rng\" of rank 1", "recorded at bytes"}},
      {"a shape of 2^80 elements",
       [&](json& d) { tensor(d, "weights")["shape"] = json::array({std::uint64_t{1} << 40, std::uint64_t{1} << 40}); },
       {"tensor \"weights\"", "more than 2^64 bytes"}},
      {"a shard's bytes that are not its box's",
       [&](json& d) { tensor(d, "pattern")["shards"][0]["bytes"] = kRowBytes + 1; },
       {"tensor \"pattern\"", "the box holds 4096"}},
      {"shards that do not tile the tensor",
       [&](json& d) { tensor(d, "pattern")["shards"].erase(1); }, {"tensor \"pattern\"", "covered by no rank"}},
      {"a shard file outside the directory",
       [&](json& d) { d["files"][1]["name"] = "../" + step_dir_name(1) + "/shard-00001.h5"; },
       {"is not named shard-00001.h5"}},
      {"a rank outside the world", [&](json& d) { blob(d, 1)["rank"] = 7; }, {"rank 7", "no shard file"}},
      {"a tensor listed twice", [&](json& d) { d["tensors"].push_back(tensor(d, "weights")); },
       {"tensor \"weights\" is listed twice"}},
      {"a name that is a path", [&](json& d) { tensor(d, "weights")["name"] = "../weights"; },
       {"not a valid tensor name"}},
      {"a world of no ranks", [&](json& d) { d["world_size"] = 0; }, {"world_size 0"}},
  };
  const nlohmann::json original = read_manifest(root_file(2));
  for (const auto& c : cases) {
    SCOPED_TRACE(c.why);
    write_manifest(root_file(2), original);
    edit_manifest(root_file(2), c.edit);
    try {
      SnapshotReader::open(snapshot_dir(*store_, 2));
      ADD_FAILURE() << "opened";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      for (const auto& needle : c.needles) EXPECT_TRUE(contains(e.what(), needle)) << "no \"" << needle << "\" in " << e.what();
    }
    expect_fallback_to_step_1(Verification::full, c.needles.front());
  }
}

// Sets the size of the free space entry (object 0) of the root file's
// global heap collection (where its variable-length strings live) to 0.
void empty_the_global_heaps_free_space(const std::filesystem::path& root) {
  std::string bytes = read_whole_file(root);
  const auto at = bytes.find("GCOL");
  ASSERT_NE(at, std::string::npos) << "no global heap in " << root;
  auto u64 = [&](std::size_t i) {
    std::uint64_t v = 0;
    for (std::size_t k = 8; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(bytes[i + k]);
    return v;
  };
  const std::size_t end = at + u64(at + 8);
  for (std::size_t object = at + 16; object + 16 <= end;) {
    const unsigned index = static_cast<unsigned char>(bytes[object]) | static_cast<unsigned char>(bytes[object + 1]) << 8;
    if (index == 0) {
      std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(object + 8), bytes.begin() + static_cast<std::ptrdiff_t>(object + 16), '\0');
      write_whole_file(root, bytes);
      return;
    }
    object += 16 + ((u64(object + 8) + 7) & ~std::uint64_t{7});
  }
  FAIL() << "no free space entry in the global heap of " << root;
}

TEST_F(Corruption, GlobalHeapThatHdf5WouldReadForEverIsRefused) {
  // HDF5 1.10.8 loops for ever on it when it reads any string attribute.
  empty_the_global_heaps_free_space(root_file(2));
  const auto dir = snapshot_dir(*store_, 2);
  const ChildOutcome outcome = run_in_child(
      [&]() -> std::string {
        const ::testing::AssertionResult refused =
            throws_error([&] { SnapshotReader::open(dir); }, ErrorCode::corrupt, "global heap", "for ever");
        return refused ? "" : refused.message();
      },
      std::chrono::seconds(20));
  ASSERT_TRUE(outcome.finished) << "still reading after " << outcome.seconds << " s";
  EXPECT_EQ(outcome.report, "");
  expect_refused_everywhere("global heap");
}

TEST_F(Corruption, ArraysWhereOneValueBelongsAreRefused) {
  // Read into one value, an array would be written past it (ASan: make test-asan).
  replace_attribute_with_array(root_file(2), "/", "format_version", 1000, false);
  expect_refused_everywhere("format_version");
  std::filesystem::remove_all(snapshot_dir(*store_, 2));
  commit_step(2);
  replace_attribute_with_array(root_file(2), "/", "format", 1000, true);
  expect_refused_everywhere("not a lull snapshot");
  std::filesystem::remove_all(snapshot_dir(*store_, 2));
  commit_step(2);
  replace_attribute_with_array(root_file(2), "/lull/manifest", "checksum", 1000, true);
  expect_refused_everywhere("has no checksum");
}

}  // namespace
}  // namespace lull::test
