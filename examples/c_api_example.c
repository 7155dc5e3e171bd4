/* c_api_example — lull's C API (lull.h) from a plain C program.
 *
 *   mpirun -np 2 build/bin/c_api_example --ckpt-dir /tmp/ckpt --steps 200 --sleep-ms 10
 *   lull run --ckpt-dir /tmp/ckpt -- mpirun -np 2 build/bin/c_api_example --steps 200
 *
 * Protects three kinds of state: a 2-D array sharded by rows over the ranks
 * ("field", f64), an array every rank holds whole ("weights", f32) and
 * rank-local bytes (each rank's random generator). A step is a
 * deterministic update and one MPI_Allreduce, as a data-parallel step has.
 * A preempted run (SIGUSR1 to any rank, or `lull run` getting SIGTERM)
 * exits 75; the same command resumes it, and the last line on rank 0,
 * `checksum <hex>`, is then the same as an uninterrupted run's.
 * Exit codes: 0 finished, 75 preempted, 74 a snapshot could not be written
 * (lull.h), 1 failure, 2 bad command line.
 */
#define _POSIX_C_SOURCE 200809L

#include <lull.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ROWS = 64, COLS = 32, WEIGHTS = COLS };

typedef struct flags {
  uint64_t steps;
  long sleep_ms;
  const char* ckpt_dir; /* NULL: LULL_CKPT_DIR */
} flags;

/* The training state of one rank; lull reads and writes it in place. */
typedef struct state {
  uint64_t first_row, rows; /* this rank's rows of the field */
  double* field;            /* rows x COLS */
  float weights[WEIGHTS];   /* replicated */
  uint64_t rng;             /* rank-local */
} state;

static int parse_flags(int argc, char** argv, flags* f) {
  f->steps = 200;
  f->sleep_ms = 0;
  f->ckpt_dir = NULL;
  for (int i = 1; i < argc; ++i) {
    const char* value = i + 1 < argc ? argv[i + 1] : NULL;
    if (value != NULL && strcmp(argv[i], "--steps") == 0) {
      f->steps = strtoull(value, NULL, 10);
    } else if (value != NULL && strcmp(argv[i], "--sleep-ms") == 0) {
      f->sleep_ms = strtol(value, NULL, 10);
    } else if (value != NULL && strcmp(argv[i], "--ckpt-dir") == 0) {
      f->ckpt_dir = value;
    } else {
      fprintf(stderr, "usage: %s [--steps N] [--sleep-ms MS] [--ckpt-dir DIR]\n", argv[0]);
      return 0;
    }
    ++i;
  }
  return f->sleep_ms >= 0;
}

static uint64_t next_random(uint64_t* s) { /* xorshift64 */
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void sleep_ms(long ms) {
  struct timespec t;
  t.tv_sec = ms / 1000;
  t.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&t, NULL);
}

/* One step: a local update of the field, then the weights move by the
 * global mean of the field (the allreduce every rank takes part in). */
