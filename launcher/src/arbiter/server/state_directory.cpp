#include "state_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "lull/base/errno_error.h"
#include "lull/base/error.h"

namespace lull::arbiter {

namespace {

void make_private_dir(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) throw_errno("mkdir", dir.string());
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0) throw_errno("lstat", dir.string());
  if (!S_ISDIR(info.st_mode)) throw Error(ErrorCode::invalid_argument, dir.string() + " is not a directory");
  if (info.st_uid != ::geteuid()) {
    throw Error(ErrorCode::invalid_argument, dir.string() + " is owned by uid " + std::to_string(info.st_uid) +
                                                 ", not by the arbiter's user (uid " + std::to_string(::geteuid()) + ")");
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw Error(ErrorCode::invalid_argument, dir.string() + " is writable by others; the arbiter's state must not be",
                {}, {}, "chmod 0750 " + dir.string());
  }
}

}  // namespace

StateDirectory::StateDirectory(std::filesystem::path dir) : dir_(std::filesystem::absolute(dir).lexically_normal()) {
  if (!dir_.has_filename()) dir_ = dir_.parent_path();
  if (!std::filesystem::exists(dir_.parent_path())) std::filesystem::create_directories(dir_.parent_path());
  make_private_dir(dir_);
  make_private_dir(job_logs());
  const std::filesystem::path lock_path = dir_ / "arbiter.lock";
  lock_ = UniqueFd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!lock_.valid()) throw_errno("open", lock_path.string());
  if (::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) throw Error(ErrorCode::invalid_argument, "another arbiter is running on " + dir_.string());
    throw_errno("flock", lock_path.string());
  }
}

}  // namespace lull::arbiter
