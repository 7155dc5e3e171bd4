// `lull verify` and `lull inspect` as a user runs them (the real binary, a
// child process with a time limit) on snapshots that lie about themselves: a
// FIFO where the root or a shard file should be (they must neither hang nor
// stay quiet: exit 1 naming the FIFO), a renamed step directory, a symbolic
// link to another job's snapshot, and snapshots of another job (inspect
// shows the job; verify --job refuses it, naming both jobs), and a root file
// HDF5 cannot close once it failed to read it (the exit code stays 1, not
// the SIGSEGV of HDF5's exit cleanup).
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lull/checkpoint.h"
#include "support/gtest_helpers.h"
#include "support/snapshot_editor.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

namespace lull::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kLull = LULL_BIN;

// A snapshot of `step` by job `job` at two ranks, as the runtime writes it.
void commit_of_job(const SnapshotStore& store, std::uint64_t step, const std::string& job) {
  SnapshotSpec spec;
  spec.tensors = {{"w", DType::f32, {8, 4}, 0}};
  spec.blobs = {{"rng", 16}};
  std::vector<ShardReport> reports;
  for (int rank = 0; rank < 2; ++rank) {
    SnapshotWriter writer = store.writer(step, rank, 2);
    write_rank(writer, spec, step, rank, 2);
    writer.set_metadata(kJobMetadataKey, job);
    reports.push_back(writer.finish());
  }
  store.commit(step, reports);
}

struct LullRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::string context;
};

// Runs `lull ARGS...`, which must end within 20 s (a FIFO opened would block it).
LullRun lull(std::vector<std::string> args) {
  args.insert(args.begin(), kLull);
  ChildProcess child(args);
  const auto start = std::chrono::steady_clock::now();
  const int status = child.wait(20s);
  LullRun run{WIFEXITED(status) ? WEXITSTATUS(status) : -1, child.out(), child.err(),
          child.command() + " (" + describe_status(status) + ")\n--- stdout\n" + child.out() + "--- stderr\n" +
              child.err()};
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s) << "killed after 20 s: " << run.context;
  return run;
}

class SnapshotTools : public ::testing::Test {
 protected:
  SnapshotTools() : scratch_("snapshot-tools"), job_(scratch_.path() / "resnet") {
    StoreOptions options;
    options.keep = 3;
    store_.emplace(job_, options);
    commit_of_job(*store_, 1, "resnet");
    commit_of_job(*store_, 2, "resnet");
  }

  fs::path step(std::uint64_t s) const { return job_ / step_dir_name(s); }

  void replace_with_fifo(const fs::path& file) {
    fs::remove(file);
    ASSERT_EQ(::mkfifo(file.c_str(), 0600), 0) << file;
  }

  ScratchDir scratch_;
  fs::path job_;
  std::optional<SnapshotStore> store_;
};

TEST_F(SnapshotTools, FifoAsRootFileIsReportedAndExitsOne) {
  replace_with_fifo(step(2) / "root.h5");
  for (const fs::path& path : {job_, step(2), step(2) / "root.h5"}) {
    const LullRun verify = lull({"verify", path.string()});
    EXPECT_EQ(verify.exit_code, 1) << verify.context;
    EXPECT_TRUE(contains(verify.err, (step(2) / "root.h5").string() + " is a FIFO")) << verify.context;
  }
  const LullRun one = lull({"inspect", step(2).string()});
  EXPECT_EQ(one.exit_code, 1) << one.context;
  EXPECT_TRUE(contains(one.err, "is a FIFO")) << one.context;
  // The job directory: inspect shows what a restore would use, step 1, and
  // lists step 2 as rejected with the reason.
  const LullRun job = lull({"inspect", job_.string()});
  EXPECT_EQ(job.exit_code, 0) << job.context;
  EXPECT_TRUE(contains(job.out, "rejected       step 2: ")) << job.context;
  EXPECT_TRUE(contains(job.out, "is a FIFO")) << job.context;
  EXPECT_TRUE(contains(job.out, "step           1\n")) << job.context;
}

