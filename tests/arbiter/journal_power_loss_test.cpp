// The arbiter's journal under a power loss at every step
// (support/durable_state_file_system.h: at the crash, every byte and
// directory entry not yet fsync'd is dropped; kill -9 cannot show this,
// because the page cache outlives the process).
//
// JournalPowerLoss.AppendAtEveryOperation: a journal of a header and three
//   records (one torn line after them, as a crash mid-append leaves); the
//   arbiter reopens it and appends a fourth and a fifth record, and the
//   power fails before each file-system operation of that, in turn, and
//   once after. Replayed after each, the journal holds the three records
//   and then the appended ones up to some point, every one whose append
//   returned included; never fewer, never a torn line inside.
// JournalPowerLoss.CompactionAtEveryOperation: the same journal is
//   compacted (start() with a fresh header replaces it) and a record
//   appended to the new one; after a power loss at every step the journal
//   is either the old one whole or the new one (with the record once its
//   append returned), never missing, empty or headerless.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arbiter_journal.h"
#include "lull/base/log.h"
#include "support/durable_state_file_system.h"
#include "support/gtest_helpers.h"
#include "support/test_process.h"

namespace lull::arbiter {
namespace {

using test::DurableStateFileSystem;
using test::read_whole_file;
using test::write_whole_file;

JournalHeader header(JobId next_job, const std::string& policy) {
  JournalHeader h;
  h.policy_text = policy;
  h.policy_source = "/etc/lull/policy.toml";
  h.slots = 4;
  h.next_job = next_job;
  return h;
}

// A record at `ms` milliseconds since the epoch.
JournalRecord checkpoint(std::int64_t ms, std::uint64_t step) {
  return {TimePoint(std::chrono::milliseconds(ms)), CheckpointRecord{1, step}};
}

std::vector<std::string> lines_of(const std::vector<JournalRecord>& records) {
  std::vector<std::string> lines;
  for (const auto& r : records) lines.push_back(to_json(r).dump());
  return lines;
}

// The journal a restarted arbiter replays, as lines.
struct Replayed {
  std::string header;  // empty: no journal
  std::vector<std::string> records;
};

Replayed replay(const std::filesystem::path& path) {
  const JournalContents contents = ArbiterJournal::read(path);
  Replayed out;
  if (contents.header) out.header = to_json(*contents.header).dump();
  out.records = lines_of(contents.records);
  return out;
}

// True when `prefix` is the start of `whole`.
bool starts_with(const std::vector<std::string>& whole, const std::vector<std::string>& prefix) {
  return prefix.size() <= whole.size() && std::equal(prefix.begin(), prefix.end(), whole.begin());
}

class JournalPowerLoss : public ::testing::Test {
 protected:
  JournalPowerLoss() : scratch_("journal-power-loss") {}

  void TearDown() override { log::set_level(log::Level::warn); }

  void SetUp() override {
    log::set_level(log::Level::error);  // the dead file system's refusals, logged by cleanups, are expected
    // The state before: a header, three records, and a torn line after them.
    base_ = scratch_.path() / "base";
    std::filesystem::create_directory(base_);
    ArbiterJournal journal = ArbiterJournal::start(base_ / "journal.jsonl", header(1, "old policy"));
    for (const auto& r : before_) journal.append(r);
    std::filesystem::path file = base_ / "journal.jsonl";
    write_whole_file(file, read_whole_file(file) + R"({"r":"checkpoint","t":1)");
  }

  // A machine of its own: root/journal.jsonl, a copy of the one before.
  std::filesystem::path fresh_root(const std::string& name) const {
    const auto root = scratch_.path() / name;
    std::filesystem::copy(base_, root, std::filesystem::copy_options::recursive);
    return root;
  }

