#include "shared_file_method.h"

#include <fcntl.h>
#include <hdf5.h>
#include <mpi.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "lull/base/unique_fd.h"

namespace lull::bench {

namespace {

// Owns one HDF5 identifier; `close` is the H5?close function for its kind.
class Hid {
 public:
  Hid(hid_t id, herr_t (*closer)(hid_t), const char* what) : id_(id), close_(closer) {
    if (id_ < 0) throw std::runtime_error(std::string("parallel HDF5: ") + what + " failed");
  }
  ~Hid() {
    if (id_ >= 0) close_(id_);
  }
  Hid(Hid&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  Hid& operator=(Hid&&) = delete;
  hid_t get() const { return id_; }
  void close() {
    const herr_t rc = close_(id_);
    id_ = -1;
    if (rc < 0) throw std::runtime_error("parallel HDF5: close failed");
  }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

void check(herr_t rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string("parallel HDF5: ") + what + " failed");
}

hid_t native_type(DType type) {
  switch (type) {
    case DType::f16:
    case DType::bf16: return H5T_NATIVE_UINT16;
    case DType::f32: return H5T_NATIVE_FLOAT;
    case DType::f64: return H5T_NATIVE_DOUBLE;
    case DType::i8: return H5T_NATIVE_INT8;
    case DType::u8:
    case DType::boolean: return H5T_NATIVE_UINT8;
    case DType::i32: return H5T_NATIVE_INT32;
    case DType::i64: return H5T_NATIVE_INT64;
  }
  return H5T_NATIVE_UINT8;
}

std::vector<hsize_t> dims(const Shape& shape) { return {shape.begin(), shape.end()}; }

class SharedFileMethod final : public CheckpointMethod {
 public:
  SharedFileMethod(const MpiJob& job, std::filesystem::path dir, TransferMode mode)
      : job_(job), dir_(std::move(dir)), mode_(mode) {
    if (job_.rank() == 0) std::filesystem::create_directories(dir_);
    job_.barrier();
  }

  std::string name() const override {
    return mode_ == TransferMode::collective ? "shared_hdf5_collective" : "shared_hdf5_independent";
  }
  std::filesystem::path files() const override { return dir_; }

