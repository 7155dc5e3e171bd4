#include "lull/simulator/trace_generator.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "lull/base/error.h"
#include "lull/simulator/simulation.h"

namespace lull::simulator {

namespace {

using policy::Duration;

// splitmix64: tiny, fast, and the same numbers everywhere.
class TraceRandom {
 public:
  explicit TraceRandom(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double log_uniform(double low, double high) { return low * std::pow(high / low, uniform()); }
  std::size_t index(std::size_t size) { return static_cast<std::size_t>(uniform() * static_cast<double>(size)); }

 private:
  std::uint64_t state_;
};

struct JobShape {
  bool internal = false;
  int ranks = 1;
  double seconds = 0;
};

constexpr double kDay = 86400.0;

}  // namespace

std::vector<TraceJob> generate_trace(const policy::Policy& node_policy, const TraceShape& shape) {
  const int slots = shape.slots > 0 ? shape.slots : node_policy.slots;
  const policy::Policy policy = scale_policy_to_slots(node_policy, slots);
  if (shape.jobs < 1 || slots < 1 || shape.internal_load <= 0 || shape.tenant_load <= 0 ||
      shape.internal_load >= 1.0) {
    throw Error(ErrorCode::invalid_argument, "trace shape: need jobs >= 1, slots >= 1, 0 < internal load < 1, tenant load > 0");
  }
  std::vector<const policy::Tenant*> internal_tenants;
  std::vector<const policy::Tenant*> guest_tenants;
  for (const policy::Tenant& tenant : policy.tenants) {
    (policy.class_of(tenant).preemptible ? guest_tenants : internal_tenants).push_back(&tenant);
  }
  if (internal_tenants.empty() || guest_tenants.empty()) {
    throw Error(ErrorCode::invalid_argument,
                "the policy needs a tenant of a non-preemptible class and one of a preemptible class to generate a trace");
  }
  TraceRandom random(shape.seed);
  const int tenant_max_ranks = std::clamp(slots / 8, 1, 64);
  const int tenant_rank_steps = static_cast<int>(std::log2(tenant_max_ranks)) + 1;

  // Mean slot-seconds of each kind, so the mix of jobs gives the asked-for loads.
  const double internal_mean = (slots * (1.0 / 16 + 1.0 / 8 + 1.0 / 4) / 3) * (8 * 3600 - 1800) / std::log(16.0);
  double tenant_rank_mean = 0;
  for (int step = 0; step < tenant_rank_steps; ++step) tenant_rank_mean += std::pow(2.0, step) / tenant_rank_steps;
  const double tenant_mean = tenant_rank_mean * (6 * 3600 - 600) / std::log(36.0);
  const double internal_weight = shape.internal_load / internal_mean;
  const double tenant_weight = shape.tenant_load / tenant_mean;
  const double internal_fraction = internal_weight / (internal_weight + tenant_weight);
  const double internal_jobs = internal_fraction * shape.jobs;
  const double window = std::max(3600.0, internal_jobs * internal_mean / (shape.internal_load * slots));

  std::vector<std::pair<double, TraceJob>> timed;
  timed.reserve(static_cast<std::size_t>(shape.jobs));
  for (int i = 0; i < shape.jobs; ++i) {
    TraceJob job;
    double submit = 0;
    const bool internal = random.uniform() < internal_fraction;
    if (internal) {
      const policy::Tenant& tenant = *internal_tenants[random.index(internal_tenants.size())];
      job.tenant = tenant.name;
      job.job_class = policy.class_of(tenant).name;
      const int divisor = 4 << random.index(3);  // 1/4, 1/8, 1/16 of the node
      job.ranks = std::min(tenant.slot_quota, std::max(1, slots / divisor));
      job.min_ranks = job.max_ranks = job.ranks;
      job.duration = Duration(static_cast<std::int64_t>(random.log_uniform(1800, 8 * 3600) * 1000));
      // Daily waves: arrivals follow 1 + 0.9 sin(2 pi t / day) (thinning).
      do {
        submit = random.uniform() * window;
      } while (random.uniform() * 1.9 > 1 + 0.9 * std::sin(2 * std::numbers::pi * submit / kDay));
    } else {
      const policy::Tenant& tenant = *guest_tenants[random.index(guest_tenants.size())];
      job.tenant = tenant.name;
      job.job_class = policy.class_of(tenant).name;
      job.ranks = std::min(tenant.slot_quota, 1 << random.index(static_cast<std::size_t>(tenant_rank_steps)));
      job.min_ranks = std::max(1, job.ranks / 2);
      job.max_ranks = std::min(tenant.slot_quota, job.ranks * 2);
      job.duration = Duration(static_cast<std::int64_t>(random.log_uniform(600, 6 * 3600) * 1000));
      job.checkpoint_cost = Duration(static_cast<std::int64_t>(random.log_uniform(10, 240) * 1000));
      submit = random.uniform() * window;
    }
    job.submit = Duration(static_cast<std::int64_t>(submit) * 1000);
    timed.emplace_back(submit, std::move(job));
  }
  std::stable_sort(timed.begin(), timed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<TraceJob> jobs;
  jobs.reserve(timed.size());
  for (auto& entry : timed) jobs.push_back(std::move(entry.second));
  return jobs;
}

}  // namespace lull::simulator
