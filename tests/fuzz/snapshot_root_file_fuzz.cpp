// Fuzz target: a snapshot's root file, any bytes, read as every reader reads
// it (SnapshotReader::open: a restore, lull verify, lull inspect), with the
// shard files of a real snapshot beside it. The properties are in
// snapshot_reader_checks.h. The seeds are root files lull wrote and ones
// that lie (links and virtual datasets leading out of the snapshot, external
// storage, a manifest declaring 2^40 bytes): valid HDF5 that must be refused.
#include <cstddef>
#include <cstdint>

#include "snapshot_reader_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const lull::fuzz::FuzzSnapshot& snapshot = lull::fuzz::fuzz_snapshot();
  lull::fuzz::write_bytes(snapshot.root, data, size);
  lull::fuzz::check_snapshot_reader(snapshot);
  return 0;
}
