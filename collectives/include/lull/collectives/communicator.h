#pragma once
// lull's collectives: a Communicator over the ranks of a job.
//
//   auto comm = lull::make_communicator("mpi", MPI_COMM_WORLD);   // every rank
//   comm->allreduce(grads.data(), grads.size(), lull::DType::f32, lull::ReduceOp::sum);
//   // End of step k: one vote started per step on every rank; the vote of
//   // step k-2 is due now (see start_allreduce for why not k-1).
//   for (auto& v : votes) v.test();                               // moves them on, never blocks
//   if (votes.size() == 2) { decide(votes.front().wait()[0]); votes.pop_front(); }
//   votes.push_back(comm->start_allreduce(std::array<std::int64_t, 1>{flag},
//                                         lull::ReduceOp::max));
//
// Backends (the table in src/backend_table.cpp):
//   "mpi"   always built. Buffers are host memory. Works on any intra-
//           communicator the program gives; lull dups it so that its traffic
//           never matches the program's own messages.
//   "nccl"  built when CUDA and NCCL are found. allreduce/broadcast/allgather
//           take CUDA device buffers (on the device that was current when the
//           communicator was made), run on a stream of the backend, ordered
//           after the work queued on the legacy default stream: work on the
//           caller's other streams must be complete (cudaStreamSynchronize)
//           before the call. The result is in place when the call returns.
//           gather_bytes, barrier and start_allreduce stay on the host and go
//           through MPI, which also carries the NCCL unique id.
//
// MPI: if the program has not initialized MPI, the first communicator does it
// (MPI_Init_thread asking for MPI_THREAD_MULTIPLE and accepting whatever level
// is granted: lull only calls MPI from the threads that call a Communicator,
// its own threads never do) and lull finalizes it at normal process exit
// (std::atexit). If the program initialized MPI, lull leaves initialization
// and finalization to it.
//
// No rank hangs forever. Every collective is posted non-blocking and waited
// for by polling against a deadline, and a watchdog thread per communicator
// (with a heartbeat) notices a collective still pending after the timeout —
// a peer rank died, hangs, or called the collectives in another order. The
// rank then logs what was pending (which collective, since when, on which
// rank) and exits with kExitCollectiveTimeout (70, EX_SOFTWARE), after
// aborting the NCCL communicator if there is one. Tests, or a program that
// prefers to handle it, set CommunicatorOptions::on_timeout: the stuck call
// then throws lull::Error and the communicator is aborted.
//
// Errors: every failure is a lull::Error carrying the failed call, its
// file:line, the library's own message and a hint (ErrorCode::io for failures
// of the transport, timeouts and aborted communicators; invalid_argument for
// bad arguments; unsupported for what this build or machine cannot do). After
// a transport error or a timeout the communicator is aborted: every later
// collective throws an Error that carries the first reason.
//
// Threads: a Communicator is used by one thread at a time (collectives must be
// issued in the same order on every rank, so two threads racing on one is a
// bug of the caller). rank(), size(), backend(), buffer_space(), aborted(),
// abort_reason() and abort() may be called from any thread at any time;
// abort() from another thread makes a blocked collective return by throwing.

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lull/base/dtype.h"
#include "lull/base/exit_codes.h"  // kExitCollectiveTimeout

namespace lull {

enum class ReduceOp : std::uint8_t {
  sum,  // integers wrap around (two's complement); booleans: logical or
  max,  // booleans: logical or
  min,  // booleans: logical and
};

// "sum", "max", "min".
const char* reduce_op_name(ReduceOp op) noexcept;

// Where the buffers of allreduce, broadcast and allgather live.
enum class BufferSpace : std::uint8_t { host, cuda_device };

// Seconds a collective may stay pending when neither the program nor
// LULL_COLLECTIVE_TIMEOUT says otherwise. lull's one default: communicators
// made here and lull::Runtime's (RuntimeOptions::collective_timeout_seconds)
// both start from it. Two minutes leave room for a slow snapshot write or a
// long step between two collectives on a healthy job.
inline constexpr double kDefaultCollectiveTimeoutSeconds = 120;
// Seconds (a decimal number > 0); used when CommunicatorOptions does not set one.
inline constexpr const char* kCollectiveTimeoutEnv = "LULL_COLLECTIVE_TIMEOUT";

// LULL_COLLECTIVE_TIMEOUT's seconds; nullopt when it is unset or empty.
// Throws Error(invalid_argument) naming the variable when it is not a
// number > 0. The one reader of the variable: CommunicatorOptions and
// lull::RuntimeOptions::from_environment() both call it. Any thread.
std::optional<double> collective_timeout_from_environment();
// start_allreduce() carries at most this many values.
inline constexpr std::size_t kMaxAgreementValues = 16;

// One collective as the before_post hook sees it.
struct CollectiveCall {
  std::string_view operation;  // "allreduce", "broadcast", "allgather", "gather_bytes",
                               // "barrier", "start_allreduce", "comm_dup", "nccl_init", ...
  std::uint64_t sequence = 0;  // 1 for the first collective on this communicator, then 2, ...
  int rank = -1;
};

// What the watchdog knows about a collective stuck past the timeout.
struct StuckCollective {
  std::string backend;         // "mpi", "nccl"
  std::string label;           // CommunicatorOptions::label
  int rank = -1;               // this rank, in the communicator
  int size = 0;
  std::string operation;       // "allreduce(f32 x 1024, sum)"
  std::uint64_t sequence = 0;  // compare across ranks: who never reached it
  std::chrono::system_clock::time_point since;  // when this rank started waiting for it
  double waited_seconds = 0;
  double timeout_seconds = 0;

