/* c_api_misuse — bad use of the C API (lull.h) must come back as a
 * non-zero lull_status and a message from lull_last_error(), never as a
 * crash, an abort or an exception crossing into C.
 *
 *   mpirun -np 2 c_api_misuse --ckpt-dir DIR
 *
 * Every rank runs every case (the collective ones too, as the contract
 * asks) and prints `ok <case>` or `FAIL <case>: ...`; rank 0 prints
 * `misuse checks passed` last and the exit code is 0 when every case held
 * on every rank, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <lull.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_checks.h"


/* `status` must be `expected` and, for a failure, the message must
 * contain `needle` (the part that tells the user what was wrong). */
static void expect(const char* name, lull_status status, lull_status expected, const char* needle) {
  const char* message = lull_last_error();
  if (status != expected) {
    printf("FAIL rank %d %s: status %d, expected %d (message \"%s\")\n", g_rank, name, (int)status, (int)expected,
           message);
    ++g_failures;
  } else if (expected != LULL_OK && (message[0] == '\0' || strstr(message, needle) == NULL)) {
    printf("FAIL rank %d %s: message \"%s\" does not mention \"%s\"\n", g_rank, name, message, needle);
    ++g_failures;
  } else if (expected == LULL_OK && message[0] != '\0') {
    printf("FAIL rank %d %s: success left the message \"%s\"\n", g_rank, name, message);
    ++g_failures;
  } else if (g_rank == 0) {
    printf("ok %s\n", name);
  }
}

