// snapshot_store — lull's snapshot store on its own: no runtime, no MPI.
// docs/snapshot-store.md shows this file; the test docs.example.snapshot_store
// builds it, runs it, checks the snapshot with `lull verify` and reads it
// with h5py (docs/examples/read_snapshot.py).
//
//   build/bin/snapshot_store /tmp/ckpt/store
//
// One process writes the shards of two ranks in turn (in a job, each rank
// writes its own, at the same time, in its own process), commits them as one
// snapshot and reads back a box of rows that lies across both shards.
// Exit codes: 0 ok, 1 failure (the reason on stderr), 2 bad command line.
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <numeric>
#include <vector>

#include "lull/checkpoint.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: snapshot_store SNAPSHOT_DIR\n";
    return 2;
  }
  try {
    constexpr std::uint64_t step = 100, rows = 8, cols = 4;
    constexpr int world_size = 2;

    lull::StoreOptions options;
    options.lock_as_job = "snapshot_store";        // Error(in_use) names the job holding it
    lull::SnapshotStore store(argv[1], options);    // created 0700 if missing; locked while it lives

    std::vector<lull::ShardReport> reports;
    for (int rank = 0; rank < world_size; ++rank) {
      const std::uint64_t my_rows = rows / world_size, first = my_rows * rank;
      std::vector<float> w(my_rows * cols);
      std::iota(w.begin(), w.end(), static_cast<float>(first * cols));  // element (i, j) holds i * cols + j
      const std::vector<float> bias(cols, 0.5f);
      const std::vector<std::byte> rng(32, static_cast<std::byte>(rank));

      lull::SnapshotWriter writer = store.writer(step, rank, world_size);
      writer.write_tensor("w", lull::DType::f32, {rows, cols},     // the global shape
                          {first, 0}, {my_rows, cols}, w.data());  // this rank's box
      writer.write_replicated("b", lull::DType::f32, {cols}, bias.data());  // every rank holds it whole
      writer.write_blob("rng", rng);                                        // rank-local bytes
      reports.push_back(writer.finish());                                   // a durable (fsync'd) shard file
    }
    // In a job, the reports travel to one rank (report.to_json(), ShardReport::from_json()).
    const lull::CommitResult committed = store.commit(step, reports);  // atomic; keeps the newest 2

    lull::SnapshotReader reader = store.open_latest();               // the newest snapshot that verifies
    std::vector<float> middle(2 * cols);
    reader.read("w", lull::DType::f32, {3, 0}, {2, cols}, middle.data());  // rows 3 and 4: one from each shard

    for (std::uint64_t i = 0; i < middle.size(); ++i) {
      if (middle[i] != static_cast<float>(3 * cols + i)) {
        std::cerr << "snapshot_store: rows 3 and 4 of w read back wrong at element " << i << "\n";
        return 1;
      }
    }
    std::cout << "committed step " << committed.step << ": " << committed.root_file.string() << "\n"
              << "read rows 3-4 of w across " << reader.world_size() << " shards: ok\n";
    return 0;
  } catch (const lull::Error& error) {
    std::cerr << "snapshot_store: " << error.what() << "\n";
    return 1;
  }
}
