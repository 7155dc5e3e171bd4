#include "page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

namespace lull::bench {

namespace {

class ReadOnlyFile {
 public:
  explicit ReadOnlyFile(const std::filesystem::path& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  }
  ~ReadOnlyFile() { ::close(fd_); }
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

template <typename Fn>
void for_each_regular_file(const std::filesystem::path& path, Fn&& fn) {
  if (std::filesystem::is_directory(path)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
      if (entry.is_regular_file()) fn(entry.path());
    }
  } else {
    fn(path);
  }
}

void drop_file(const std::filesystem::path& file) {
  ReadOnlyFile f(file);
  const int rc = ::posix_fadvise(f.fd(), 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_fadvise " + file.string());
}

Residency file_residency(const std::filesystem::path& file) {
  ReadOnlyFile f(file);
  struct stat st {};
  if (::fstat(f.fd(), &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat " + file.string());
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  Residency r;
  r.total_pages = (size + page - 1) / page;
  if (size == 0) return r;
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, f.fd(), 0);
  if (map == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap " + file.string());
  std::vector<unsigned char> vec(r.total_pages);
  const int rc = ::mincore(map, size, vec.data());
  const int saved = errno;
  ::munmap(map, size);
  if (rc != 0) throw std::system_error(saved, std::generic_category(), "mincore " + file.string());
  for (unsigned char v : vec) r.resident_pages += (v & 1u);
  return r;
}

}  // namespace

void drop_cached_pages(const std::filesystem::path& path) {
  for_each_regular_file(path, [](const std::filesystem::path& f) { drop_file(f); });
}

Residency cached_pages(const std::filesystem::path& path) {
  Residency total;
  for_each_regular_file(path, [&](const std::filesystem::path& f) { total += file_residency(f); });
  return total;
}

}  // namespace lull::bench
