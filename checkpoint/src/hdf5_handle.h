#pragma once
// Hid — owns one HDF5 identifier (file, group, dataset, dataspace, type,
// property list, attribute) and releases it in its destructor, which never
// throws. Move-only.

#include <hdf5.h>

#include <utility>

#include "hdf5_exit_guard.h"

namespace lull::detail {

class Hid {
 public:
  Hid() = default;
  explicit Hid(hid_t id) noexcept : id_(id) {}
  ~Hid() { reset(); }
  Hid(Hid&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Hid& operator=(Hid&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;

  hid_t get() const noexcept { return id_; }
  operator hid_t() const noexcept { return id_; }  // NOLINT: reads like the C API it wraps
  bool valid() const noexcept { return id_ >= 0; }

  // Gives up ownership: the caller closes the returned identifier.
  hid_t release() noexcept { return std::exchange(id_, H5I_INVALID_HID); }

  // Releases now; returns false when HDF5 reported a failure (a file close
  // that could not flush; see hdf5_exit_guard.h for what follows). Never
  // throws.
  bool close() noexcept {
    if (id_ < 0) return true;
    return release_hdf5_id(std::exchange(id_, H5I_INVALID_HID));
  }

 private:
  void reset() noexcept { close(); }
  hid_t id_ = H5I_INVALID_HID;
};

}  // namespace lull::detail
