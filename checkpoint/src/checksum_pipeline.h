#pragma once
// ChecksumPipeline — a thread that checksums byte ranges in the order they
// are handed to it, so that the caller reads or writes the next range
// meanwhile. One per shard file being read or written; the thread starts
// with the first range and ends with the pipeline.
//
//   ChecksumPipeline::Run run(pipeline);   // a new checksum
//   run.feed(p, n);  ...                   // returns at once
//   std::uint64_t sum = run.finish();      // waits; checksum() of all fed bytes
//
// The bytes fed must stay valid and unchanged until finish() returns, or the
// Run is destroyed (its destructor waits, so an exception thrown between
// feeds never leaves the thread reading a buffer its owner has freed).
// Not thread-safe: one Run at a time, from one thread.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "checksum.h"

namespace lull::detail {

class ChecksumPipeline {
 public:
  ChecksumPipeline() = default;
  ~ChecksumPipeline();
  ChecksumPipeline(const ChecksumPipeline&) = delete;
  ChecksumPipeline& operator=(const ChecksumPipeline&) = delete;

  class Run {
   public:
    explicit Run(ChecksumPipeline& pipeline);
    ~Run();
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;
    void feed(const void* data, std::size_t size);
    std::uint64_t finish();

   private:
    ChecksumPipeline& pipeline_;
  };

 private:
  void work();
  void wait_idle() noexcept;

  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable idle_;
  std::deque<std::pair<const void*, std::size_t>> queue_;
  bool hashing_ = false;
  bool stop_ = false;
  Checksummer sum_;
  std::thread thread_;
};

}  // namespace lull::detail
