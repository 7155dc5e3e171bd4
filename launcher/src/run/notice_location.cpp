#include "run/notice_location.h"

#include <sys/stat.h>

#include <cstdlib>
#include <string>
#include <system_error>

#include "lull/base/errno_error.h"
#include "lull/base/log.h"

namespace lull::run {

namespace {

bool is_directory(const char* path) {
  struct stat st {};
  return path != nullptr && *path != '\0' && ::stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

std::filesystem::path runtime_base() {
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); is_directory(runtime)) return runtime;
  std::error_code ec;
  std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  return ec ? std::filesystem::path("/tmp") : tmp;
}

}  // namespace

NoticeLocation::NoticeLocation(const std::optional<std::filesystem::path>& ckpt_dir) {
  std::string pattern = ckpt_dir ? (*ckpt_dir / ".lull-run-XXXXXX").string()
                                 : (runtime_base() / "lull-run-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp", pattern);
  dir_ = pattern;
  file_ = dir_ / "notice.json";
}

NoticeLocation::NoticeLocation(NoticeLocation&& other) noexcept
    : dir_(std::move(other.dir_)), file_(std::move(other.file_)) {
  other.dir_.clear();
  other.file_.clear();
}

NoticeLocation::~NoticeLocation() {
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec) {
    try {
      log::warn("could not remove the notice directory " + dir_.string() + ": " + ec.message());
    } catch (...) {  // a destructor never throws
    }
  }
}

}  // namespace lull::run
