/* c_api_cursor — the sample cursor of the C API (lull.h) from C, with the
 * real runtime and real snapshot files.
 *
 *   mpirun -np 2 c_api_cursor --ckpt-dir DIR
 *
 * Cases, every rank running each (the collective ones as the contract asks):
 *   misuse         a data set of 0, a global batch of 0, NULL pointers, a
 *                  rank out of range, too small an ids buffer: each a status
 *                  and a message in C's words, never a crash
 *   exactly once   one cursor driven at 4, then 2, then 3 ranks (as jobs
 *                  resumed on other world sizes): each sample once per
 *                  epoch, and a step's shares joined in rank order are the
 *                  step's samples at one rank
 *   round trip     protected, advanced across an epoch's end, checkpointed
 *                  at the job's world size; restored into fresh cursors at
 *                  the same world size and at 1 rank (MPI_COMM_SELF on rank
 *                  0): same epoch, position and next ids; restored into a
 *                  cursor of another seed: refused when used, saying why
 * Prints `ok <case>` or `FAIL ...` per check on rank 0 (failures on every
 * rank); `cursor checks passed` last, exit 0 when every check held on every
 * rank.
 */
#define _POSIX_C_SOURCE 200809L

#include <lull.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_checks.h"


static void fail(const char* name, const char* what) {
  printf("FAIL rank %d %s: %s (last error \"%s\")\n", g_rank, name, what, lull_last_error());
  ++g_failures;
}

/* `status` must be `expected`; a failure's message must contain `needle`
 * and no C++ (type names, "::", "std::"). */
static void expect(const char* name, lull_status status, lull_status expected, const char* needle) {
  static const char* const cxx[] = {"::", "SampleCursor", "std::", "rank_batch(", "step_size(", "Runtime"};
  const char* message = lull_last_error();
  if (status != expected) {
    char what[128];
    snprintf(what, sizeof what, "status %d, expected %d", (int)status, (int)expected);
    fail(name, what);
    return;
  }
  if (expected != LULL_OK) {
    if (strstr(message, needle) == NULL) {
      fail(name, needle);
      return;
    }
    for (size_t i = 0; i < sizeof cxx / sizeof cxx[0]; ++i) {
      if (strstr(message, cxx[i]) != NULL) {
        fail(name, "the message shows C++");
        return;
      }
    }
  }
  if (g_rank == 0) printf("ok %s\n", name);
}

static void check(const char* name, int held) {
  if (!held) {
    fail(name, "does not hold");
  } else if (g_rank == 0) {
    printf("ok %s\n", name);
  }
}

static void misuse(void) {
  lull_cursor* cursor = NULL;
  uint64_t value = 0;
  size_t count = 0;
  uint64_t ids[4];
  expect("create over an empty data set", lull_cursor_create(0, 1, &cursor), LULL_ERR_INVALID_ARGUMENT,
         "empty data set");
  check("no cursor after a refused create", cursor == NULL);
  expect("create with NULL out", lull_cursor_create(10, 1, NULL), LULL_ERR_INVALID_ARGUMENT, "out is NULL");
  expect("create", lull_cursor_create(10, 1, &cursor), LULL_OK, "");
  expect("step size of a global batch of 0", lull_cursor_step_size(cursor, 0, &value), LULL_ERR_INVALID_ARGUMENT,
         "global batch of 0");
  expect("rank batch of a global batch of 0", lull_cursor_rank_batch(cursor, 0, 0, 1, ids, 4, &count),
         LULL_ERR_INVALID_ARGUMENT, "global batch of 0");
  expect("advance by a global batch of 0", lull_cursor_advance(cursor, 0), LULL_ERR_INVALID_ARGUMENT,
         "global batch of 0");
  expect("rank batch of a rank out of range", lull_cursor_rank_batch(cursor, 8, 2, 2, ids, 4, &count),
         LULL_ERR_INVALID_ARGUMENT, "rank 2 of a world of 2");
  expect("rank batch of a world of 0", lull_cursor_rank_batch(cursor, 8, 0, 0, ids, 4, &count),
         LULL_ERR_INVALID_ARGUMENT, "world of 0");
  expect("rank batch into too small a buffer", lull_cursor_rank_batch(cursor, 8, 0, 1, ids, 4, &count),
         LULL_ERR_INVALID_ARGUMENT, "takes 8 samples of this step, the buffer holds 4");
  check("too small a buffer: the count says what is needed", count == 8);
  expect("rank batch into a NULL buffer of some capacity", lull_cursor_rank_batch(cursor, 8, 0, 1, NULL, 8, &count),
         LULL_ERR_INVALID_ARGUMENT, "the buffer holds 0");
  count = 0;
  expect("rank batch: only the count", lull_cursor_rank_batch(cursor, 8, 1, 2, NULL, 0, &count), LULL_OK, "");
  check("the count of a half share", count == 4);
  expect("step size with NULL size", lull_cursor_step_size(cursor, 4, NULL), LULL_ERR_INVALID_ARGUMENT, "NULL");
  expect("rank batch with NULL count", lull_cursor_rank_batch(cursor, 4, 0, 1, ids, 4, NULL),
         LULL_ERR_INVALID_ARGUMENT, "NULL");
  expect("step size of a NULL cursor", lull_cursor_step_size(NULL, 4, &value), LULL_ERR_INVALID_ARGUMENT, "NULL");
  expect("rank batch of a NULL cursor", lull_cursor_rank_batch(NULL, 4, 0, 1, ids, 4, &count),
         LULL_ERR_INVALID_ARGUMENT, "NULL");
  expect("advance a NULL cursor", lull_cursor_advance(NULL, 4), LULL_ERR_INVALID_ARGUMENT, "NULL");
  expect("epoch of a NULL cursor", lull_cursor_epoch(NULL, &value), LULL_ERR_INVALID_ARGUMENT, "NULL");
  expect("position into NULL", lull_cursor_position(cursor, NULL), LULL_ERR_INVALID_ARGUMENT, "NULL");
  expect("protect a cursor with a NULL handle", lull_protect_cursor(NULL, "c", cursor), LULL_ERR_INVALID_ARGUMENT,
         "NULL");
  /* The refusals left the cursor where it was. */
  uint64_t epoch = 1, position = 1;
  expect("epoch", lull_cursor_epoch(cursor, &epoch), LULL_OK, "");
  expect("position", lull_cursor_position(cursor, &position), LULL_OK, "");
  check("refusals do not move the cursor", epoch == 0 && position == 0);
  lull_cursor_destroy(cursor);
  lull_cursor_destroy(NULL); /* allowed */
}