  // Runs `work` on a fresh machine with the power failing before operation
  // n, for every n of it and once after it; `check` sees the replay and the
  // number of appends that returned.
  template <typename Work, typename Check>
  void at_every_operation(Work&& work, Check&& check) {
    std::uint64_t total = 0;
    {
      const auto root = fresh_root("count");
      DurableStateFileSystem fs(root);
      int returned = 0;
      work(fs, root / "journal.jsonl", returned);
      total = fs.operations();
      std::filesystem::remove_all(root);
    }
    ASSERT_GT(total, 3u);
    std::cout << "[ ops      ] " << total << " file-system operations, a power loss before each" << std::endl;
    for (std::uint64_t n = 1; n <= total + 1 && !HasFailure(); ++n) {
      const auto root = fresh_root("op-" + std::to_string(n));
      DurableStateFileSystem fs(root);
      fs.crash_before_operation(n);
      int returned = 0;
      try {
        work(fs, root / "journal.jsonl", returned);
      } catch (const Error& e) {
        EXPECT_TRUE(fs.crashed()) << "op " << n << ": failed, not for the crash: " << e.what();
      }
      SCOPED_TRACE("power lost before op " + std::to_string(n) + ": " +
                   (fs.crashed() ? fs.trace().back() : std::string("after the last append returned")));
      EXPECT_EQ(fs.crashed(), n <= total) << "the operations differ from the counted run";
      fs.crash();
      check(replay(root / "journal.jsonl"), returned);
      std::filesystem::remove_all(root);
    }
  }

  test::ScratchDir scratch_;
  std::filesystem::path base_;
  const std::vector<JournalRecord> before_{checkpoint(1000, 1), checkpoint(2000, 2), checkpoint(3000, 3)};
  const std::vector<JournalRecord> appended_{checkpoint(4000, 4), checkpoint(5000, 5)};
};

TEST_F(JournalPowerLoss, AppendAtEveryOperation) {
  const std::string old_header = to_json(header(1, "old policy")).dump();
  at_every_operation(
      [&](DurableStateFileSystem& fs, const std::filesystem::path& path, int& returned) {
        const JournalContents contents = ArbiterJournal::read(path, &fs);
        ASSERT_TRUE(contents.torn_tail);
        ArbiterJournal journal = ArbiterJournal::open(path, contents.whole_bytes, &fs);
        for (const auto& r : appended_) {
          journal.append(r);
          ++returned;
        }
      },
      [&](const Replayed& after, int returned) {
        EXPECT_EQ(after.header, old_header);
        std::vector<std::string> all = lines_of(before_);
        for (const auto& line : lines_of(appended_)) all.push_back(line);
        EXPECT_TRUE(starts_with(all, after.records)) << "the replay is not the journal up to some point";
        EXPECT_GE(after.records.size(), before_.size() + static_cast<std::size_t>(returned))
            << "a record that was in the journal, or whose append returned, is lost";
      });
}

TEST_F(JournalPowerLoss, CompactionAtEveryOperation) {
  const std::string old_header = to_json(header(1, "old policy")).dump();
  const std::string new_header = to_json(header(2, "new policy")).dump();
  at_every_operation(
      [&](DurableStateFileSystem& fs, const std::filesystem::path& path, int& returned) {
        ArbiterJournal journal = ArbiterJournal::start(path, header(2, "new policy"), &fs);
        ++returned;
        journal.append(appended_.front());
        ++returned;
      },
      [&](const Replayed& after, int returned) {
        if (after.header == old_header) {
          EXPECT_EQ(returned, 0) << "start() returned, but the old journal came back";
          EXPECT_EQ(after.records, lines_of(before_)) << "the old journal came back, but not whole";
          return;
        }
        ASSERT_EQ(after.header, new_header) << "the journal is neither the old one nor the new one";
        const std::vector<std::string> with_record = lines_of({appended_.front()});
        if (returned == 2) {
          EXPECT_EQ(after.records, with_record);
        } else {
          EXPECT_TRUE(after.records.empty() || after.records == with_record);
        }
      });
}

}  // namespace
}  // namespace lull::arbiter
