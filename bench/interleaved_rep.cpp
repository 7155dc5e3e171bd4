#include "interleaved_rep.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "lull/base/unique_fd.h"
#include "page_cache.h"

namespace lull::bench {

namespace {

nlohmann::json max_over_ranks(const MpiJob& job, const Breakdown& parts) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [part, seconds] : parts) out[part] = job.max(seconds);
  return out;
}

}  // namespace

nlohmann::json run_interleaved_rep(const MpiJob& job, const Workload& workload, RankState& state,
                                   const std::vector<std::unique_ptr<CheckpointMethod>>& methods) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& method : methods) {
    auto& entry = out[method->name()];

    job.barrier();
    double cpu0 = cpu_seconds();
    double t0 = now_seconds();
    const Breakdown write_parts = method->write(workload, state);
    double cpu = cpu_seconds() - cpu0;
    job.barrier();
    entry["write_s"] = now_seconds() - t0;
    entry["write_cpu_s"] = job.sum(cpu);
    entry["write_parts"] = max_over_ranks(job, write_parts);

    state.clear_targets();
    if (job.rank() == 0) {
      entry["cached_after_write"] = cached_pages(method->files()).fraction();
      drop_cached_pages(method->files());
      entry["cached_before_read"] = cached_pages(method->files()).fraction();
    }

    job.barrier();
    cpu0 = cpu_seconds();
    t0 = now_seconds();
    const Breakdown read_parts = method->read(workload, state);
    cpu = cpu_seconds() - cpu0;
    job.barrier();
    entry["read_s"] = now_seconds() - t0;
    entry["read_cpu_s"] = job.sum(cpu);
    entry["read_parts"] = max_over_ranks(job, read_parts);

    const long bad_ranks = job.sum(state.first_mismatch() >= 0 ? 1L : 0L);
    if (bad_ranks != 0) {
      throw std::runtime_error(method->name() + ": bytes read back differ from those written on " +
                               std::to_string(bad_ranks) + " rank(s)");
    }
    if (job.rank() == 0) std::filesystem::remove_all(method->files());
    job.barrier();
  }
  return out;
}

void prime_page_cache(const MpiJob& job, const std::filesystem::path& dir, std::uint64_t bytes) {
  if (job.rank() == 0) std::filesystem::create_directories(dir);
  job.barrier();
  const auto path = dir / ("prime-" + std::to_string(job.rank()) + ".tmp");
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  const std::vector<char> zeros(16u << 20, 0);
  for (std::uint64_t done = 0; done < bytes;) {
    const ssize_t n = ::write(fd.get(), zeros.data(), std::min<std::uint64_t>(zeros.size(), bytes - done));
    if (n < 0) {
      const int err = errno;
      throw std::system_error(err, std::generic_category(), "write " + path.string());
    }
    done += static_cast<std::uint64_t>(n);
  }
  fd.reset();
  std::filesystem::remove(path);
  job.barrier();
}

}  // namespace lull::bench
