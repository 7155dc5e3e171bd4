// SnapshotReader::verify(): every shard and blob checked as a read checks
// it (read_checked), so what verify() accepts a restore accepts.

#include <vector>

#include "snapshot_reader_impl.h"

namespace lull {

using namespace detail;

VerifyReport SnapshotReader::Impl::verify() {
  VerifyReport report;
  std::vector<unsigned char> buffer;
  auto check = [&](const StoredObject& object) {
    if (object.bytes == 0) return;  // nothing stored, nothing to read
    buffer.resize(object.bytes);    // check_manifest(): bounded by its shard file
    if (auto problem = read_checked(object, buffer.data())) {
      report.problems.push_back(std::move(*problem));
    } else {
      report.bytes_checked += object.bytes;
    }
  };
  for (const auto& t : manifest_.tensors) {
    for (std::size_t i = 0; i < t.shards.size(); ++i) check(shard_object(t, i));
  }
  for (const auto& b : manifest_.blobs) check(blob_object(b));
  return report;
}

}  // namespace lull
