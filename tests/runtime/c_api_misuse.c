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
#include <string.h>

static int g_failures = 0;
static int g_rank = 0;

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

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  const char* ckpt_dir = argc == 3 && strcmp(argv[1], "--ckpt-dir") == 0 ? argv[2] : NULL;
  if (ckpt_dir == NULL) {
    if (g_rank == 0) fprintf(stderr, "usage: %s --ckpt-dir DIR\n", argv[0]);
    MPI_Finalize();
    return 2;
  }

  misuse_before_open(ckpt_dir);
  lull_runtime* rt = NULL;
  expect("open", lull_open("misuse", ckpt_dir, MPI_COMM_WORLD, &rt), LULL_OK, "");
  if (rt != NULL) misuse_of_protect(rt);
  lull_close(rt);
  different_state_on_ranks(ckpt_dir);

  int failures = 0;
  MPI_Allreduce(&g_failures, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (g_rank == 0 && failures == 0) printf("misuse checks passed\n");
  if (g_rank == 0 && failures != 0) printf("%d misuse checks failed\n", failures);
  fflush(stdout);
  MPI_Finalize();
  return failures == 0 ? 0 : 1;
}
