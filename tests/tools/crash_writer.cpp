// crash_writer — a snapshot writer for crash-consistency tests.
//
// Loops over steps, resuming after the snapshot open_latest() gives in --dir:
// for each step writes the shards of 4 simulated ranks (tests/support/
// crash_spec.h, contents derived from the step), commits with keep=2 and
// prints "committed <step>" (flushed). The test kills it with SIGKILL at
// random moments, or makes it kill itself before its N-th file-system
// operation (--die-at-op N, through KillingFileSystem), then checks that the
// directory opens to a snapshot at least as new as the last "committed" line
// and that every byte of it equals the formula for its step.
//
//   crash_writer --dir D [--steps N (0 = until killed)] [--big-rows R]
//                [--die-at-op N] [--count-ops] [--trace-ops] [--hold]
//
// --count-ops prints "ops <n>" at the end: how many file-system operations
// the run made (the range of --die-at-op). --hold writes rank 0's shard of
// step newest+100, prints "holding <step>" and waits for stdin to close
// without finishing: a live writer whose pending directory must survive
// remove_leftovers().
//
// Exit status: 0 done, 1 a lull::Error (printed), 2 bad usage.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <unistd.h>

#include "lull/checkpoint.h"
#include "support/crash_spec.h"
#include "support/fault_file_systems.h"

namespace {

struct Options {
  std::string dir;
  std::uint64_t steps = 0;
  std::uint64_t big_rows = 1024;
  std::uint64_t die_at_op = 0;
  bool count_ops = false;
  bool trace_ops = false;
  bool hold = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "crash_writer: " << why
            << "\nusage: crash_writer --dir D [--steps N] [--big-rows R] [--die-at-op N] [--count-ops] "
               "[--trace-ops] [--hold]\n";
  std::exit(2);
}

std::uint64_t number(std::string_view flag, const char* text) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') usage(std::string(flag) + " wants a number, got " + text);
  return value;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(std::string(arg) + " wants a value");
      return argv[++i];
    };
    if (arg == "--dir") o.dir = value();
    else if (arg == "--steps") o.steps = number(arg, value());
    else if (arg == "--big-rows") o.big_rows = number(arg, value());
    else if (arg == "--die-at-op") o.die_at_op = number(arg, value());
    else if (arg == "--count-ops") o.count_ops = true;
    else if (arg == "--trace-ops") o.trace_ops = true;
    else if (arg == "--hold") o.hold = true;
    else usage("unknown argument " + std::string(arg));
  }
  if (o.dir.empty()) usage("--dir is required");
  if (o.big_rows < lull::test::kCrashWorld) usage("--big-rows must be at least 4");
  return o;
}

int hold(const lull::SnapshotStore& store, const lull::test::SnapshotSpec& spec, std::uint64_t step) {
  lull::SnapshotWriter writer = store.writer(step, 0, lull::test::kCrashWorld);
  lull::test::write_rank(writer, spec, step, 0, lull::test::kCrashWorld);
  std::printf("holding %llu\n", static_cast<unsigned long long>(step));
  std::fflush(stdout);
  char c;
  while (::read(0, &c, 1) > 0) {
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  lull::test::KillingFileSystem fs(o.die_at_op, o.trace_ops);
  try {
    lull::StoreOptions store_options;
    store_options.keep = lull::test::kCrashKeep;
    store_options.fs = &fs;
    const lull::SnapshotStore store(o.dir, store_options);
    const auto spec = lull::test::crash_spec(o.big_rows);
    if (o.hold) {
      const auto committed = store.committed();
      // Far ahead of anything committed: other runs may commit meanwhile.
      return hold(store, spec, (committed.empty() ? 0 : committed.front().step) + 100);
    }
    // Resume as a restarted job does: after the snapshot open_latest() gives.
    std::uint64_t step = 1;
    try {
      step = store.open_latest().step() + 1;
    } catch (const lull::Error& e) {
      if (e.code() != lull::ErrorCode::not_found) throw;
    }

    for (std::uint64_t done = 0; o.steps == 0 || done < o.steps; ++done, ++step) {
      const auto reports = lull::test::write_all_ranks(store, spec, step, lull::test::kCrashWorld);
      for (const auto& report : reports) {
        if (!report.ok()) {
          std::fprintf(stderr, "crash_writer: rank %d failed: %s\n", report.rank, report.error.c_str());
          return 1;
        }
      }
      store.commit(step, reports);
      std::printf("committed %llu\n", static_cast<unsigned long long>(step));
      std::fflush(stdout);
    }
    if (o.count_ops) {
      std::printf("ops %llu\n", static_cast<unsigned long long>(fs.operations()));
      std::fflush(stdout);
    }
  } catch (const lull::Error& e) {
    std::fprintf(stderr, "crash_writer: %s error: %s\n", lull::error_code_name(e.code()), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash_writer: %s\n", e.what());
    return 1;
  }
  return 0;
}
