#include "lull/base/atomic_file.h"

#include <exception>
#include <string>

#include "lull/base/log.h"

namespace lull {

void write_file_atomically(FileSystem& fs, const std::filesystem::path& path, std::string_view content,
                           mode_t mode) {
  std::filesystem::path temporary = path;
  temporary += kAtomicWriteSuffix;
  try {
    fs.write_file(temporary, content, mode);  // created or truncated, written, fsync'd
    fs.rename(temporary, path);
  } catch (...) {
    try {
      fs.remove_all(temporary);  // it holds space and says nothing
    } catch (const std::exception& e) {
      log::warn("could not remove " + temporary.string() + ": " + e.what());
    }
    throw;
  }
  // A path without a directory part is in the working directory.
  fs.sync_dir(path.has_parent_path() ? path.parent_path() : std::filesystem::path("."));
}

}  // namespace lull