  // The line the watchdog logs: "collective timeout: allreduce(f32 x 1024,
  // sum) #17 on communicator 'lull' (mpi, rank 0 of 2) still pending after
  // 60.0 s (waiting since 2025-06-01T12:00:00.250Z, timeout 60 s): ..."
  std::string describe() const;
};

struct CommunicatorOptions {
  // Seconds a collective may stay pending. Unset: LULL_COLLECTIVE_TIMEOUT,
  // else kDefaultCollectiveTimeoutSeconds (120 s). It must exceed the longest time
  // between two ranks reaching the same collective (a step's skew, a slow
  // checkpoint write), or healthy jobs are killed.
  std::optional<double> timeout_seconds;

  // Names the communicator in logs and in MPI (MPI_Comm_set_name).
  std::string label = "lull";

  // Test hook. Called on the calling thread at the start of every collective,
  // after the watchdog started timing it and before anything is sent. A test
  // blocks here on one rank to inject a hang (the other ranks then wait in the
  // collective; this rank is stuck inside it). Empty: nothing.
  std::function<void(const CollectiveCall&)> before_post;

  // Called once per communicator when a collective is found pending past the
  // timeout, from the watchdog thread or from the waiting thread, whichever
  // notices first (the other waits for it to return). Empty (the default):
  // log the StuckCollective at error level, abort the NCCL communicator if
  // any (giving up on it after 10 s), and exit the process at once with
  // kExitCollectiveTimeout (std::_Exit: no destructors, no MPI_Finalize,
  // which could hang). If set and it returns, the communicator is aborted:
  // the stuck call throws lull::Error, and so does every later collective.
  std::function<void(const StuckCollective&)> on_timeout;

  // timeout_seconds, else LULL_COLLECTIVE_TIMEOUT, else the default. Throws
  // Error(invalid_argument) naming the variable or option when it is not a
  // number > 0.
  double effective_timeout_seconds() const;
};

// The handle of a start_allreduce(): move-only, owned by the caller.
//
// Destroying (or assigning over) a handle whose operation has not completed
// never blocks and never cancels it: the request and its buffer go back to
// the communicator, which completes them during its later calls. A handle
// must not outlive its Communicator's use (it stays memory-safe if it does:
// it then only throws).
class PendingAllreduce {
 public:
  // Implemented by the backends.
  class Operation {
   public:
    virtual ~Operation() = default;
    // Non-blocking poll; true once the result is in values().
    virtual bool test() = 0;
    // Blocks (polling, with the deadline) until the result is in values().
    virtual void wait() = 0;
    virtual std::span<const std::int64_t> values() const noexcept = 0;
  };

  PendingAllreduce() noexcept = default;  // empty: valid() is false
  explicit PendingAllreduce(std::unique_ptr<Operation> operation) noexcept;
  PendingAllreduce(PendingAllreduce&&) noexcept;
  PendingAllreduce& operator=(PendingAllreduce&&) noexcept;
  PendingAllreduce(const PendingAllreduce&) = delete;
  PendingAllreduce& operator=(const PendingAllreduce&) = delete;
  ~PendingAllreduce();

  bool valid() const noexcept { return operation_ != nullptr; }
  bool done() const noexcept { return done_; }

  // Local, non-blocking: drives the operation and says whether it completed.
  // The timeout clock of the operation starts at the first test() or wait()
  // (not at start_allreduce(): the time the caller computes in between is not
  // waiting) and keeps running across test() calls until it completes.
  // Throws lull::Error if it failed, timed out (with an on_timeout hook set)
  // or the communicator was aborted. Precondition: valid().
  bool test();

  // Blocks until the operation completed and returns the reduced values
  // (same count as given to start_allreduce). Throws like test(). The span
  // points into this handle; on a temporary handle
  // (`auto v = comm.start_allreduce(...).wait();`) the values are copied out,
  // since the handle and its buffer end with the statement.
  std::span<const std::int64_t> wait() &;
  std::vector<std::int64_t> wait() &&;

  // The reduced values. Precondition: done().
  std::span<const std::int64_t> values() const;

