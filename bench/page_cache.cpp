#include "page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "lull/base/unique_fd.h"

namespace lull::bench {

namespace {

UniqueFd open_read_only(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  return fd;
}

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
  const UniqueFd fd = open_read_only(file);
  const int rc = ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_fadvise " + file.string());
}

Residency file_residency(const std::filesystem::path& file) {
  const UniqueFd fd = open_read_only(file);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat " + file.string());
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  Residency r;
  r.total_pages = (size + page - 1) / page;
  if (size == 0) return r;
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
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
