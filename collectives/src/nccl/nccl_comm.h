#pragma once
// NcclComm — owns one non-blocking NCCL communicator (config.blocking = 0).
//
// Move-only, in the style of PyTorch c10d's NCCLComm:
//   - abort(reason): ncclCommAbort, from any thread (the watchdog's, say);
//     afterwards every use throws an Error carrying the FIRST reason.
//   - destroy(): the orderly end — ncclCommFinalize, polled until NCCL is
//     done, then ncclCommDestroy (local once finalized).
//   - the destructor: ncclCommAbort on a communicator still live. That frees
//     this rank's resources without waiting for peers (ncclCommDestroy could
//     block on unfinished work); it never runs a collective and never throws.
// Every call into NCCL on the communicator holds an internal mutex, so abort()
// from another thread never frees the communicator under a running call
// (with blocking = 0 those calls return at once, so abort() does not wait
// long).

#include <nccl.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace lull::detail {

class NcclComm {
 public:
  // Empty: no communicator yet; abort() is then a no-op that remembers the reason.
  NcclComm();
  NcclComm(NcclComm&& other) noexcept;
  NcclComm& operator=(NcclComm&& other) noexcept;  // aborts a live communicator it replaces
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;
  ~NcclComm();

  // Starts ncclCommInitRankConfig (blocking = 0, commName = name; `name`
  // must outlive the initialization). The communicator is usable once
  // poll_ready() returned true. Throws lull::Error.
  void start_init(int nranks, const ncclUniqueId& id, int rank, const std::string& name,
                  const std::string& subject);

  // Non-blocking: ncclCommGetAsyncError. true: idle (the last call is
  // enqueued, or initialization done); false: ncclInProgress; throws the
  // mapped Error on an NCCL error, or when aborted.
  bool poll_ready();

  // Runs `call` (an NCCL function on this communicator) under the lock.
  // ncclSuccess and ncclInProgress are fine (poll_ready() before the next
  // call); anything else throws.
  void issue(const char* name, const std::function<ncclResult_t(ncclComm_t)>& call);

  // ncclCommFinalize, then `between_polls()` until NCCL is done (it may throw
  // to give up: the communicator is then aborted), then ncclCommDestroy.
  void destroy(const std::function<void()>& between_polls);

  void abort(std::string reason) noexcept;
  bool aborted() const noexcept;
  std::string abort_reason() const;
  bool live() const noexcept;

 private:
  struct State {
    mutable std::mutex mutex;
    ncclComm_t comm = nullptr;
    bool aborted = false;
    std::string reason;
    std::string subject = "NCCL communicator";
  };
  [[noreturn]] void throw_aborted() const;  // with the lock held
  State& state() const;                     // throws on a moved-from NcclComm
  void abort_locked(std::string reason) noexcept;

  std::unique_ptr<State> state_;
};

}  // namespace lull::detail
