// Misuse of lull::Runtime that would lose data or go unnoticed is refused,
// on every rank, with a message a C or Python caller understands too (no
// C++ type or member names). Real mpirun, real snapshot directories.
//
//   mpirun -np 2 runtime_misuse_test
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>
#include <functional>
#include <filesystem>
#include <string>
#include <vector>

#include "lull/checkpoint/snapshot_store.h"
#include "lull/runtime.h"
#include "support/gtest_helpers.h"

namespace lull {
namespace {

using test::contains;
using test::throws_error;

// A snapshot directory every rank names: rank 0 makes it, all learn its path.
class SharedScratch {
 public:
  explicit SharedScratch(const char* label) {
    std::string path;
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
      std::string pattern = (std::filesystem::temp_directory_path() / (std::string("lull-") + label + "-XXXXXX")).string();
      if (::mkdtemp(pattern.data()) == nullptr) std::abort();
      path = pattern;
    }
    int length = static_cast<int>(path.size());
    MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
    path.resize(static_cast<std::size_t>(length));
    MPI_Bcast(path.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
    root_ = path;
  }
  ~SharedScratch() {
    MPI_Barrier(MPI_COMM_WORLD);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    std::error_code ignored;
    if (rank == 0) std::filesystem::remove_all(root_, ignored);
  }
  std::filesystem::path ckpt() const { return root_ / "ckpt"; }