static void train_one_step(state* s) {
  double local = 0, global = 0;
  for (uint64_t r = 0; r < s->rows; ++r) {
    for (int c = 0; c < COLS; ++c) {
      double noise = (double)(next_random(&s->rng) >> 11) * 0x1.0p-53;
      double* x = &s->field[r * COLS + (uint64_t)c];
      *x = 0.99 * *x + 0.01 * (double)s->weights[c] + 0.001 * noise;
      local += *x;
    }
  }
  MPI_Allreduce(&local, &global, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  for (int c = 0; c < WEIGHTS; ++c) {
    s->weights[c] = 0.9f * s->weights[c] + 0.1f * (float)(global / (ROWS * COLS)) + 0.001f * (float)c;
  }
}

/* FNV-1a over bytes, continuing from `h`. */
static uint64_t fnv1a(uint64_t h, const void* data, size_t size) {
  const unsigned char* p = data;
  for (size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

/* Collective: a hash of the whole state (every rank's rows and generator,
 * in rank order, then the weights); meaningful on rank 0. */
static uint64_t checksum(const state* s, int rank, int size) {
  uint64_t mine = fnv1a(0xcbf29ce484222325ULL, s->field, s->rows * COLS * sizeof(double));
  mine = fnv1a(mine, &s->rng, sizeof s->rng);
  uint64_t* all = rank == 0 ? malloc((size_t)size * sizeof(uint64_t)) : NULL;
  MPI_Gather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  uint64_t h = 0;
  if (rank == 0) {
    h = fnv1a(fnv1a(0xcbf29ce484222325ULL, all, (size_t)size * sizeof(uint64_t)), s->weights, sizeof s->weights);
    free(all);
  }
  return h;
}

#define CHECK(call)                                                          \
  do {                                                                       \
    if ((call) != LULL_OK) {                                                 \
      fprintf(stderr, "c_api_example: %s: %s\n", #call, lull_last_error()); \
      goto failed;                                                           \
    }                                                                        \
  } while (0)

static int train(const flags* f, int rank, int size) {
  state s;
  memset(&s, 0, sizeof s);
  s.first_row = (uint64_t)rank * ROWS / (uint64_t)size;
  s.rows = (uint64_t)(rank + 1) * ROWS / (uint64_t)size - s.first_row;
  s.field = calloc(s.rows * COLS + 1, sizeof(double));
  s.rng = 0x9e3779b97f4a7c15ULL + (uint64_t)rank;
  for (int c = 0; c < WEIGHTS; ++c) s.weights[c] = (float)c / WEIGHTS;

  lull_runtime* rt = NULL;
  int code = 1;
  const uint64_t global_shape[2] = {ROWS, COLS};
  const uint64_t offset[2] = {s.first_row, 0};
  const uint64_t extent[2] = {s.rows, COLS};
  const uint64_t weights_shape[1] = {WEIGHTS};
  CHECK(lull_open(NULL, f->ckpt_dir, MPI_COMM_WORLD, &rt));
  CHECK(lull_protect(rt, "field", LULL_F64, 2, global_shape, offset, extent, s.field));
  CHECK(lull_protect_replicated(rt, "weights", LULL_F32, 1, weights_shape, s.weights));
  CHECK(lull_protect_bytes(rt, "rng", &s.rng, sizeof s.rng));

  uint64_t step = 0;
  CHECK(lull_restore(rt, &step));
  if (rank == 0) {
    printf("%s at step %llu on %d ranks\n", step > 0 ? "resumed" : "starting", (unsigned long long)step, size);
    fflush(stdout);
  }
  int stop = 0;
  while (step < f->steps && !stop) {
    train_one_step(&s);
    if (f->sleep_ms > 0) sleep_ms(f->sleep_ms);
    ++step;
    CHECK(lull_end_step(rt, step, &stop));
  }
  if (stop) {
    code = lull_exit_code(rt);
    if (code == LULL_EXIT_PREEMPTED) {
      if (rank == 0) printf("preempted after step %llu (exit %d)\n", (unsigned long long)step, code);
    } else {
      fprintf(stderr, "c_api_example: %s\n", lull_last_error());
    }
  } else {
    code = lull_finish(rt, step);
    if (code == LULL_EXIT_FINISHED) {
      const uint64_t h = checksum(&s, rank, size);
      if (rank == 0) printf("finished %llu steps\nchecksum %016llx\n", (unsigned long long)step, (unsigned long long)h);
    } else {
      /* 74: the steps are done but the final snapshot is not: no success. */
      fprintf(stderr, "c_api_example: lull_finish: %s\n", lull_last_error());
      if (code < 0) code = 1;
    }
  }
  lull_close(rt);
  free(s.field);
  return code;

failed:
  lull_close(rt);
  free(s.field);
  return 1;
}

int main(int argc, char** argv) {
  flags f;
  if (!parse_flags(argc, argv, &f)) return 2;
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int code = train(&f, rank, size);
  fflush(stdout);
  /* A failure on one rank may leave the others inside a collective; lull's
   * exit codes are agreed by every rank. */
  if (code != 0 && code != LULL_EXIT_PREEMPTED && code != LULL_EXIT_SNAPSHOT_FAILED) MPI_Abort(MPI_COMM_WORLD, code);
  MPI_Finalize();
  return code;
}
