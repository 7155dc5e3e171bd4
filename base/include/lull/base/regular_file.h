#pragma once
// Reading a small file a person or another process put on disk (a policy
// file, a notice file) without trusting its type or its size.
//
// Only a regular file is ever read: a FIFO, a device (/dev/zero), a socket or
// a directory at the path is refused by name, and opening never blocks (a
// FIFO without a writer would otherwise hang the reader in open()). At most
// `max_bytes` are read, whatever the file claims or grows to.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace lull {

enum class Symlinks { follow, refuse };

struct RegularFileContent {
  std::string bytes;
  unsigned owner = 0;  // st_uid of the file read
};

// Reads the whole regular file at `path`. `what` names it in messages
// ("policy file"). Throws lull::Error whose message() is "cannot read <what>
// <path>" and whose detail() says why, for a caller that names the file
// itself:
//   not_found         "it does not exist"
//   invalid_argument  "it is a FIFO, not a regular file" (a directory, a
//                     device, a socket), "it is a symbolic link" when
//                     `symlinks` is refuse, "it is 104857601 bytes; the
//                     maximum is 1048576"
//   io                any other failure of open/fstat/read: strerror's text
// Thread-safe; opens the file once (no check-then-open race).
RegularFileContent read_regular_file(const std::filesystem::path& path, std::size_t max_bytes, std::string_view what,
                                     Symlinks symlinks = Symlinks::follow);

}  // namespace lull
