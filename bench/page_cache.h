#pragma once
// Page-cache control for fair read measurements: after a write has been
// fsync'd its pages are clean, so posix_fadvise(POSIX_FADV_DONTNEED) drops
// them and the next read comes from the device. Every method's files are
// treated alike; residency (mincore) is measured to show that it worked.

#include <cstdint>
#include <filesystem>

namespace lull::bench {

struct Residency {
  std::uint64_t resident_pages = 0;
  std::uint64_t total_pages = 0;
  double fraction() const { return total_pages == 0 ? 0.0 : static_cast<double>(resident_pages) / static_cast<double>(total_pages); }
  Residency& operator+=(const Residency& other) {
    resident_pages += other.resident_pages;
    total_pages += other.total_pages;
    return *this;
  }
};

// posix_fadvise(DONTNEED) on a regular file, or on every regular file under
// a directory. Throws std::system_error when a file cannot be opened.
void drop_cached_pages(const std::filesystem::path& path);

// Pages of `path` (a file, or every regular file under a directory) now in
// the page cache, via mmap + mincore; touches no page.
Residency cached_pages(const std::filesystem::path& path);

}  // namespace lull::bench