TEST_F(SnapshotTools, FifoAsShardFileIsReportedAndExitsOne) {
  replace_with_fifo(step(2) / "shard-00001.h5");
  const LullRun verify = lull({"verify", job_.string()});
  EXPECT_EQ(verify.exit_code, 1) << verify.context;
  EXPECT_TRUE(contains(verify.err, "shard file " + (step(2) / "shard-00001.h5").string() + " of rank 1 is a FIFO"))
      << verify.context;
  const LullRun inspect = lull({"inspect", "--json", step(2).string()});
  EXPECT_EQ(inspect.exit_code, 1) << inspect.context;
  EXPECT_TRUE(contains(inspect.err, "FIFO")) << inspect.context;
  // Every snapshot unusable: inspect of the job directory says why, exit 1.
  replace_with_fifo(step(1) / "root.h5");
  const LullRun none = lull({"inspect", job_.string()});
  EXPECT_EQ(none.exit_code, 1) << none.context;
  EXPECT_TRUE(contains(none.err, "no usable snapshot")) << none.context;
  EXPECT_TRUE(contains(none.err, "FIFO")) << none.context;
}

TEST_F(SnapshotTools, RenamedStepDirectoryFailsVerification) {
  fs::rename(step(2), step(7));
  const LullRun verify = lull({"verify", job_.string()});
  EXPECT_EQ(verify.exit_code, 1) << verify.context;
  EXPECT_TRUE(contains(verify.err, "step 7")) << verify.context;
  EXPECT_TRUE(contains(verify.err, "is named for step 7 but holds the snapshot of step 2")) << verify.context;
  const LullRun all = lull({"verify", "--all", job_.string()});
  EXPECT_EQ(all.exit_code, 1) << all.context;
  EXPECT_TRUE(contains(all.out, "ok: step 1")) << all.context;
}

TEST_F(SnapshotTools, SymbolicLinkToAnotherJobsSnapshotFailsVerification) {
  const SnapshotStore other(scratch_.path() / "bert");
  commit_of_job(other, 9, "bert");
  fs::create_directory_symlink(snapshot_dir(other, 9), step(9));
  const LullRun verify = lull({"verify", job_.string()});
  EXPECT_EQ(verify.exit_code, 1) << verify.context;
  EXPECT_TRUE(contains(verify.err, "symbolic link")) << verify.context;
  const LullRun inspect = lull({"inspect", "--json", job_.string()});
  EXPECT_EQ(inspect.exit_code, 0) << inspect.context;
  const auto json = nlohmann::json::parse(inspect.out);
  EXPECT_EQ(json["step"], 2);
  ASSERT_EQ(json["rejected"].size(), 1u) << inspect.out;
  EXPECT_EQ(json["rejected"][0]["step"], 9);
}

TEST_F(SnapshotTools, RootFileHdf5CannotCloseStillExitsOne) {
  damage_external_file_list(step(2) / "root.h5", "/tensors/w", DType::f32, {8, 4});
  for (const char* command : {"verify", "inspect"}) {
    const LullRun run = lull({command, step(2).string()});
    EXPECT_EQ(run.exit_code, 1) << run.context;
    EXPECT_TRUE(contains(run.err, "/tensors/w")) << run.context;
  }
  const LullRun job = lull({"verify", "--all", job_.string()});
  EXPECT_EQ(job.exit_code, 1) << job.context;
  EXPECT_TRUE(contains(job.out, "ok: step 1")) << job.context;
}

TEST_F(SnapshotTools, InspectShowsTheJobAndVerifyJobRefusesAnotherJobs) {
  const LullRun text = lull({"inspect", step(2).string()});
  EXPECT_EQ(text.exit_code, 0) << text.context;
  EXPECT_TRUE(contains(text.out, "job            resnet\n")) << text.context;
  const LullRun json = lull({"inspect", "--json", step(2).string()});
  EXPECT_EQ(nlohmann::json::parse(json.out)["job"], "resnet") << json.context;

  const LullRun same = lull({"verify", "--job", "resnet", job_.string()});
  EXPECT_EQ(same.exit_code, 0) << same.context;
  for (const fs::path& path : {job_, step(2)}) {
    const LullRun other = lull({"verify", "--job", "bert", path.string()});
    EXPECT_EQ(other.exit_code, 1) << other.context;
    EXPECT_TRUE(contains(other.err, "was written by job \"resnet\", not by job \"bert\"")) << other.context;
  }
}

}  // namespace
}  // namespace lull::test
