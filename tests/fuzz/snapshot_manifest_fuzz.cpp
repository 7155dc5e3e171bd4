// Fuzz target: a snapshot's manifest, any bytes, in a root file otherwise as
// lull wrote it and signed with the right checksum (as anyone who can write
// the snapshot directory can), read as every reader reads it
// (SnapshotReader::open). It reaches what a root file's checksums keep the
// root-file target from: every size, rank, name, offset and box a manifest
// declares, and the global view compared with it. The properties are in
// snapshot_reader_checks.h; the seeds are manifests lull wrote and ones that
// lie about sizes.
#include <hdf5.h>
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "snapshot_reader_checks.h"

namespace {

// Rewrites /lull/manifest of `root` as `json` with its checksum attribute;
// false when HDF5 would not (then the input says nothing about lull).
bool write_manifest(const std::filesystem::path& root, const std::uint8_t* json, std::size_t size) {
  const hid_t file = H5Fopen(root.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) return false;
  bool ok = H5Ldelete(file, "/lull/manifest", H5P_DEFAULT) >= 0;
  const hsize_t length = size;
  const hid_t space = H5Screate_simple(1, &length, nullptr);
  const hid_t dataset = H5Dcreate2(file, "/lull/manifest", H5T_STD_U8LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ok = ok && dataset >= 0 && (size == 0 || H5Dwrite(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, json) >= 0);
  char checksum[32];
  std::snprintf(checksum, sizeof checksum, "xxh3:%016llx", static_cast<unsigned long long>(XXH3_64bits(json, size)));
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  const hid_t scalar = H5Screate(H5S_SCALAR);
  const hid_t attr = dataset >= 0 ? H5Acreate2(dataset, "checksum", type, scalar, H5P_DEFAULT, H5P_DEFAULT) : -1;
  const char* value = checksum;
  ok = ok && attr >= 0 && H5Awrite(attr, type, &value) >= 0;
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(scalar);
  H5Tclose(type);
  if (dataset >= 0) H5Dclose(dataset);
  H5Sclose(space);
  return H5Fclose(file) >= 0 && ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const lull::fuzz::FuzzSnapshot& snapshot = lull::fuzz::fuzz_snapshot();
  lull::fuzz::write_bytes(snapshot.root, snapshot.root_bytes.data(), snapshot.root_bytes.size());
  if (!write_manifest(snapshot.root, data, size)) return 0;
  lull::fuzz::check_snapshot_reader(snapshot);
  return 0;
}
