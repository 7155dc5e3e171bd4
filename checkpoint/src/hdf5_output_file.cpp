#include "hdf5_output_file.h"

#include <utility>

#include "hdf5_error.h"
#include "lull/base/error.h"
#include "lull/base/log.h"

namespace lull::detail {

Hdf5OutputFile::Hdf5OutputFile(FileSystem& fs, const std::filesystem::path& path, mode_t mode, hid_t fapl)
    : path_(path.string()), state_(std::make_shared<Hdf5WriteState>()) {
  quiet_hdf5();
  use_write_driver(fapl, fs, mode, state_);
  const hid_t id = H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  // The system's reason (a refused write of the superblock) before HDF5's.
  if (id < 0 && state_->failure) {
    H5Eclear2(H5E_DEFAULT);
    throw *state_->failure;
  }
  file_ = Hid(check_id(id, "H5Fcreate", path_));
}

Hdf5OutputFile& Hdf5OutputFile::operator=(Hdf5OutputFile&& other) noexcept {
  if (this != &other) {
    abandon();
    file_ = std::move(other.file_);
    path_ = std::move(other.path_);
    state_ = std::move(other.state_);
  }
  return *this;
}

void Hdf5OutputFile::close() {
  if (!file_.valid()) throw Error(ErrorCode::internal, "HDF5 file " + path_ + " closed twice");
  const ssize_t open_objects = H5Fget_obj_count(file_, H5F_OBJ_ALL | H5F_OBJ_LOCAL);
  if (open_objects != 1) {
    abandon();
    throw Error(ErrorCode::internal, "HDF5 file " + path_ + " closed with " + std::to_string(open_objects - 1) +
                                         " objects still open in it");
  }
  // Flush first: a write refused now is reported without the close's own
  // writes, which then go nowhere.
  if (H5Fflush(file_, H5F_SCOPE_LOCAL) < 0 || state_->failure) {
    Error failure = state_->failure ? *state_->failure : hdf5_error("H5Fflush", path_);
    abandon();
    throw failure;
  }
  H5Eclear2(H5E_DEFAULT);
  const bool closed = file_.close();
  if (state_->failure) throw *state_->failure;  // the superblock's last update was refused
  if (!closed) throw hdf5_error("H5Fclose", path_);
}

void Hdf5OutputFile::abandon() noexcept {
  if (!file_.valid()) return;
  state_->discard = true;
  if (!file_.close()) {
    try {
      log::warn("HDF5 could not close the abandoned file " + path_ + ": " + hdf5_error("H5Fclose", path_).what());
    } catch (...) {
      // out of memory for the message: the close is what mattered
    }
  }
  H5Eclear2(H5E_DEFAULT);
}

}  // namespace lull::detail
