#pragma once
// lull's runtime: what a training program links to survive preemption.
//
//   lull::Runtime rt(lull::RuntimeOptions::from_environment());   // every rank
//   rt.protect("w", lull::DType::f32, {n}, {0}, {n}, w.data(), lull::Sharing::replicated);
//   rt.protect_blob("rng", save_rng, load_rng);
//   for (std::uint64_t step = rt.restore(); step < total; ) {
//     train_one_step();
//     ++step;
//     if (rt.end_step(step) == lull::StepDecision::stop) return rt.exit_code();
//   }
//   return rt.finish(total);
//
// Every rank of the job constructs one Runtime over the same communicator
// and calls restore(), end_step() and finish() at the same points (they are
// collective). protect*() is local but every rank must protect the same
// names in the same order.
//
// Exit codes (the contract with `lull run` and schedulers): 0 finished,
// 75 (EX_TEMPFAIL) stopped for preemption with a committed snapshot to
// resume from; anything else is a failure, among them 74 (EX_IOERR) when a
// snapshot the job needed could not be written.

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lull/base/dtype.h"
#include "lull/base/exit_codes.h"  // kExitFinished, kExitPreempted, kExitSnapshotFailed
#include "lull/collectives/communicator.h"
#include "lull/runtime/sample_cursor.h"

namespace lull {

enum class StepDecision {
  proceed,  // go on with the next step
  stop,     // leave the training loop now and return exit_code()
};

// How a protected tensor is spread over the ranks.
enum class Sharing {
  sharded,     // each rank holds the box (offset, extent) of the global tensor
  replicated,  // every rank holds all of it; rank 0 writes it
};

struct RuntimeOptions {
  std::string job = "job";              // LULL_JOB; validated (no '/', "..", control chars)
  std::filesystem::path ckpt_dir;       // LULL_CKPT_DIR; required
  std::uint64_t every_steps = 0;        // LULL_EVERY_STEPS; 0 = off
  double every_seconds = 0;             // LULL_EVERY_SECONDS; 0 = off
  // LULL_EVERY_SECONDS=auto: the interval follows the measured checkpoint
  // cost C and the mean time M between preemption notices, sqrt(2*C*M)
  // (Young/Daly), within 2 s .. 1 h; every_seconds is then not used.
  bool every_seconds_auto = false;
  // LULL_MEAN_SECONDS_BETWEEN_NOTICES: M above (the arbiter sets it from
  // what it observed of the job's class); 0 = unknown, an hour is assumed.
  double mean_seconds_between_notices = 0;
  int keep = 2;                         // LULL_KEEP: committed snapshots kept
  std::vector<int> notice_signals;      // LULL_NOTICE_SIGNALS ("USR1,TERM"); default SIGUSR1
  std::filesystem::path notice_file;    // LULL_NOTICE_FILE (set by `lull run`)
  double default_grace_seconds = 30;    // LULL_GRACE_SECONDS: deadline of a signal without a file
  // LULL_COLLECTIVE_TIMEOUT: seconds before a collective stuck on a dead or
  // hung peer ends the rank with exit 70. The collectives' one default
  // (kDefaultCollectiveTimeoutSeconds, 120 s) and their parser. Used by the
  // Runtime(options, MPI_Comm) constructor; a Communicator the program built
  // keeps its own timeout.
  double collective_timeout_seconds = kDefaultCollectiveTimeoutSeconds;

