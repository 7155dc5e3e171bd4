#pragma once
// Replacing a small file so that a reader, and the disk after a crash, see
// the old content or the new, never a part (the leveldb way): write a
// temporary file beside it, fsync it, rename it into place, fsync the
// directory. The one way lull replaces a file: the store's LATEST, the
// notice file, the exit file of `lull run`, the arbiter's metrics file and
// its compacted journal.

#include <sys/types.h>

#include <filesystem>
#include <string_view>

#include "lull/base/file_system.h"

namespace lull {

// The temporary file's suffix: `<path>.partial` sits beside `path` while it
// is written.
inline constexpr std::string_view kAtomicWriteSuffix = ".partial";

// Writes `content` to `path` through `fs`, atomically and durably: when it
// returns, `path` holds `content` and survives a crash of the machine. A
// new file gets `mode` (less the umask); a leftover temporary file is
// overwritten, and one that is not a regular file (a planted symbolic link
// or FIFO) refused. Throws the errno mapper's Error; on a failure before
// the rename `path` is untouched and the temporary file removed; a failure
// of the directory's fsync leaves the new content in place but perhaps not
// durable. Thread-safe as far as `fs` is; two writers of one path at once
// are not supported (they share the temporary file).
void write_file_atomically(FileSystem& fs, const std::filesystem::path& path, std::string_view content,
                           mode_t mode);

}  // namespace lull