  Breakdown write(const Workload& workload, const RankState& state) override {
    const double t0 = now_seconds();
    Hid fapl = file_access();
    Hid file(H5Fcreate(path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose, "H5Fcreate");
    Hid group(H5Gcreate2(file.get(), "tensors", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, "H5Gcreate");
    Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "H5Pcreate");
    check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
    check(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
    Hid dxpl = transfer();
    const std::vector<long> mine = pieces_by_tensor(workload, state);
    for (std::size_t t = 0; t < workload.tensors.size(); ++t) {
      const TensorSpec& spec = workload.tensors[t];
      const auto global = dims(spec.shape);
      Hid space(H5Screate_simple(static_cast<int>(global.size()), global.data(), nullptr), H5Sclose, "H5Screate");
      Hid dset(H5Dcreate2(group.get(), spec.name.c_str(), native_type(spec.dtype), space.get(), H5P_DEFAULT,
                          dcpl.get(), H5P_DEFAULT),
               H5Dclose, "H5Dcreate");
      if (mine[t] < 0 && mode_ == TransferMode::independent) continue;
      const Piece* piece = mine[t] < 0 ? nullptr : &state.pieces[static_cast<std::size_t>(mine[t])];
      const void* bytes = mine[t] < 0 ? nullptr : state.source[static_cast<std::size_t>(mine[t])].data();
      transfer_piece(dset.get(), space.get(), spec.dtype, piece, dxpl.get(), /*write=*/true, bytes, nullptr);
    }
    const double t1 = now_seconds();
    dxpl.close();
    dcpl.close();
    group.close();
    file.close();
    const double t2 = now_seconds();
    if (job_.rank() == 0) fsync_file();
    const double t3 = now_seconds();
    return {{"create_and_write", t1 - t0}, {"close", t2 - t1}, {"fsync", t3 - t2}};
  }

  Breakdown read(const Workload& workload, RankState& state) override {
    const double t0 = now_seconds();
    Hid fapl = file_access();
    Hid file(H5Fopen(path().c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose, "H5Fopen");
    Hid dxpl = transfer();
    const std::vector<long> mine = pieces_by_tensor(workload, state);
    for (std::size_t t = 0; t < workload.tensors.size(); ++t) {
      const TensorSpec& spec = workload.tensors[t];
      Hid dset(H5Dopen2(file.get(), ("/tensors/" + spec.name).c_str(), H5P_DEFAULT), H5Dclose, "H5Dopen");
      if (mine[t] < 0 && mode_ == TransferMode::independent) continue;
      Hid space(H5Dget_space(dset.get()), H5Sclose, "H5Dget_space");
      const Piece* piece = mine[t] < 0 ? nullptr : &state.pieces[static_cast<std::size_t>(mine[t])];
      void* bytes = mine[t] < 0 ? nullptr : state.target[static_cast<std::size_t>(mine[t])].data();
      transfer_piece(dset.get(), space.get(), spec.dtype, piece, dxpl.get(), /*write=*/false, nullptr, bytes);
    }
    dxpl.close();
    file.close();
    return {{"read", now_seconds() - t0}};
  }

 private:
  std::filesystem::path path() const { return dir_ / "shared.h5"; }

  Hid file_access() const {
    Hid fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate");
    check(H5Pset_fapl_mpio(fapl.get(), MPI_COMM_WORLD, MPI_INFO_NULL), "H5Pset_fapl_mpio");
    check(H5Pset_all_coll_metadata_ops(fapl.get(), true), "H5Pset_all_coll_metadata_ops");
    check(H5Pset_coll_metadata_write(fapl.get(), true), "H5Pset_coll_metadata_write");
    return fapl;
  }

  Hid transfer() const {
    Hid dxpl(H5Pcreate(H5P_DATASET_XFER), H5Pclose, "H5Pcreate");
    check(H5Pset_dxpl_mpio(dxpl.get(), mode_ == TransferMode::collective ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT),
          "H5Pset_dxpl_mpio");
    return dxpl;
  }

  // For each tensor, the index of this rank's piece of it, or -1.
  static std::vector<long> pieces_by_tensor(const Workload& workload, const RankState& state) {
    std::vector<long> out(workload.tensors.size(), -1);
    for (std::size_t i = 0; i < state.pieces.size(); ++i) out[state.pieces[i].tensor] = static_cast<long>(i);
    return out;
  }

  // Writes `in` as this rank's piece, or reads the piece into `out`; with no
  // piece, takes part in the collective call with an empty selection.
  static void transfer_piece(hid_t dset, hid_t space, DType dtype, const Piece* piece, hid_t dxpl, bool write,
                             const void* in, void* out) {
    std::byte dummy{};
    Hid file_space(H5Scopy(space), H5Sclose, "H5Scopy");
    std::vector<hsize_t> count{1};
    if (piece == nullptr) {
      check(H5Sselect_none(file_space.get()), "H5Sselect_none");
      in = &dummy;
      out = &dummy;
    } else {
      const auto start = dims(piece->offset);
      count = dims(piece->extent);
      check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
            "H5Sselect_hyperslab");
    }
    Hid mem_space(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose, "H5Screate");
    if (piece == nullptr) check(H5Sselect_none(mem_space.get()), "H5Sselect_none");
    const hid_t type = native_type(dtype);
    if (write) {
      check(H5Dwrite(dset, type, mem_space.get(), file_space.get(), dxpl, in), "H5Dwrite");
    } else {
      check(H5Dread(dset, type, mem_space.get(), file_space.get(), dxpl, out), "H5Dread");
    }
  }

  void fsync_file() const {
    const UniqueFd fd(::open(path().c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) throw std::system_error(errno, std::generic_category(), "open " + path().string());
    if (::fsync(fd.get()) != 0) {
      const int err = errno;
      throw std::system_error(err, std::generic_category(), "fsync " + path().string());
    }
  }

  const MpiJob& job_;
  std::filesystem::path dir_;
  TransferMode mode_;
};

}  // namespace

std::unique_ptr<CheckpointMethod> make_shared_file_method(const MpiJob& job, std::filesystem::path dir,
                                                          TransferMode mode) {
  return std::make_unique<SharedFileMethod>(job, std::move(dir), mode);
}

}  // namespace lull::bench