static void misuse_before_open(const char* ckpt_dir) {
  lull_runtime* rt = NULL;
  uint64_t step = 0;
  int stop = 0;
  expect("open with NULL out", lull_open(NULL, ckpt_dir, MPI_COMM_WORLD, NULL), LULL_ERR_INVALID_ARGUMENT,
         "out is NULL");
  /* A snapshot directory that is a regular file: refused on every rank. */
  char not_a_dir[4096];
  snprintf(not_a_dir, sizeof not_a_dir, "%s.file", ckpt_dir);
  if (g_rank == 0) {
    FILE* f = fopen(not_a_dir, "w");
    if (f != NULL) fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  expect("open on a file instead of a directory", lull_open(NULL, not_a_dir, MPI_COMM_WORLD, &rt),
         LULL_ERR_INVALID_ARGUMENT, not_a_dir);
  if (rt != NULL) {
    printf("FAIL rank %d open on a file: handle set\n", g_rank);
    ++g_failures;
  }
  expect("restore with NULL handle", lull_restore(NULL, &step), LULL_ERR_INVALID_ARGUMENT, "NULL");
  expect("end_step with NULL handle", lull_end_step(NULL, 1, &stop), LULL_ERR_INVALID_ARGUMENT, "NULL");
  expect("checkpoint with NULL handle", lull_checkpoint(NULL, 1), LULL_ERR_INVALID_ARGUMENT, "NULL");
  if (lull_finish(NULL, 1) != -1 || strstr(lull_last_error(), "NULL") == NULL) {
    printf("FAIL rank %d finish with NULL handle: not -1 with a message\n", g_rank);
    ++g_failures;
  }
  if (lull_exit_code(NULL) != -1) {
    printf("FAIL rank %d exit_code of NULL is not -1\n", g_rank);
    ++g_failures;
  }
  lull_close(NULL); /* allowed */
}

static void misuse_of_protect(lull_runtime* rt) {
  static double data[16];
  const uint64_t shape[9] = {2, 2, 2, 2, 1, 1, 1, 1, 1};
  const uint64_t zeros[9] = {0};
  expect("protect with ndims 9", lull_protect(rt, "nine", LULL_F64, 9, shape, zeros, shape, data),
         LULL_ERR_INVALID_ARGUMENT, "ndims");
  expect("protect with ndims -1", lull_protect(rt, "negative", LULL_F64, -1, shape, zeros, shape, data),
         LULL_ERR_INVALID_ARGUMENT, "ndims");
  expect("protect with a NULL name", lull_protect(rt, NULL, LULL_F64, 1, shape, zeros, shape, data),
         LULL_ERR_INVALID_ARGUMENT, "name");
  expect("protect with a NULL shape", lull_protect(rt, "noshape", LULL_F64, 1, NULL, zeros, shape, data),
         LULL_ERR_INVALID_ARGUMENT, "global_shape");
  expect("protect with an unknown dtype", lull_protect(rt, "dtype", (lull_dtype)42, 1, shape, zeros, shape, data),
         LULL_ERR_INVALID_ARGUMENT, "lull_dtype 42");
  expect("protect with a bad name", lull_protect(rt, "a/b", LULL_F64, 1, shape, zeros, shape, data),
         LULL_ERR_INVALID_ARGUMENT, "a/b");
  expect("protect_replicated with ndims 9", lull_protect_replicated(rt, "nine", LULL_F64, 9, shape, data),
         LULL_ERR_INVALID_ARGUMENT, "ndims");
  expect("protect_replicated with a NULL name", lull_protect_replicated(rt, NULL, LULL_F64, 1, shape, data),
         LULL_ERR_INVALID_ARGUMENT, "name");
  expect("protect_bytes with a NULL name", lull_protect_bytes(rt, NULL, data, sizeof data),
         LULL_ERR_INVALID_ARGUMENT, "name");
  expect("protect_bytes with NULL data", lull_protect_bytes(rt, "nodata", NULL, 8), LULL_ERR_INVALID_ARGUMENT,
         "data");
  expect("restore with NULL step", lull_restore(rt, NULL), LULL_ERR_INVALID_ARGUMENT, "NULL");
  expect("end_step with NULL stop", lull_end_step(rt, 1, NULL), LULL_ERR_INVALID_ARGUMENT, "NULL");
  /* A good call after the failures: the handle still works and the
   * message is cleared. */
  expect("protect_replicated after the failures", lull_protect_replicated(rt, "good", LULL_F64, 1, shape, data),
         LULL_OK, "");
}

/* Collective: the ranks protect different shapes under one name; restore
 * must refuse on every rank (not hang, not crash). */
static void different_state_on_ranks(const char* ckpt_dir) {
  static float w[4];
  lull_runtime* rt = NULL;
  uint64_t step = 0;
  expect("open", lull_open("misuse", ckpt_dir, MPI_COMM_WORLD, &rt), LULL_OK, "");
  const uint64_t n = g_rank == 0 ? 4 : 3;
  expect("protect (differs per rank)", lull_protect_replicated(rt, "w", LULL_F32, 1, &n, w), LULL_OK, "");
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  expect("restore of state that differs between ranks", lull_restore(rt, &step),
         size > 1 ? LULL_ERR_INVALID_ARGUMENT : LULL_OK, "protected different state");
  lull_close(rt);
}

/* The message of the last failure speaks C: no C++ type, member or
 * function names. */
static void expect_c_words(const char* name) {
  static const char* const cxx[] = {"RuntimeOptions", "::", "restore()", "protect*", "end_step()", "std::"};
  const char* message = lull_last_error();
  for (size_t i = 0; i < sizeof cxx / sizeof cxx[0]; ++i) {
    if (strstr(message, cxx[i]) != NULL) {
      printf("FAIL rank %d %s: the message shows C++ (\"%s\"): %s\n", g_rank, name, cxx[i], message);
      ++g_failures;
    }
  }
}

/* Opens the job "refusals" in `dir` with w[4] protected; `run` names this
 * run in the report. */
static lull_runtime* open_refusals_job(const char* dir, const char* run, float* w) {
  const uint64_t n = 4;
  lull_runtime* rt = NULL;
  char what[128];
  snprintf(what, sizeof what, "open (%s)", run);
  expect(what, lull_open("refusals", dir, MPI_COMM_WORLD, &rt), LULL_OK, "");
  snprintf(what, sizeof what, "protect (%s)", run);
  expect(what, lull_protect_replicated(rt, "w", LULL_F32, 1, &n, w), LULL_OK, "");
  return rt;
}

/* Restores, and the step restored must be the first run's 500. */
static void expect_restores_step_500(lull_runtime* rt, const char* what) {
  uint64_t step = 0;
  expect(what, lull_restore(rt, &step), LULL_OK, "");
  if (step != 500) {
    printf("FAIL rank %d %s: step %llu, not 500 (the work of step 500 was lost)\n", g_rank, what,
           (unsigned long long)step);
    ++g_failures;
  }
}

/* Collective: misuse that would lose committed work is refused, on every
 * rank, before anything is written. */
static void refusals_that_keep_work(const char* base_dir) {
  static float w[4] = {1, 2, 3, 4};
  char dir[4096];
  snprintf(dir, sizeof dir, "%s.refusals", base_dir);
  lull_runtime* rt = NULL;
  uint64_t step = 0;
  int stop = 0;

  /* A first run commits step 500. */
  rt = open_refusals_job(dir, "first run", w);
  uint64_t mine = 1000 + (uint64_t)g_rank;
  expect("protect_bytes (first run)", lull_protect_bytes(rt, "mine", &mine, sizeof mine), LULL_OK, "");
  expect("restore (first run)", lull_restore(rt, &step), LULL_OK, "");
  expect("checkpoint 500", lull_checkpoint(rt, 500), LULL_OK, "");
  lull_close(rt);

  /* A run that forgets lull_restore: every way of saving is refused. */
  rt = open_refusals_job(dir, "no restore", w);
  expect("end_step without restoring", lull_end_step(rt, 1, &stop), LULL_ERR_INVALID_ARGUMENT,
         "(LULL_CKPT_DIR)");
  expect_c_words("end_step without restoring");
  expect("checkpoint without restoring", lull_checkpoint(rt, 1), LULL_ERR_INVALID_ARGUMENT, "holds snapshot step 500");
  expect_c_words("checkpoint without restoring");
  if (lull_finish(rt, 1) != -1 || strstr(lull_last_error(), "without restoring it first") == NULL) {
    printf("FAIL rank %d finish without restoring: not -1 with the reason (\"%s\")\n", g_rank, lull_last_error());
    ++g_failures;
  } else if (g_rank == 0) {
    printf("ok finish without restoring\n");
  }
  lull_close(rt);

  /* Restored: protecting more is refused; a lower step committed beside
   * step 500 leaves it alone. */
  rt = open_refusals_job(dir, "restoring", w);
  expect_restores_step_500(rt, "restore after the refusals");
  expect("protect after restoring", lull_protect_bytes(rt, "late", w, sizeof w), LULL_ERR_INVALID_ARGUMENT,
         "\"late\" is protected after the restore");
  expect_c_words("protect after restoring");
  /* Every old rank's bytes are readable after the restore. */
  int old_world = 0;
  expect("restored world size", lull_restored_world_size(rt, &old_world), LULL_OK, "");
  int world = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (old_world != world) {
    printf("FAIL rank %d restored world size %d, not %d\n", g_rank, old_world, world);
    ++g_failures;
  }
  for (int old = 0; old < old_world; ++old) {
    uint64_t theirs = 0;
    size_t size = 0;
    expect("read an old rank's blob", lull_read_restored_blob(rt, "mine", old, &theirs, sizeof theirs, &size), LULL_OK, "");
    if (size != sizeof theirs || theirs != 1000 + (uint64_t)old) {
      printf("FAIL rank %d blob of old rank %d: %llu (%zu bytes)\n", g_rank, old, (unsigned long long)theirs, size);
      ++g_failures;
    }
  }
  {
    char small[2];
    size_t size = 0;
    expect("read a blob into too small a buffer", lull_read_restored_blob(rt, "mine", 0, small, sizeof small, &size),
           LULL_ERR_INVALID_ARGUMENT, "holds 8 bytes");
    expect("read an old rank out of range", lull_read_restored_blob(rt, "mine", old_world, NULL, 0, &size),
           LULL_ERR_INVALID_ARGUMENT, "written by");
    expect("read a blob nobody saved", lull_read_restored_blob(rt, "nobody", 0, NULL, 0, &size), LULL_ERR_NOT_FOUND,
           "nobody");
  }
  expect("checkpoint of a lower step", lull_checkpoint(rt, 1), LULL_OK, "");
  {
    size_t size = 0;
    expect("read a blob after the first save", lull_read_restored_blob(rt, "mine", 0, NULL, 0, &size),
           LULL_ERR_INVALID_ARGUMENT, "after the first step ended");
  }
  lull_close(rt);
  rt = open_refusals_job(dir, "again", w);
  expect_restores_step_500(rt, "restore after a lower step's commit");
  lull_close(rt);

  /* No snapshot directory at all: the setting is named as C sets it. */
  const char* saved = getenv("LULL_CKPT_DIR");
  if (saved == NULL) {
    expect("open without a snapshot directory", lull_open("refusals", NULL, MPI_COMM_WORLD, &rt),
           LULL_ERR_INVALID_ARGUMENT, "set LULL_CKPT_DIR");
    expect_c_words("open without a snapshot directory");
  }
}

int main(int argc, char** argv) {
  const char* ckpt_dir = checks_begin(argc, argv);
  if (ckpt_dir == NULL) return 2;
  misuse_before_open(ckpt_dir);
  lull_runtime* rt = NULL;
  expect("open", lull_open("misuse", ckpt_dir, MPI_COMM_WORLD, &rt), LULL_OK, "");
  if (rt != NULL) misuse_of_protect(rt);
  lull_close(rt);
  different_state_on_ranks(ckpt_dir);
  refusals_that_keep_work(ckpt_dir);
  return checks_end("misuse");
}