  // Reads the LULL_* variables over the defaults above. Throws
  // Error(invalid_argument) naming the variable when one is malformed.
  static RuntimeOptions from_environment();
};

class Runtime {
 public:
  // Collective over `comm` (MPI_COMM_WORLD by default; initializes MPI if
  // the program has not). The communicator is borrowed. Rank 0 holds the
  // snapshot directory's writer lock until the Runtime is destroyed (or the
  // process ends): throws Error(in_use), on every rank, naming the directory
  // and the job holding it when another live job writes there.
  explicit Runtime(RuntimeOptions options, MPI_Comm comm = MPI_COMM_WORLD);
  // Collective over a communicator the program built (MPI or NCCL
  // backend); borrowed, must outlive the Runtime.
  Runtime(RuntimeOptions options, Communicator& comm);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Protects a tensor in host memory (or CUDA device memory in a CUDA
  // build: it is staged through pinned host buffers). `data` must stay
  // valid and hold extent's elements in C order; lull reads it at each
  // checkpoint and writes it in restore(). For Sharing::replicated,
  // offset is all zeros and extent is global_shape.
  void protect(std::string name, DType dtype, Shape global_shape, Shape offset, Shape extent, void* data,
               Sharing sharing = Sharing::sharded);
  // A replicated tensor, shorthand.
  void protect_replicated(std::string name, DType dtype, Shape shape, void* data);
  // Rank-local bytes of fixed size (an RNG state, a data cursor).
  void protect_bytes(std::string name, void* data, std::size_t size);
  // Rank-local state of any size, through callbacks.
  void protect_blob(std::string name, std::function<std::vector<std::byte>()> save,
                    std::function<void(std::span<const std::byte>)> load);

  // Collective. Loads the newest committed snapshot that passes its
  // checksums into the protected state (falling back to older ones, saying
  // so) and returns its step: the number of steps already done. Returns 0
  // and leaves the state alone when there is none. If a preemption notice
  // is already pending, the caller's next end_step() stops at once.
  std::uint64_t restore();

  // Collective: call after every step with the number of steps completed.
  // Cheap when nothing happens (a non-blocking agreement overlaps the next
  // step). Checkpoints when the schedule says so or a notice came, and says
  // stop when the job must exit (then exit_code() is 75; or 74 when the
  // preemption snapshot failed and there is no earlier one). A periodic
  // snapshot that fails (a full disk) is logged by rank 0 and training goes
  // on: the previous snapshot stays the latest and the next one tries again.
  StepDecision end_step(std::uint64_t step);

  // Collective: writes and commits a snapshot of `step` now. Throws
  // Error(io) saying what failed (the previous snapshot stays the latest).
  void checkpoint(std::uint64_t step);

  // Collective: the training loop ended normally after `step` steps; commits
  // the final state. Returns 0; 75 if a preemption stopped it at the very
  // end; 74 (kExitSnapshotFailed) when the final snapshot could not be
  // committed: the work is done but not durable, so it is no success.
  int finish(std::uint64_t step);

  int exit_code() const noexcept;
  // Why exit_code() is what it is, in a sentence (for 74: what failed and
  // from which snapshot running the same command again resumes). Rank 0 has
  // the whole reason; other ranks may only know that rank 0's commit failed.
  std::string exit_reason() const;
  int rank() const noexcept;
  int world_size() const noexcept;
  Communicator& communicator() noexcept;
  // The step of the newest snapshot this job committed or restored from.
  std::optional<std::uint64_t> last_committed_step() const noexcept;

  // ---- Elastic resume: another number of ranks than wrote the snapshot ----
  // What restore() does then: sharded tensors are read by their global
  // boxes and replicated ones whole, as at the same world size; rank-local
  // state (protect_bytes, protect_blob) is NOT loaded, because old rank r's
  // state need not suit new rank r; it stays as the program set it, and the
  // program reads any old rank's with restored_blob(). At the same world
  // size each rank loads its own rank's blobs and the resume is bitwise.

  // Local; call before restore() like protect*(). The job's place in its
  // data (lull/runtime/sample_cursor.h), protected as a replicated tensor
  // `name` (i64[4]), so that it continues at any world size. `cursor` must
  // outlive the Runtime.
  void protect_cursor(std::string name, SampleCursor& cursor);

  // Local, after restore(): the number of ranks that wrote the snapshot
  // restored; 0 when restore() found none (or has not run).
  int restored_world_size() const noexcept;

  // Local, between restore() and the first end_step(), checkpoint() or
  // finish() (the snapshot's files are released then): the bytes of blob
  // `name` as old rank `old_rank` (0 to restored_world_size() - 1) saved it,
  // checksum verified. Throws Error(invalid_argument) outside that window or
  // for a rank out of range, Error(not_found) when that rank saved no such
  // blob, Error(corrupt) when its bytes fail their checksum.
  std::vector<std::byte> restored_blob(std::string_view name, int old_rank);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lull
