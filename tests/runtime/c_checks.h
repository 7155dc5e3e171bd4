/* c_checks.h — what the C API's check programs (c_api_misuse.c,
 * c_api_cursor.c) share: MPI started and the --ckpt-dir argument read, a
 * failure count per rank, and the verdict agreed by every rank.
 *
 *   int main(int argc, char** argv) {
 *     const char* ckpt_dir = checks_begin(argc, argv);
 *     if (ckpt_dir == NULL) return 2;
 *     ... cases, each ++g_failures on a failure ...
 *     return checks_end("misuse");   (rank 0 prints `misuse checks passed`)
 *   }
 */
#ifndef LULL_TESTS_C_CHECKS_H
#define LULL_TESTS_C_CHECKS_H

#include <mpi.h>
#include <stdio.h>
#include <string.h>

static int g_failures = 0;
static int g_rank = 0;

/* MPI_Init, g_rank, and the snapshot directory of `PROGRAM --ckpt-dir DIR`;
 * NULL (after a usage line and MPI_Finalize) when the arguments are not that. */
static const char* checks_begin(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  const char* ckpt_dir = argc == 3 && strcmp(argv[1], "--ckpt-dir") == 0 ? argv[2] : NULL;
  if (ckpt_dir == NULL) {
    if (g_rank == 0) fprintf(stderr, "usage: %s --ckpt-dir DIR\n", argv[0]);
    MPI_Finalize();
  }
  return ckpt_dir;
}

/* Collective: the failures of every rank summed; rank 0 prints `<what>
 * checks passed` or how many failed; MPI_Finalize. The exit code: 0 when
 * every check held on every rank, 1 otherwise. */
static int checks_end(const char* what) {
  int failures = 0;
  MPI_Allreduce(&g_failures, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (g_rank == 0 && failures == 0) printf("%s checks passed\n", what);
  if (g_rank == 0 && failures != 0) printf("%d %s checks failed\n", failures, what);
  fflush(stdout);
  MPI_Finalize();
  return failures == 0 ? 0 : 1;
}

#endif /* LULL_TESTS_C_CHECKS_H */
