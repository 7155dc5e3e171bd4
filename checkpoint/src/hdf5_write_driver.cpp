#include "hdf5_write_driver.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "hdf5_error.h"

namespace lull::detail {

namespace {

constexpr std::uint64_t kPage = 4096;

// What H5Pset_driver carries on a file access list (copied with it).
struct DriverInfo {
  FileSystem* fs = nullptr;
  mode_t mode = 0600;
  std::shared_ptr<Hdf5WriteState> state;
};

// One open file. `pub` must come first: HDF5 hands the callbacks a
// pointer to it.
struct DriverFile {
  H5FD_t pub{};
  std::string path;
  std::unique_ptr<RandomAccessFile> disk;
  std::shared_ptr<Hdf5WriteState> state;
  haddr_t eoa = 0;
  // The end of what this driver put on the disk (writes, truncates). The
  // raw data lull writes itself lies below the end of allocation and is
  // never read through HDF5, so this is all HDF5 needs to know of the disk.
  haddr_t disk_end = 0;
  // Pages HDF5 wrote after the first failure (or after discard), whole.
  std::map<std::uint64_t, std::vector<unsigned char>> overlay;
  haddr_t overlay_end = 0;

  bool in_memory() const noexcept { return state->discard || state->failure.has_value(); }

  void fail(const Error& e) {
    if (!state->failure) {
      state->failure = Error(e.code(), e.message() + " (a write of HDF5's own)", e.call(), e.detail(), e.hint());
    }
  }

  // Bytes of the disk file; beyond what was put there, zeros.
  void read_disk(std::uint64_t offset, std::size_t size, unsigned char* out) {
    const std::uint64_t end = disk_end;
    const std::size_t present = offset >= end ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(size, end - offset));
    if (present > 0) disk->read_at(offset, out, present);
    std::memset(out + present, 0, size - present);
  }

  std::vector<unsigned char>& overlay_page(std::uint64_t index) {
    auto [it, fresh] = overlay.try_emplace(index);
    if (fresh) {
      it->second.resize(kPage);
      try {
        read_disk(index * kPage, kPage, it->second.data());
      } catch (const std::exception&) {
        std::fill(it->second.begin(), it->second.end(), 0);  // the disk has nothing better to give
      }
    }
    return it->second;
  }

  void write(std::uint64_t offset, std::size_t size, const unsigned char* data) {
    if (!in_memory()) {
      try {
        disk->write_at(offset, data, size);
        disk_end = std::max<haddr_t>(disk_end, offset + size);
        return;
      } catch (const Error& e) {
        fail(e);  // and keep the bytes below, so HDF5 reads back what it wrote
      }
    }
    for (std::size_t done = 0; done < size;) {
      const std::uint64_t at = offset + done;
      const std::size_t in_page = static_cast<std::size_t>(at % kPage);
      const std::size_t n = std::min<std::size_t>(size - done, kPage - in_page);
      std::memcpy(overlay_page(at / kPage).data() + in_page, data + done, n);
      done += n;
    }
    overlay_end = std::max<haddr_t>(overlay_end, offset + size);
  }