/* One cursor taken through world sizes 4 -> 2 -> 3 (steps_per_world steps
 * each, repeating) over `epochs` epochs: every id once per epoch. */
static void exactly_once(void) {
  enum { kSamples = 103, kGlobalBatch = 16, kEpochs = 3, kStepsPerWorld = 3 };
  static const int worlds[] = {4, 2, 3};
  unsigned char seen[kSamples];
  lull_cursor* cursor = NULL;
  if (lull_cursor_create(kSamples, 42, &cursor) != LULL_OK) {
    fail("exactly once", "create");
    return;
  }
  int held = 1;
  int shares_are_the_step = 1;
  uint64_t epoch = 0;
  int step = 0;
  memset(seen, 0, sizeof seen);
  while (epoch < kEpochs && held) {
    const int world = worlds[(step / kStepsPerWorld) % 3];
    uint64_t whole[kGlobalBatch];
    size_t whole_count = 0;
    held = lull_cursor_rank_batch(cursor, kGlobalBatch, 0, 1, whole, kGlobalBatch, &whole_count) == LULL_OK;
    size_t joined = 0;
    for (int rank = 0; rank < world && held; ++rank) {
      uint64_t ids[kGlobalBatch];
      size_t count = 0;
      held = lull_cursor_rank_batch(cursor, kGlobalBatch, rank, world, ids, kGlobalBatch, &count) == LULL_OK;
      for (size_t i = 0; i < count && held; ++i) {
        held = ids[i] < kSamples && !seen[ids[i]];
        if (held) seen[ids[i]] = 1;
        if (joined >= whole_count || ids[i] != whole[joined]) shares_are_the_step = 0;
        ++joined;
      }
    }
    if (joined != whole_count) shares_are_the_step = 0;
    held = held && lull_cursor_advance(cursor, kGlobalBatch) == LULL_OK;
    uint64_t now = 0;
    held = held && lull_cursor_epoch(cursor, &now) == LULL_OK;
    if (held && now != epoch) { /* an epoch ended: every sample was taken */
      for (int id = 0; id < kSamples; ++id) held = held && seen[id];
      memset(seen, 0, sizeof seen);
      epoch = now;
    }
    ++step;
  }
  check("each sample once per epoch across 4 -> 2 -> 3 ranks", held && epoch == kEpochs);
  check("a step's shares joined in rank order are the step at 1 rank", shares_are_the_step);
  lull_cursor_destroy(cursor);
}

enum { kRoundSamples = 50, kRoundSeed = 7, kRoundBatch = 8 };

