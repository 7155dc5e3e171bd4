#pragma once
// Rewrites parts of a committed snapshot with the HDF5 C API, as anyone who
// can write the snapshot directory could: the manifest (its checksum
// recomputed, as any writer can), links and datasets of the root and shard
// files, a blob's bytes. For tests of what a reader refuses, and for
// tests/tools/snapshot_tamper (the same edits from the runtime's Python
// tests). Every function throws std::runtime_error saying what failed.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lull/checkpoint/dtype.h"

namespace lull::test {

// The manifest JSON of a root file.
nlohmann::json read_manifest(const std::filesystem::path& root);
// Replaces it, with a correct "xxh3:" checksum attribute.
void write_manifest(const std::filesystem::path& root, const nlohmann::json& doc);
void edit_manifest(const std::filesystem::path& root, const std::function<void(nlohmann::json&)>& edit);

// Replaces /lull/manifest by a byte dataset that declares `bytes` bytes and
// stores none (HDF5 allocates contiguous storage late): a few KB on disk.
void declare_manifest_bytes(const std::filesystem::path& root, std::uint64_t bytes);

// Replaces the object at `object` (e.g. "/ranks/1/rng") of the HDF5 `file`
// (or adds it) by an external link to `target_object` in `target_file`.
void replace_with_external_link(const std::filesystem::path& file, const std::string& object,
                                const std::string& target_file, const std::string& target_object);

// Renames the link `from` of `file` to `to`: the object and its bytes stay.
void move_object(const std::filesystem::path& file, const std::string& from, const std::string& to);

// One piece of a virtual dataset: the box of the global dataset it fills and
// the dataset (read whole) in another file.
struct VirtualPiece {
  Shape offset;
  Shape extent;
  std::string file;
  std::string dataset;
};
// Replaces `object` of `file` by a virtual dataset of `dtype` (f32, f64, u8,
// i8, i32 or i64) and `shape` made of `pieces`.
void replace_with_virtual_dataset(const std::filesystem::path& file, const std::string& object, DType dtype,
                                  const Shape& shape, const std::vector<VirtualPiece>& pieces);

// Replaces `object` of `file` by a contiguous dataset of `dtype` and `shape`
// whose bytes live in `external` (H5Pset_external), offset 0.
void replace_with_external_storage(const std::filesystem::path& file, const std::string& object, DType dtype,
                                   const Shape& shape, const std::string& external);

// Replaces `object` of `file` by a dataset whose external file list names
// an empty file name (its bytes patched after HDF5 wrote it): HDF5 1.10.8
// fails to decode it on open and can then no longer close the file.
void damage_external_file_list(const std::filesystem::path& file, const std::string& object, DType dtype,
                               const Shape& shape);

// The dataset's virtual pieces as the root file maps them.
std::vector<VirtualPiece> virtual_pieces(const std::filesystem::path& file, const std::string& object);

// Replaces the attribute `name` of `object` in `file` by an array of
// `count` u64 values, or of `count` fixed-length strings of 64 bytes when
// `strings`, where lull writes one value: a reader that reads it into one
// value would write past it.
void replace_attribute_with_array(const std::filesystem::path& file, const std::string& object,
                                  const std::string& name, std::size_t count, bool strings);

// Overwrites every byte of rank `rank`'s blob `name` in its shard file of
// `snapshot_dir` with `fill`, and records the new bytes' checksum in the
// manifest (re-signed): a blob that passes every check with content its
// program cannot load.
void fill_blob(const std::filesystem::path& snapshot_dir, int rank, const std::string& name, char fill);

}  // namespace lull::test
