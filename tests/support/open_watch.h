#pragma once
// OpenWatch — did anything open this file? inotify's IN_OPEN, so a test can
// show that a reader never opened a file outside the snapshot it was given
// (an external link's or virtual dataset's target), rather than only that
// it did not fail.

#include <filesystem>
#include <string>

#include "lull/base/unique_fd.h"

namespace lull::test {

class OpenWatch {
 public:
  // Watches the regular file `path` (which must exist) from now on.
  explicit OpenWatch(const std::filesystem::path& path);

  // True when the file was opened (by any process) since construction.
  bool opened();

 private:
  UniqueFd fd_;
  std::string path_;
  bool opened_ = false;
};

}  // namespace lull::test
