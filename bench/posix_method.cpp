// The storage limit: plain write()+fsync() of the same bytes, one file per
// rank in the same directory, and plain read() back into the same buffers.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "checkpoint_method.h"
#include "lull/base/unique_fd.h"

namespace lull::bench {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

UniqueFd open_file(const std::filesystem::path& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0600));
  if (!fd.valid()) throw_errno("open " + path.string());
  return fd;
}

void write_all(int fd, const std::byte* p, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write");
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void read_all(int fd, std::byte* p, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read");
    }
    if (n == 0) throw std::runtime_error("limit: file shorter than written");
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

class PosixMethod final : public CheckpointMethod {
 public:
  PosixMethod(const MpiJob& job, std::filesystem::path dir) : dir_(std::move(dir)) {
    if (job.rank() == 0) std::filesystem::create_directories(dir_);
    job.barrier();
    file_ = dir_ / ("rank-" + std::to_string(job.rank()) + ".bin");
  }

  std::string name() const override { return "limit"; }
  std::filesystem::path files() const override { return dir_; }

  Breakdown write(const Workload&, const RankState& state) override {
    const double t0 = now_seconds();
    UniqueFd fd = open_file(file_, O_WRONLY | O_CREAT | O_TRUNC);
    for (const auto& buffer : state.source) write_all(fd.get(), buffer.data(), buffer.size());
    const double t1 = now_seconds();
    if (::fsync(fd.get()) != 0) throw_errno("fsync " + file_.string());
    if (fd.close() != 0) throw_errno("close " + file_.string());
    const double t2 = now_seconds();
    return {{"write", t1 - t0}, {"fsync", t2 - t1}};
  }

  Breakdown read(const Workload&, RankState& state) override {
    const double t0 = now_seconds();
    const UniqueFd fd = open_file(file_, O_RDONLY);
    for (auto& buffer : state.target) read_all(fd.get(), buffer.data(), buffer.size());
    return {{"read", now_seconds() - t0}};
  }

 private:
  std::filesystem::path dir_;
  std::filesystem::path file_;
};

}  // namespace

std::unique_ptr<CheckpointMethod> make_posix_method(const MpiJob& job, std::filesystem::path dir) {
  return std::make_unique<PosixMethod>(job, std::move(dir));
}

}  // namespace lull::bench
