#include "collective_watchdog.h"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lull/base/error.h"
#include "lull/base/log.h"

namespace lull::detail {

namespace {

std::chrono::nanoseconds tick_for(std::chrono::nanoseconds timeout) {
  return std::clamp<std::chrono::nanoseconds>(timeout / 10, std::chrono::milliseconds(10),
                                              std::chrono::seconds(1));
}

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string CollectiveDescription::text() const {
  std::vector<std::string> args;
  if (dtype) {
    args.push_back(fmt::format("{} x {}", dtype_name(*dtype), count));
  } else if (unit != nullptr) {
    args.push_back(fmt::format("{} {}", count, unit));
  }
  if (op) args.emplace_back(reduce_op_name(*op));
  if (root >= 0) args.push_back(fmt::format("root {}", root));
  return args.empty() ? std::string(operation) : fmt::format("{}({})", operation, fmt::join(args, ", "));
}

// ---- Watch ---------------------------------------------------------------------------------

CollectiveWatchdog::Watch::Watch(Watch&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), id_(other.id_), deadline_(other.deadline_) {}

CollectiveWatchdog::Watch& CollectiveWatchdog::Watch::operator=(Watch&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    id_ = other.id_;
    deadline_ = other.deadline_;
  }
  return *this;
}

CollectiveWatchdog::Watch::~Watch() { release(); }

void CollectiveWatchdog::Watch::release() noexcept {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->unregister(id_);
}

void CollectiveWatchdog::Watch::arm() {
  if (owner_ != nullptr && deadline_ == std::chrono::steady_clock::time_point::max()) owner_->arm(*this);
}

void CollectiveWatchdog::Watch::disarm() {
  if (owner_ != nullptr && deadline_ != std::chrono::steady_clock::time_point::max()) owner_->disarm(*this);
}

void CollectiveWatchdog::Watch::check() {
  if (owner_ == nullptr) return;
  CollectiveWatchdog& dog = *owner_;
  if (dog.state_.load(std::memory_order_acquire) != kIdle || dog.settings_.clock->steady_now() >= deadline_) {
    dog.fire(id_);  // returns once the handler returned (or at once when aborted)
    dog.throw_aborted(SourceLocation::current());
  }
}

// ---- CollectiveWatchdog --------------------------------------------------------------------

CollectiveWatchdog::CollectiveWatchdog(WatchdogSettings settings)
    : settings_(std::move(settings)), tick_(tick_for(settings_.timeout)) {
  entries_.reserve(8);
  thread_ = std::thread([this] { run(); });
}

CollectiveWatchdog::~CollectiveWatchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

CollectiveWatchdog::Watch CollectiveWatchdog::watch(const CollectiveDescription& what,
                                                    std::uint64_t sequence, bool armed) {
  Watch watch;
  {
    std::lock_guard lock(mutex_);
    std::uint64_t id = next_id_++;
    entries_.push_back(Entry{id, sequence, what, std::nullopt, {}});
    watch = Watch(this, id);
  }
  if (armed) watch.arm();
  return watch;
}

void CollectiveWatchdog::arm(Watch& watch) {
  auto now = settings_.clock->steady_now();
  auto wall = settings_.clock->wall_now();
  std::lock_guard lock(mutex_);
  for (Entry& e : entries_) {
    if (e.id == watch.id_) {
      e.armed_at = now;
      e.armed_wall = wall;
      break;
    }
  }
  watch.deadline_ = now + settings_.timeout;
}

void CollectiveWatchdog::disarm(Watch& watch) {
  std::lock_guard lock(mutex_);
  for (Entry& e : entries_) {
    if (e.id == watch.id_) {
      e.armed_at.reset();
      break;
    }
  }
  watch.deadline_ = std::chrono::steady_clock::time_point::max();
}

void CollectiveWatchdog::unregister(std::uint64_t id) noexcept {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(entries_.begin(), entries_.end(), [id](const Entry& e) { return e.id == id; });
  if (it != entries_.end()) {
    *it = entries_.back();
    entries_.pop_back();
  }
}

void CollectiveWatchdog::abort(std::string reason) noexcept {
  std::lock_guard lock(mutex_);
  if (abort_reason_.empty()) {
    try {
      abort_reason_ = reason.empty() ? std::string("aborted") : std::move(reason);
    } catch (...) {  // out of memory: keep a fixed reason
    }
  }
  // A firing in progress finishes on its own and then reports fired.
  if (state_.load(std::memory_order_relaxed) == kIdle) state_.store(kFired, std::memory_order_release);
  cv_.notify_all();
}

std::string CollectiveWatchdog::abort_reason() const {
  std::lock_guard lock(mutex_);
  return state_.load(std::memory_order_relaxed) == kFired ? abort_reason_ : std::string();
}

void CollectiveWatchdog::throw_if_aborted(SourceLocation where) const {
  if (aborted()) throw_aborted(where);
}

void CollectiveWatchdog::throw_aborted(SourceLocation where) const {
  std::string reason = abort_reason();
  throw Error(ErrorCode::io,
              "communicator '" + settings_.label + "' (" + settings_.backend + ", rank " +
                  std::to_string(settings_.rank) + ") is aborted: " + (reason.empty() ? "aborted" : reason),
              {}, {},
              "the job cannot go on with this communicator: exit, and restart from the last "
              "committed snapshot",
              where);
}

StuckCollective CollectiveWatchdog::report_for(const Entry& entry) const {
  StuckCollective stuck;
  stuck.backend = settings_.backend;
  stuck.label = settings_.label;
  stuck.rank = settings_.rank;
  stuck.size = settings_.size;
  stuck.operation = entry.what.text();
  stuck.sequence = entry.sequence;
  stuck.since = entry.armed_wall;
  stuck.waited_seconds = entry.armed_at ? settings_.clock->seconds_since(*entry.armed_at) : 0.0;
  stuck.timeout_seconds = seconds(settings_.timeout);
  return stuck;
}

void CollectiveWatchdog::fire(std::uint64_t id) {
  std::unique_lock lock(mutex_);
  int expected = kIdle;
  if (!state_.compare_exchange_strong(expected, kFiring, std::memory_order_acq_rel)) {
    // Someone else fires (or has): wait for the handler to return.
    cv_.wait(lock, [this] { return state_.load(std::memory_order_acquire) == kFired; });
    return;
  }
  auto it = std::find_if(entries_.begin(), entries_.end(), [id](const Entry& e) { return e.id == id; });
  StuckCollective stuck;
  if (it != entries_.end()) {
    stuck = report_for(*it);
  } else {  // released meanwhile: still report what we know
    stuck = report_for(Entry{id, 0, CollectiveDescription::named("collective"), std::nullopt, {}});
  }
  // The first reason wins: an abort() while the handler runs keeps this one.
  if (abort_reason_.empty()) abort_reason_ = stuck.describe();
  lock.unlock();

  if (settings_.on_timeout) {
    try {
      settings_.on_timeout(stuck);
    } catch (const std::exception& e) {
      log::error(std::string("collective timeout handler threw: ") + e.what());
    } catch (...) {
      log::error("collective timeout handler threw");
    }
  } else {
    exit_on_collective_timeout(stuck, settings_.abort_backend);
  }

  lock.lock();
  state_.store(kFired, std::memory_order_release);
  cv_.notify_all();
}

void CollectiveWatchdog::run() noexcept {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    cv_.wait_for(lock, tick_);
    if (stopping_) break;
    heartbeat_.fetch_add(1, std::memory_order_relaxed);
    if (state_.load(std::memory_order_acquire) != kIdle) continue;
    auto now = settings_.clock->steady_now();
    std::optional<std::uint64_t> stuck;
    for (const Entry& e : entries_) {
      if (e.armed_at && now - *e.armed_at >= settings_.timeout) {
        stuck = e.id;
        break;
      }
    }
    if (stuck) {
      lock.unlock();
      try {
        fire(*stuck);
      } catch (...) {  // fire() itself only throws on allocation failure: keep watching
      }
      lock.lock();
    }
  }
}

}  // namespace lull::detail
