#pragma once
// The jobs waiting to start or resume, per tenant and per size.
//
// Each (tenant, slots needed) pair is a FIFO in submit order, so one pass of
// the decision core looks only at the oldest job of each: a tenant's small
// jobs are not stuck behind its big one, and a job never overtakes an older
// one of its own tenant and size.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "lull/policy/events.h"

namespace lull::policy {

struct QueueHead {
  std::uint64_t order = 0;  // submit order (smaller: older)
  JobId job = 0;
  std::size_t tenant = 0;
  int need = 0;             // slots the job needs at least
};

class WaitingQueue {
 public:
  explicit WaitingQueue(std::size_t tenants) : tenants_(tenants) {}

  void add(const QueueHead& entry);
  void remove(const QueueHead& entry);

  std::size_t size() const noexcept { return size_; }
  std::size_t size_of(std::size_t tenant) const noexcept { return tenants_[tenant].size; }

  // The oldest job needing `need` slots of `tenant`, if any.
  std::optional<QueueHead> head(std::size_t tenant, int need) const;
  // The oldest job of every (tenant, size) queue of these tenants, unordered.
  std::vector<QueueHead> heads(const std::vector<std::size_t>& tenants) const;

 private:
  using Fifo = std::set<std::pair<std::uint64_t, JobId>>;
  struct TenantQueues {
    std::map<int, Fifo> by_need;
    std::size_t size = 0;
  };
  std::vector<TenantQueues> tenants_;
  std::size_t size_ = 0;
};

}  // namespace lull::policy
