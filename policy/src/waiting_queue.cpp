#include "waiting_queue.h"

#include "lull/base/error.h"

namespace lull::policy {

void WaitingQueue::add(const QueueHead& entry) {
  TenantQueues& queues = tenants_.at(entry.tenant);
  if (!queues.by_need[entry.need].emplace(entry.order, entry.job).second) {
    throw Error(ErrorCode::internal, "waiting queue: job " + std::to_string(entry.job) + " queued twice");
  }
  ++queues.size;
  ++size_;
}

void WaitingQueue::remove(const QueueHead& entry) {
  TenantQueues& queues = tenants_.at(entry.tenant);
  const auto fifo = queues.by_need.find(entry.need);
  if (fifo == queues.by_need.end() || fifo->second.erase({entry.order, entry.job}) == 0) {
    throw Error(ErrorCode::internal, "waiting queue: job " + std::to_string(entry.job) + " is not queued");
  }
  if (fifo->second.empty()) queues.by_need.erase(fifo);
  --queues.size;
  --size_;
}

std::optional<QueueHead> WaitingQueue::head(std::size_t tenant, int need) const {
  const TenantQueues& queues = tenants_.at(tenant);
  const auto fifo = queues.by_need.find(need);
  if (fifo == queues.by_need.end()) return std::nullopt;
  const auto& [order, job] = *fifo->second.begin();
  return QueueHead{order, job, tenant, need};
}

std::vector<QueueHead> WaitingQueue::heads(const std::vector<std::size_t>& tenants) const {
  std::vector<QueueHead> out;
  for (std::size_t tenant : tenants) {
    for (const auto& [need, fifo] : tenants_.at(tenant).by_need) {
      const auto& [order, job] = *fifo.begin();
      out.push_back({order, job, tenant, need});
    }
  }
  return out;
}

}  // namespace lull::policy