 private:
  std::filesystem::path root_;
};

RuntimeOptions options_for(const std::filesystem::path& ckpt, int keep = 2) {
  RuntimeOptions options;
  options.job = "misuse";
  options.ckpt_dir = ckpt;
  options.keep = keep;
  return options;
}

std::vector<std::uint64_t> committed_steps(const std::filesystem::path& ckpt) {
  StoreOptions read_only;
  read_only.create = false;
  std::vector<std::uint64_t> steps;
  for (const auto& e : SnapshotStore(ckpt, read_only).committed()) steps.push_back(e.step);
  return steps;
}

// What no message may show a C or Python caller.
void expect_no_cxx_names(const std::string& message) {
  for (const char* cxx : {"RuntimeOptions", "::", "restore()", "protect*", "end_step()", "std::"}) {
    EXPECT_FALSE(contains(message, cxx)) << "\"" << cxx << "\" in: " << message;
  }
}

std::string message_of(auto&& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A program that commits the snapshot of step 500.
void commit_step_500(const std::filesystem::path& ckpt) {
  float w[4] = {1, 2, 3, 4};
  Runtime rt(options_for(ckpt));
  rt.protect_replicated("w", DType::f32, {4}, w);
  ASSERT_EQ(rt.restore(), 0u);
  rt.checkpoint(500);
}

TEST(Misuse, SavingWithoutRestoringWhileSnapshotsExistIsRefused) {
  SharedScratch scratch("misuse-restore-first");
  commit_step_500(scratch.ckpt());

  float w[4] = {0, 0, 0, 0};
  {
    Runtime rt(options_for(scratch.ckpt(), 1));
    rt.protect_replicated("w", DType::f32, {4}, w);
    for (auto save : {std::function<void()>([&] { rt.end_step(1); }), std::function<void()>([&] { rt.checkpoint(1); }),
                      std::function<void()>([&] { rt.finish(1); })}) {
      EXPECT_TRUE(throws_error(save, ErrorCode::invalid_argument, "LULL_CKPT_DIR", "holds snapshot step 500",
                               "without restoring it first", "restore before the first step",
                               "continues from step 500"));
      expect_no_cxx_names(message_of(save));
    }
  }
  // Nothing was written: step 500 is still the job's latest, and it resumes.
  EXPECT_EQ(committed_steps(scratch.ckpt()), std::vector<std::uint64_t>{500});
  Runtime rt(options_for(scratch.ckpt()));
  rt.protect_replicated("w", DType::f32, {4}, w);
  EXPECT_EQ(rt.restore(), 500u);
  EXPECT_EQ(w[3], 4.0f);
}

TEST(Misuse, ACommitOfALowerStepNeverRemovesAHigherOne) {
  SharedScratch scratch("misuse-retention");
  commit_step_500(scratch.ckpt());
  float w[4] = {0, 0, 0, 0};
  {
    // keep = 1: retention keeps only the snapshot just committed among
    // those of lower steps; step 500 is not one of them.
    Runtime rt(options_for(scratch.ckpt(), 1));
    rt.protect_replicated("w", DType::f32, {4}, w);
    ASSERT_EQ(rt.restore(), 500u);
    w[0] = 7;
    rt.checkpoint(1);  // a program that counts its steps from 1 again
    rt.checkpoint(2);
  }
  EXPECT_EQ(committed_steps(scratch.ckpt()), (std::vector<std::uint64_t>{500, 2}));
  Runtime rt(options_for(scratch.ckpt()));
  rt.protect_replicated("w", DType::f32, {4}, w);
  EXPECT_EQ(rt.restore(), 500u) << "the work of step 500 was lost";
  EXPECT_EQ(w[0], 1.0f);
}

TEST(Misuse, ProtectingAfterTheRestoreOrTheFirstStepIsRefused) {
  SharedScratch scratch("misuse-protect-late");
  float w[4] = {1, 2, 3, 4};
  std::uint64_t counter = 0;
  {
    Runtime rt(options_for(scratch.ckpt()));
    rt.protect_replicated("w", DType::f32, {4}, w);
    ASSERT_EQ(rt.restore(), 0u);
    const auto late_tensor = [&] { rt.protect_replicated("late", DType::f32, {4}, w); };
    const auto late_bytes = [&] { rt.protect_bytes("counter", &counter, sizeof counter); };
    EXPECT_TRUE(throws_error(late_tensor, ErrorCode::invalid_argument, "\"late\" is protected after the restore",
                             "protect all state before restoring"));
    EXPECT_TRUE(throws_error(late_bytes, ErrorCode::invalid_argument, "\"counter\" is protected after the restore"));
    expect_no_cxx_names(message_of(late_tensor));
    EXPECT_TRUE(throws_error([&] { rt.restore(); }, ErrorCode::invalid_argument, "restored a second time"));
    EXPECT_EQ(rt.end_step(1), StepDecision::proceed);
    EXPECT_EQ(rt.finish(1), kExitFinished);
  }
  {
    // Without any restore (a program that never resumes): after the first step.
    SharedScratch fresh("misuse-protect-after-step");
    Runtime rt(options_for(fresh.ckpt()));
    rt.protect_replicated("w", DType::f32, {4}, w);
    EXPECT_EQ(rt.end_step(1), StepDecision::proceed);
    EXPECT_TRUE(throws_error([&] { rt.protect_bytes("counter", &counter, sizeof counter); },
                             ErrorCode::invalid_argument, "\"counter\" is protected after the first step ended",
                             "protect all state before the first step"));
    EXPECT_TRUE(throws_error([&] { rt.restore(); }, ErrorCode::invalid_argument,
                             "the restore comes after the first step ended"));
    EXPECT_EQ(rt.finish(1), kExitFinished);
  }
}

TEST(Misuse, AnUnsupportedElementTypeIsRefused) {
  SharedScratch scratch("misuse-dtype");
  float w[4] = {};
  Runtime rt(options_for(scratch.ckpt()));
  const auto bad = [&] { rt.protect_replicated("w", static_cast<DType>(42), {4}, w); };
  EXPECT_TRUE(throws_error(bad, ErrorCode::invalid_argument, "tensor \"w\"", "unsupported element type (number 42)",
                           "f16, bf16, f32, f64, i8, u8, i32, i64 and bool"));
  expect_no_cxx_names(message_of(bad));
  // The runtime still works after the refusal.
  rt.protect_replicated("w", DType::f32, {4}, w);
  EXPECT_EQ(rt.restore(), 0u);
}

TEST(Misuse, NoSnapshotDirectoryNamesTheSetting) {
  const auto open = [] { Runtime rt(RuntimeOptions{}); };
  EXPECT_TRUE(throws_error(open, ErrorCode::invalid_argument, "no snapshot directory", "LULL_CKPT_DIR"));
  expect_no_cxx_names(message_of(open));
}

}  // namespace
}  // namespace lull