/* Opens a runtime on `comm` over `dir` with a fresh cursor of `seed`
 * protected, restores; the caller closes both. */
static int open_and_restore(const char* name, const char* dir, MPI_Comm comm, uint64_t seed, lull_runtime** rt,
                            lull_cursor** cursor, uint64_t* step) {
  *rt = NULL;
  *cursor = NULL;
  if (lull_open("cursor", dir, comm, rt) != LULL_OK || lull_cursor_create(kRoundSamples, seed, cursor) != LULL_OK ||
      lull_protect_cursor(*rt, "data.order", *cursor) != LULL_OK || lull_restore(*rt, step) != LULL_OK) {
    fail(name, "open, protect or restore");
    return 0;
  }
  return 1;
}

static void close_both(lull_runtime* rt, lull_cursor* cursor) {
  lull_close(rt); /* first: the runtime borrows the cursor */
  lull_cursor_destroy(cursor);
}

/* Whether `cursor` is at (epoch, position) and its next step at 1 rank is `expected`. */
static int at(const lull_cursor* cursor, uint64_t epoch, uint64_t position, const uint64_t* expected) {
  uint64_t e = 0, p = 0, ids[kRoundBatch];
  size_t count = 0;
  if (lull_cursor_epoch(cursor, &e) != LULL_OK || lull_cursor_position(cursor, &p) != LULL_OK) return 0;
  if (lull_cursor_rank_batch(cursor, kRoundBatch, 0, 1, ids, kRoundBatch, &count) != LULL_OK) return 0;
  return e == epoch && p == position && count == kRoundBatch && memcmp(ids, expected, sizeof ids) == 0;
}

static void round_trip(const char* ckpt_dir) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s.cursor", ckpt_dir);
  int world = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  lull_runtime* rt = NULL;
  lull_cursor* cursor = NULL;
  uint64_t step = 0;

  /* The first run: 8 steps of 8 over 50 samples cross the epoch's end
   * (6 steps of 8, one of the 2 left, one more of 8: epoch 1, position 8). */
  if (!open_and_restore("first run", dir, MPI_COMM_WORLD, kRoundSeed, &rt, &cursor, &step)) return;
  int held = step == 0;
  for (int i = 0; i < 8 && held; ++i) held = lull_cursor_advance(cursor, kRoundBatch) == LULL_OK;
  uint64_t epoch = 0, position = 0, next[kRoundBatch];
  size_t count = 0;
  held = held && lull_cursor_epoch(cursor, &epoch) == LULL_OK && lull_cursor_position(cursor, &position) == LULL_OK &&
         lull_cursor_rank_batch(cursor, kRoundBatch, 0, 1, next, kRoundBatch, &count) == LULL_OK;
  check("advanced across the epoch's end", held && epoch == 1 && position == 8 && count == kRoundBatch);
  expect("checkpoint with the cursor", lull_checkpoint(rt, 8), LULL_OK, "");
  close_both(rt, cursor);

  /* The same world size, fresh cursors. */
  if (open_and_restore("same world size", dir, MPI_COMM_WORLD, kRoundSeed, &rt, &cursor, &step)) {
    check("restored at the same world size: same epoch, position, next ids",
          step == 8 && at(cursor, epoch, position, next));
    close_both(rt, cursor);
  }

  /* Another world size: rank 0 alone resumes the job. */
  if (g_rank == 0 && open_and_restore("one rank", dir, MPI_COMM_SELF, kRoundSeed, &rt, &cursor, &step)) {
    int old_world = 0;
    lull_restored_world_size(rt, &old_world);
    check("restored at 1 rank from a snapshot of the job's ranks",
          step == 8 && old_world == world && at(cursor, epoch, position, next));
    close_both(rt, cursor);
  }
  MPI_Barrier(MPI_COMM_WORLD);

  /* Another seed than the job's: refused when used, never a silent other order. */
  if (open_and_restore("another seed", dir, MPI_COMM_WORLD, kRoundSeed + 1, &rt, &cursor, &step)) {
    uint64_t ids[kRoundBatch];
    expect("a restored position of another seed, used", lull_cursor_rank_batch(cursor, kRoundBatch, 0, 1, ids,
                                                                                kRoundBatch, &count),
           LULL_ERR_INVALID_ARGUMENT, "50 samples with seed 7, this program has 50 samples with seed 8");
    close_both(rt, cursor);
  }
}

int main(int argc, char** argv) {
  const char* ckpt_dir = checks_begin(argc, argv);
  if (ckpt_dir == NULL) return 2;
  misuse();
  exactly_once();
  round_trip(ckpt_dir);
  return checks_end("cursor");
}
