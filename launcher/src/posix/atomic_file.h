#pragma once
// Replacing a small file so that readers see the old content or the new,
// never a part: write a temporary file beside it, fsync it, rename it into
// place, fsync the directory (the leveldb way). For the exit file of `lull
// run`, the arbiter's metrics file and its compacted journal.

#include <sys/types.h>

#include <filesystem>
#include <string_view>

namespace lull::posix {

// Writes `content` to `path` atomically, the file created with `mode`
// (before the umask). The temporary file is `<path>.tmp`; a leftover one is
// replaced. Throws the errno mapper's Error; on failure `path` is untouched.
void write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode);

// fsync of a directory, so a rename or a new file in it is durable. Throws
// the errno mapper's Error.
void fsync_directory(const std::filesystem::path& dir);

}  // namespace lull::posix
