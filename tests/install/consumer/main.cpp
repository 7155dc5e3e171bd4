// A 1-rank program against the installed lull: write, commit, read back.
// Usage: app SNAPSHOT_DIR. Prints "consumer: ok ..." and exits 0 on success.
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <numeric>
#include <vector>

#include <lull/base/version.h>
#include <lull/checkpoint.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: app SNAPSHOT_DIR\n";
    return 2;
  }
  try {
    constexpr std::uint64_t kStep = 7;
    lull::SnapshotStore store(argv[1]);

    std::vector<double> weights(3 * 4);
    std::iota(weights.begin(), weights.end(), 0.5);
    const std::vector<std::byte> cursor = {std::byte{1}, std::byte{2}, std::byte{3}};

    lull::SnapshotWriter writer = store.writer(kStep, 0, 1);
    writer.write_tensor("w", lull::DType::f64, {3, 4}, {0, 0}, {3, 4}, weights.data());
    writer.write_replicated("b", lull::DType::i32, {2}, std::vector<std::int32_t>{-1, 1}.data());
    writer.write_blob("cursor", cursor);
    store.commit(kStep, {writer.finish()});

    lull::SnapshotReader reader = store.open_latest();
    std::vector<double> read_back(weights.size());
    reader.read_all("w", lull::DType::f64, read_back.data());
    if (reader.step() != kStep || read_back != weights || reader.read_blob(0, "cursor") != cursor) {
      std::cerr << "consumer: read back something else than was written\n";
      return 1;
    }
    std::cout << "consumer: ok, step " << reader.step() << " written and read with lull "
              << LULL_VERSION << "\n";
    return 0;
  } catch (const lull::Error& error) {
    std::cerr << "consumer: " << error.what() << "\n";
    return 1;
  }
}
