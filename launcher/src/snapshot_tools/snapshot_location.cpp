#include "snapshot_tools/snapshot_location.h"

#include <string>
#include <system_error>

namespace lull::snapshot_tools {

namespace {

// Names from the snapshot layout (snapshot_store.h).
constexpr std::string_view kSnapshotDirPrefix = "step-";
constexpr std::string_view kRootFileName = "root.h5";

}  // namespace

SnapshotLocation locate_snapshot(const std::filesystem::path& path) {
  // "dir/step-000000000042/" has an empty filename(); look at the last part.
  std::filesystem::path trimmed = path.has_filename() ? path : path.parent_path();
  const std::string name = trimmed.filename().string();

  std::error_code ec;
  const auto status = std::filesystem::status(trimmed, ec);
  const bool is_snapshot =
      std::filesystem::is_regular_file(status) || trimmed.extension() == ".h5" ||
      name.starts_with(kSnapshotDirPrefix) ||
      (std::filesystem::is_directory(status) &&
       std::filesystem::exists(trimmed / kRootFileName, ec));
  return {is_snapshot ? LocationKind::snapshot : LocationKind::job_directory, trimmed};
}

}  // namespace lull::snapshot_tools
