#ifndef LULL_H
#define LULL_H
/* lull's C API: the runtime (lull/runtime.h) for C and other languages.
 *
 *   lull_runtime* rt = NULL;
 *   if (lull_open(NULL, NULL, MPI_COMM_WORLD, &rt) != LULL_OK) { fprintf(stderr, "%s\n", lull_last_error()); return 1; }
 *   uint64_t n = 1024;
 *   lull_protect_replicated(rt, "w", LULL_F32, 1, &n, w);
 *   lull_protect_bytes(rt, "rng", &rng, sizeof rng);
 *   uint64_t step = 0;
 *   lull_restore(rt, &step);
 *   while (step < total) {
 *     train_one_step();
 *     ++step;
 *     int stop = 0;
 *     lull_end_step(rt, step, &stop);
 *     if (stop) break;
 *   }
 *   int code = stop ? lull_exit_code(rt) : lull_finish(rt, total);
 *   lull_close(rt);
 *   return code;   // 0 finished, 75 preempted (resume with the same command),
 *                  // 74 a snapshot the job needed could not be written
 *
 * Every function returns LULL_OK (0) or a non-zero lull_status; the message
 * of the last failure on the calling thread is lull_last_error(). The
 * collective functions (lull_open, lull_restore, lull_end_step,
 * lull_checkpoint, lull_finish) must be called by every rank at the same
 * points, as in the C++ API; lull_protect* are local but every rank protects
 * the same names in the same order. A handle is used by one thread at a time.
 */
#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lull_runtime lull_runtime;

typedef enum lull_status {
  LULL_OK = 0,
  LULL_ERR_INVALID_ARGUMENT = 1,
  LULL_ERR_NOT_FOUND = 2,
  LULL_ERR_CORRUPT = 3,
  LULL_ERR_IO = 4,
  LULL_ERR_UNSUPPORTED = 5,
  LULL_ERR_INTERNAL = 6,
  LULL_ERR_IN_USE = 7 /* the snapshot directory belongs to another live job */
} lull_status;

typedef enum lull_dtype {
  LULL_F16 = 0,
  LULL_BF16 = 1,
  LULL_F32 = 2,
  LULL_F64 = 3,
  LULL_I8 = 4,
  LULL_U8 = 5,
  LULL_I32 = 6,
  LULL_I64 = 7,
  LULL_BOOL = 8
} lull_dtype;

/* Exit codes (docs/lull-run.md, "Exit codes"): 0 finished; 75 stopped for preemption,
 * resumable from a committed snapshot; 74 (EX_IOERR) a snapshot the job
 * needed could not be written (the final one, or a preemption snapshot with
 * no earlier one to resume from): lull_last_error() says what failed and
 * whether a rerun resumes from an earlier snapshot. */
enum { LULL_EXIT_FINISHED = 0, LULL_EXIT_SNAPSHOT_FAILED = 74, LULL_EXIT_PREEMPTED = 75 };

/* Collective. Options come from the LULL_* environment variables (docs/preemptible-programs.md, "Settings");
 * `job` and `ckpt_dir` override LULL_JOB and LULL_CKPT_DIR when not NULL.
 * `comm` is borrowed. On success *out is a handle to free with lull_close.
 * LULL_ERR_IN_USE when another live job writes to the snapshot directory
 * (lull_last_error() names it: job, pid, host). */
lull_status lull_open(const char* job, const char* ckpt_dir, MPI_Comm comm, lull_runtime** out);

/* Local. Frees the handle (NULL is fine); never runs a collective. */
void lull_close(lull_runtime* rt);

/* Local. A tensor of `ndims` (<= 8) dimensions, this rank holding the box
 * [offset, offset + extent) of `global_shape`, in C order at `data`, which
 * must stay valid. */
lull_status lull_protect(lull_runtime* rt, const char* name, lull_dtype dtype, int ndims,
                         const uint64_t* global_shape, const uint64_t* offset, const uint64_t* extent,
                         void* data);
/* Local. A tensor every rank holds whole (rank 0 writes it). */
lull_status lull_protect_replicated(lull_runtime* rt, const char* name, lull_dtype dtype, int ndims,
                                    const uint64_t* shape, void* data);
/* Local. `size` rank-local bytes at `data` (an RNG state, a data cursor). */
lull_status lull_protect_bytes(lull_runtime* rt, const char* name, void* data, size_t size);

/* Collective. Loads the newest usable snapshot; *step is the number of steps
 * already done (0 when there is none). */
lull_status lull_restore(lull_runtime* rt, uint64_t* step);
/* Collective, after every step with the number of steps done. *stop becomes
 * 1 when the program must leave its loop and exit with lull_exit_code(). */
lull_status lull_end_step(lull_runtime* rt, uint64_t step, int* stop);
/* Collective. Writes and commits a snapshot of `step` now; LULL_ERR_IO
 * (with what failed) when it could not be committed: the previous snapshot
 * stays the latest. */
lull_status lull_checkpoint(lull_runtime* rt, uint64_t step);
/* Collective. The loop ended after `step` steps; commits the final state and
 * returns the exit code: 0; 74 when the final snapshot could not be
 * committed (the work is done but not durable; lull_last_error() says why
 * and from which snapshot a rerun resumes); -1 on misuse (lull_last_error). */