 private:
  std::unique_ptr<Operation> operation_;
  bool done_ = false;
};

// A group of ranks that run collectives together. Made by make_communicator();
// abstract, one subclass per backend. Every collective below must be called
// by every rank of the communicator, in the same order, with matching
// arguments (same count/dtype/op, same root, same bytes per rank).
class Communicator {
 public:
  virtual ~Communicator() = default;  // local: never runs a collective, never blocks on peers
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  virtual int rank() const noexcept = 0;
  virtual int size() const noexcept = 0;
  virtual std::string_view backend() const noexcept = 0;  // "mpi", "nccl"
  virtual BufferSpace buffer_space() const noexcept = 0;

  // Collective, blocking. Reduces `count` elements of `dtype` at `data` (in
  // buffer_space()) in place over all ranks with `op`; every rank gets the
  // result. f16/bf16 are reduced in float and rounded back (nearest even).
  void allreduce(void* data, std::size_t count, DType dtype, ReduceOp op);

  // Collective, blocking. Copies `bytes` bytes at `data` on `root` to `data`
  // on every other rank.
  void broadcast(void* data, std::size_t bytes, int root);

  // Collective, blocking. Rank r's `bytes_per_rank` bytes at `send` land at
  // recv + r * bytes_per_rank on every rank; `recv` holds size() *
  // bytes_per_rank bytes. send == recv + rank() * bytes_per_rank is allowed
  // (in place); other overlaps are not.
  void allgather(const void* send, std::size_t bytes_per_rank, void* recv);

  // Collective, blocking, host memory. Each rank gives a byte string of any
  // size (a ShardReport's JSON, say); `root` gets all of them, indexed by
  // rank; the other ranks get an empty vector. Total at root < 2 GiB.
  std::vector<std::vector<std::byte>> gather_bytes(std::span<const std::byte> mine, int root);

  // Collective, blocking: returns when every rank has entered it.
  void barrier();

  // Collective, non-blocking, host memory: starts an allreduce of 1 to
  // kMaxAgreementValues int64 values (copied; `values` may die at once) and
  // returns its handle. Made for per-step agreement. Several may be pending;
  // other collectives may be called meanwhile (in the same order on every
  // rank). Every rank must start the same ones in the same order: start one
  // at every step, never depending on a local test() result (ranks see
  // completion at different steps). MPI moves a non-blocking collective on
  // only inside MPI calls, about one round per call, and an allreduce takes
  // log2(P) to 2 log2(P) rounds: test() each pending vote at every end of
  // step and act on the vote of step k at step k + 2 or 3 (wait() for it
  // then; it is then almost always done) rather than at step k + 1.
  PendingAllreduce start_allreduce(std::span<const std::int64_t> values, ReduceOp op);

  // Collective, optional: releases the backend's resources in an orderly way
  // (NCCL: ncclCommFinalize polled against the deadline, then
  // ncclCommDestroy; MPI: MPI_Comm_free of lull's duplicate). Afterwards every
  // collective throws. Without it the destructor releases what it safely can
  // without talking to peers.
  void close();

  // Local, any thread, never throws: aborts the communicator (NCCL:
  // ncclCommAbort; MPI: pending requests are given up on). A collective
  // blocked in another thread returns by throwing; every later one throws an
  // Error carrying `reason`. Only the first reason is kept. MPI cannot
  // cancel a collective: the buffer of one given up on (by abort or timeout)
  // may still be written until the process exits, so do not reuse it — the
  // process is expected to exit soon after an abort.
  virtual void abort(std::string_view reason) noexcept = 0;
  virtual bool aborted() const noexcept = 0;
  // The first abort's reason (a timeout's StuckCollective::describe(), a
  // transport error's message, abort()'s argument); empty when not aborted.
  virtual std::string abort_reason() const = 0;

 protected:
  Communicator() = default;

 private:
  // The backends' side: arguments are checked by the public functions.
  virtual void do_allreduce(void* data, std::size_t count, DType dtype, ReduceOp op) = 0;
  virtual void do_broadcast(void* data, std::size_t bytes, int root) = 0;
  virtual void do_allgather(const void* send, std::size_t bytes_per_rank, void* recv) = 0;
  virtual std::vector<std::vector<std::byte>> do_gather_bytes(std::span<const std::byte> mine,
                                                              int root) = 0;
  virtual void do_barrier() = 0;
  virtual PendingAllreduce do_start_allreduce(std::span<const std::int64_t> values, ReduceOp op) = 0;
  virtual void do_close() = 0;
};

// Collective over `comm` (borrowed: it must stay valid while the
// Communicator is used; lull works on its own duplicate and never frees or
// changes `comm`). Initializes MPI if the program has not (see above).
// `backend` names a row of the table: "mpi", or "nccl" when built with it.
// Throws Error(invalid_argument) for an unknown name or a bad `comm`,
// Error(unsupported) for a backend this build or machine cannot run (NCCL
// without a GPU, say, identically on every rank).
std::unique_ptr<Communicator> make_communicator(std::string_view backend, MPI_Comm comm = MPI_COMM_WORLD,
                                                CommunicatorOptions options = {});

// The backends this build can make, in table order ("mpi" first).
std::vector<std::string> communicator_backends();

}  // namespace lull
