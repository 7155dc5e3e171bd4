#pragma once
// Hdf5OutputFile — an HDF5 file lull is writing (a shard file, a root file)
// that can always be let go, whatever the disk does.
//
// The file is written through lull's HDF5 write driver
// (hdf5_write_driver.h): HDF5 never sees a refused write, so it can always
// close the file, and the first failure is kept here.
//   close()    writes everything and closes; throws the system's Error
//              (ENOSPC: "No space left on device", naming the file) when any
//              write of HDF5's failed, at any time since the file was
//              created. The file on disk is then incomplete.
//   abandon()  closes without writing anything more to the disk; never
//              fails. Every identifier and descriptor is released.
// The destructor abandons a file that was not closed; the caller removes an
// incomplete file.
//
// Objects opened in the file (groups, datasets) must be closed before
// close(), which checks it. After abandon() they may still be open (HDF5
// closes the file when the last of them closes; nothing reaches the disk).
// Not thread-safe.

#include <hdf5.h>
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "hdf5_handle.h"
#include "hdf5_write_driver.h"
#include "lull/base/file_system.h"

namespace lull::detail {

class Hdf5OutputFile {
 public:
  Hdf5OutputFile() = default;
  // Creates (truncates) `path` with `mode` through `fs`, with the other
  // settings of the file access list `fapl` (whose driver it replaces).
  // Throws Error.
  Hdf5OutputFile(FileSystem& fs, const std::filesystem::path& path, mode_t mode, hid_t fapl);
  ~Hdf5OutputFile() { abandon(); }
  Hdf5OutputFile(Hdf5OutputFile&&) noexcept = default;
  Hdf5OutputFile& operator=(Hdf5OutputFile&& other) noexcept;
  Hdf5OutputFile(const Hdf5OutputFile&) = delete;
  Hdf5OutputFile& operator=(const Hdf5OutputFile&) = delete;

  hid_t id() const noexcept { return file_.get(); }
  operator hid_t() const noexcept { return file_.get(); }  // NOLINT: reads like the C API it wraps

  // Writes everything and closes. Throws Error; the file is closed whatever happens.
  void close();
  // Lets the file go without writing to the disk again. Never throws; idempotent.
  void abandon() noexcept;

 private:
  Hid file_;
  std::string path_;
  std::shared_ptr<Hdf5WriteState> state_;
};

}  // namespace lull::detail
