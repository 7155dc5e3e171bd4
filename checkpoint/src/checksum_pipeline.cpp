#include "checksum_pipeline.h"

namespace lull::detail {

ChecksumPipeline::~ChecksumPipeline() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  work_ready_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void ChecksumPipeline::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_ready_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping
    const auto [data, size] = queue_.front();
    queue_.pop_front();
    hashing_ = true;
    lock.unlock();
    sum_.update(data, size);
    lock.lock();
    hashing_ = false;
    if (queue_.empty()) idle_.notify_one();
  }
}

void ChecksumPipeline::wait_idle() noexcept {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !hashing_; });
}

ChecksumPipeline::Run::Run(ChecksumPipeline& pipeline) : pipeline_(pipeline) {
  pipeline_.wait_idle();
  pipeline_.sum_.reset();
}

ChecksumPipeline::Run::~Run() { pipeline_.wait_idle(); }

void ChecksumPipeline::Run::feed(const void* data, std::size_t size) {
  if (size == 0) return;
  // Started before anything is queued: if it cannot start, nothing waits for it.
  if (!pipeline_.thread_.joinable()) pipeline_.thread_ = std::thread([p = &pipeline_] { p->work(); });
  {
    std::lock_guard lock(pipeline_.mutex_);
    pipeline_.queue_.emplace_back(data, size);
  }
  pipeline_.work_ready_.notify_one();
}

std::uint64_t ChecksumPipeline::Run::finish() {
  pipeline_.wait_idle();
  return pipeline_.sum_.digest();
}

}  // namespace lull::detail