  void read(std::uint64_t offset, std::size_t size, unsigned char* out) {
    if (overlay.empty()) {
      read_disk(offset, size, out);
      return;
    }
    for (std::size_t done = 0; done < size;) {
      const std::uint64_t at = offset + done;
      const std::size_t in_page = static_cast<std::size_t>(at % kPage);
      const std::size_t n = std::min<std::size_t>(size - done, kPage - in_page);
      if (auto it = overlay.find(at / kPage); it != overlay.end()) {
        std::memcpy(out + done, it->second.data() + in_page, n);
      } else {
        read_disk(at, n, out + done);
      }
      done += n;
    }
  }
};

DriverFile* file_of(H5FD_t* f) { return reinterpret_cast<DriverFile*>(f); }
const DriverFile* file_of(const H5FD_t* f) { return reinterpret_cast<const DriverFile*>(f); }

// Every callback is called from HDF5's C code: nothing may escape one.
// Failures that HDF5 must see go on its error stack.
herr_t push_error(const char* where, const char* what) noexcept {
  H5Epush2(H5E_DEFAULT, __FILE__, where, __LINE__, H5E_ERR_CLS, H5E_VFL, H5E_CANTOPENFILE, "%s", what);
  return -1;
}

void* info_copy(const void* info) noexcept {
  try {
    return new DriverInfo(*static_cast<const DriverInfo*>(info));
  } catch (...) {
    return nullptr;
  }
}

herr_t info_free(void* info) noexcept {
  delete static_cast<DriverInfo*>(info);
  return 0;
}

H5FD_t* open_file(const char* name, unsigned flags, hid_t fapl, haddr_t /*maxaddr*/) noexcept {
  try {
    const auto* info = static_cast<const DriverInfo*>(H5Pget_driver_info(fapl));
    if (info == nullptr || info->fs == nullptr) {
      push_error("lull write driver open", "no driver information on the file access list");
      return nullptr;
    }
    // HDF5 first tries without H5F_ACC_CREAT (to find the file among those
    // it has open), then with the caller's flags. lull writes each file
    // once, from scratch: only the second is for this driver.
    if ((flags & H5F_ACC_RDWR) == 0 || (flags & H5F_ACC_CREAT) == 0) {
      push_error("lull write driver open", "lull's write driver only creates files");
      return nullptr;
    }
    auto file = std::make_unique<DriverFile>();
    file->path = name;
    file->state = info->state;
    try {
      file->disk = info->fs->create_file(name, info->mode);
    } catch (const Error& e) {
      // The system's reason (EMFILE, ENOSPC, EACCES), for the caller to
      // throw instead of HDF5's "unable to open file".
      if (!file->state->failure) file->state->failure = e;
      throw;
    }
    return &file.release()->pub;
  } catch (const std::exception& e) {
    push_error("lull write driver open", e.what());
    return nullptr;
  }
}

herr_t close_file(H5FD_t* f) noexcept {
  delete file_of(f);
  return 0;
}

int compare(const H5FD_t* a, const H5FD_t* b) noexcept {
  const int order = file_of(a)->path.compare(file_of(b)->path);
  return order < 0 ? -1 : order > 0 ? 1 : 0;
}

herr_t query(const H5FD_t* /*file*/, unsigned long* flags) noexcept {
  if (flags != nullptr) {
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
             H5FD_FEAT_AGGREGATE_SMALLDATA;
  }
  return 0;
}

haddr_t get_eoa(const H5FD_t* f, H5FD_mem_t /*type*/) noexcept { return file_of(f)->eoa; }

herr_t set_eoa(H5FD_t* f, H5FD_mem_t /*type*/, haddr_t addr) noexcept {
  file_of(f)->eoa = addr;
  return 0;
}

haddr_t get_eof(const H5FD_t* f, H5FD_mem_t /*type*/) noexcept {
  const DriverFile* file = file_of(f);
  return std::max(file->disk_end, file->overlay_end);
}

herr_t get_handle(H5FD_t* f, hid_t /*fapl*/, void** handle) noexcept {
  if (handle == nullptr) return push_error("lull write driver get_handle", "no handle pointer");
  *handle = file_of(f)->disk.get();
  return 0;
}

herr_t read(H5FD_t* f, H5FD_mem_t /*type*/, hid_t /*dxpl*/, haddr_t addr, size_t size, void* buffer) noexcept {
  DriverFile* file = file_of(f);
  try {
    file->read(addr, size, static_cast<unsigned char*>(buffer));
    return 0;
  } catch (const Error& e) {
    file->fail(e);
    return push_error("lull write driver read", e.what());
  } catch (const std::exception& e) {
    return push_error("lull write driver read", e.what());
  }
}

herr_t write(H5FD_t* f, H5FD_mem_t /*type*/, hid_t /*dxpl*/, haddr_t addr, size_t size, const void* buffer) noexcept {
  try {
    file_of(f)->write(addr, size, static_cast<const unsigned char*>(buffer));
    return 0;
  } catch (const std::exception& e) {  // out of memory for the overlay
    return push_error("lull write driver write", e.what());
  }
}

herr_t flush(H5FD_t* /*file*/, hid_t /*dxpl*/, hbool_t /*closing*/) noexcept {
  return 0;  // durability is the caller's fsync
}

// The file's size becomes its end of allocation, as with HDF5's own sec2
// driver (the raw data lull writes itself lies inside it).
herr_t truncate(H5FD_t* f, hid_t /*dxpl*/, hbool_t /*closing*/) noexcept {
  DriverFile* file = file_of(f);
  if (file->in_memory()) {
    file->overlay_end = std::max(file->overlay_end, file->eoa);
    return 0;
  }
  try {
    if (file->disk_end != file->eoa) {
      file->disk->truncate(file->eoa);
      file->disk_end = file->eoa;
    }
  } catch (const Error& e) {
    file->fail(e);
  } catch (...) {
    return push_error("lull write driver truncate", "unexpected failure");
  }
  return 0;
}

H5FD_class_t make_class() {
  H5FD_class_t c{};
  c.name = "lull-write";
  c.maxaddr = static_cast<haddr_t>(INT64_MAX);
  c.fc_degree = H5F_CLOSE_WEAK;
  c.fapl_size = sizeof(DriverInfo);
  c.fapl_copy = info_copy;
  c.fapl_free = info_free;
  c.open = open_file;
  c.close = close_file;
  c.cmp = compare;
  c.query = query;
  c.get_eoa = get_eoa;
  c.set_eoa = set_eoa;
  c.get_eof = get_eof;
  c.get_handle = get_handle;
  c.read = read;
  c.write = write;
  c.flush = flush;
  c.truncate = truncate;
  const H5FD_mem_t map[] = H5FD_FLMAP_DICHOTOMY;
  std::copy(std::begin(map), std::end(map), std::begin(c.fl_map));
  return c;
}

// Registered once per process, the first time a file is written.
hid_t driver_id() {
  static const H5FD_class_t kClass = make_class();
  static const hid_t id = H5FDregister(&kClass);
  return id;
}

}  // namespace

void use_write_driver(hid_t fapl, FileSystem& fs, mode_t mode, std::shared_ptr<Hdf5WriteState> state) {
  const hid_t id = check_id(driver_id(), "H5FDregister", "lull's HDF5 write driver");
  DriverInfo info{&fs, mode, std::move(state)};
  check_status(H5Pset_driver(fapl, id, &info), "H5Pset_driver", "lull's HDF5 write driver");
}

}  // namespace lull::detail