int lull_finish(lull_runtime* rt, uint64_t step);
/* Local. 0, 75 after a preemption stop, 74 after a failed snapshot (above). */
int lull_exit_code(const lull_runtime* rt);

/* ---- Elastic resume: another number of ranks than wrote the snapshot ----
 * Tensors are resharded by lull_restore. Rank-local bytes (lull_protect_bytes)
 * are loaded only at the same world size; at another they stay as the
 * program set them, and any old rank's are read with the call below. */

/* Local, after lull_restore: *world_size is the number of ranks that wrote
 * the restored snapshot; 0 when none was restored. */
lull_status lull_restored_world_size(const lull_runtime* rt, int* world_size);
/* Local, between lull_restore and the first lull_end_step, lull_checkpoint
 * or lull_finish: blob `name` of old rank `old_rank` (0 to the restored world
 * size - 1), checksum verified. *size becomes its size in bytes; it is copied
 * to `buffer` when `capacity` holds it (buffer NULL and capacity 0: only the
 * size). LULL_ERR_INVALID_ARGUMENT when `capacity` is too small (nothing
 * copied; *size says how much is needed), outside that window or for a rank
 * out of range; LULL_ERR_NOT_FOUND when that rank saved no such blob. */
lull_status lull_read_restored_blob(lull_runtime* rt, const char* name, int old_rank, void* buffer, size_t capacity,
                                    size_t* size);

/* ---- The job's place in its data, the same at any number of ranks ----
 * A sample cursor (lull/runtime/sample_cursor.h, docs/preemptible-programs.md,
 * "Data order at any world size"): an epoch visits samples 0..dataset_size-1
 * in a permutation drawn from (seed, epoch), the same on every rank and
 * machine; a step takes the next `global_batch` samples of it (or what is left
 * of the epoch) and rank r of W takes its contiguous share. So the batches
 * depend on the global batch, not on the world size, and a job resumed on
 * another number of ranks takes each sample of an epoch exactly once.
 *
 *   lull_cursor* cursor = NULL;
 *   lull_cursor_create(n_samples, seed, &cursor);
 *   lull_protect_cursor(rt, "data.order", cursor);   (before lull_restore)
 *   ...after lull_restore, each step:
 *   lull_cursor_rank_batch(cursor, global_batch, rank, world, ids, capacity, &count);
 *   ...train on ids[0..count), gradients averaged over lull_cursor_step_size() samples...
 *   lull_cursor_advance(cursor, global_batch);        (every rank, same argument)
 *   ...after lull_close: lull_cursor_destroy(cursor);
 *
 * Every rank holds its own cursor, created with the same arguments; they stay
 * equal because every rank advances them alike. Local calls; a cursor is used
 * by one thread at a time. */
typedef struct lull_cursor lull_cursor;

/* Local. A cursor at epoch 0, position 0. LULL_ERR_INVALID_ARGUMENT for a
 * dataset_size of 0. On success *out is a cursor to free with
 * lull_cursor_destroy. */
lull_status lull_cursor_create(uint64_t dataset_size, uint64_t seed, lull_cursor** out);
/* Local. Frees the cursor (NULL is fine). A protected cursor must outlive
 * its runtime: destroy it after lull_close. */
void lull_cursor_destroy(lull_cursor* cursor);
/* Local, before lull_restore like lull_protect*: the cursor's epoch and
 * position are saved as the replicated tensor `name` (i64[4]: data set size,
 * seed, epoch, position) and restored at any world size. */
lull_status lull_protect_cursor(lull_runtime* rt, const char* name, lull_cursor* cursor);
/* Local. *size becomes the number of samples the next step takes over all
 * ranks: global_batch, or what is left of the epoch (a step never spans two
 * epochs). LULL_ERR_INVALID_ARGUMENT for a global_batch of 0, or when the
 * restored position belongs to another data set size or seed. */
lull_status lull_cursor_step_size(const lull_cursor* cursor, uint64_t global_batch, uint64_t* size);
/* Local. The ids (0..dataset_size-1) rank `rank` of `world_size` takes in
 * the next step; does not advance. *count becomes their number (0 when the
 * step has fewer samples than ranks and this rank's share is empty); they
 * are copied to `ids` when `capacity` holds them (ids NULL and capacity 0:
 * only the count). LULL_ERR_INVALID_ARGUMENT when `capacity` is too small
 * (nothing copied; *count says how many are needed), for a rank outside
 * 0..world_size-1, and as lull_cursor_step_size. A capacity of
 * ceil(global_batch / world_size) always suffices. */
lull_status lull_cursor_rank_batch(const lull_cursor* cursor, uint64_t global_batch, int rank, int world_size,
                                   uint64_t* ids, size_t capacity, size_t* count);
/* Local. Moves past the next step (to the next epoch after its last
 * sample); every rank calls it with the same global_batch. */
lull_status lull_cursor_advance(lull_cursor* cursor, uint64_t global_batch);
/* Local. The current epoch (from 0), and the samples of it that all ranks
 * together have taken. */
lull_status lull_cursor_epoch(const lull_cursor* cursor, uint64_t* epoch);
lull_status lull_cursor_position(const lull_cursor* cursor, uint64_t* position);

/* The message of the calling thread's last failure ("" if none). */
const char* lull_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* LULL_H */
