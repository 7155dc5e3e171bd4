#include "root_file_check.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "checksum.h"
#include "hdf5_attributes.h"
#include "hdf5_handle.h"
#include "hdf5_layout_guard.h"
#include "hdf5_links.h"
#include "hdf5_types.h"
#include "lull/base/error.h"
#include "manifest_check.h"
#include "root_file.h"
#include "shard_file.h"

namespace lull::detail {

namespace {

constexpr const char* kRepairHint = "the root file is damaged or was rewritten; an older snapshot may still be intact";

[[noreturn]] void fail(const std::string& subject, const std::string& what) {
  H5Eclear2(H5E_DEFAULT);
  throw Error(ErrorCode::corrupt, subject + ": " + what, {}, {}, kRepairHint);
}

std::string read_manifest_json(hid_t root, RandomAccessFile& root_file, std::uint64_t root_bytes,
                               const std::string& subject) {
  auto corrupt = [&](const std::string& what) { fail(subject, "the manifest (" + std::string(kManifestPath) + ") " + what); };
  if (auto problem = hard_link_path_problem(root, kManifestPath, subject); !problem.empty()) {
    fail(subject, "no manifest: " + problem);
  }
  if (has_external_file_list(root, kManifestPath, subject)) corrupt("is not stored in the root file itself");
  if (auto problem = dataset_layout_problem(root, kManifestPath, root_file, subject); !problem.empty()) {
    corrupt("cannot be opened safely: " + problem);
  }
  Hid dataset(H5Dopen2(root, kManifestPath, H5P_DEFAULT));
  if (!dataset.valid()) corrupt("is not a dataset");
  const DatasetStorage storage = dataset_storage(dataset, subject);
  if ((storage.layout != H5D_CONTIGUOUS && storage.layout != H5D_COMPACT) || storage.external_files != 0) {
    corrupt("is not stored in the root file itself");
  }
  Hid type(H5Dget_type(dataset));
  if (!type.valid() || H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != 1) corrupt("is not a byte array");
  const Shape shape = dataspace_shape(dataset, subject);
  if (shape.size() != 1) corrupt("is not a byte array");
  // Its bytes are in the root file, so they cannot outnumber the file's.
  if (shape[0] > root_bytes) {
    corrupt("declares " + std::to_string(shape[0]) + " bytes, more than the whole root file holds (" +
            std::to_string(root_bytes) + ")");
  }
  if (H5Dget_storage_size(dataset) != shape[0]) corrupt("has no stored bytes for its declared size");
  std::string json(shape[0], '\0');
  if (H5Dread(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, json.data()) < 0) corrupt("cannot be read");
  auto stored = read_string_attribute(dataset, "checksum");
  std::uint64_t expected = 0;
  if (!stored || !parse_checksum_text(*stored, expected)) corrupt("has no checksum");
  const std::uint64_t actual = checksum(json.data(), json.size());
  if (actual != expected) {
    corrupt("fails its checksum (expected " + checksum_text(expected) + ", actual " + checksum_text(actual) + ")");
  }
  return json;
}

Hid open_group(hid_t parent, const std::string& name, const std::string& path, const std::string& subject) {
  const LinkType type = link_type(parent, name, subject);
  if (type != LinkType::hard) fail(subject, path + " is " + link_type_name(type) + ", not a group of the root file");
  Hid group(H5Gopen2(parent, name.c_str(), H5P_DEFAULT));
  if (!group.valid()) fail(subject, path + " is not a group");
  return group;
}

std::string list(const std::vector<std::string>& names) {
  const auto shown = names.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(names.size(), 8));
  return fmt::format("{}{}", fmt::join(names.begin(), shown, ", "), names.size() > 8 ? ", ..." : "");
}

// The links of `group` must be exactly `expected`.
void expect_names(hid_t group, std::set<std::string> expected, const std::string& path, const std::string& subject) {
  std::vector<std::string> unexpected;
  for (const auto& name : link_names(group, subject)) {
    if (expected.erase(name) == 0) unexpected.push_back(name);
  }
  if (!unexpected.empty()) {
    fail(subject, path + " holds " + list(unexpected) + ", which the manifest does not list");
  }
  if (!expected.empty()) {
    fail(subject, path + " lacks " + list({expected.begin(), expected.end()}) + ", which the manifest lists");
  }
}

// A string property of a virtual mapping, read with the length HDF5 reports.
template <typename Get>
std::string mapping_text(Get get, hid_t dcpl, std::size_t index) {
  const ssize_t length = get(dcpl, index, nullptr, 0);
  if (length < 0) return {};
  std::string text(static_cast<std::size_t>(length) + 1, '\0');
  if (get(dcpl, index, text.data(), text.size()) < 0) return {};
  text.resize(static_cast<std::size_t>(length));
  return text;
}

class GlobalViewCheck {
 public:
  GlobalViewCheck(hid_t root, RandomAccessFile& root_file, const Manifest& m, const std::string& subject)
      : root_(root), root_file_(root_file), m_(m), subject_(subject) {}

  void run() {
    expect_names(root_, {"lull", "metadata", kTensorsGroup, kRanksGroup}, "/", subject_);
    expect_names(open_group(root_, "lull", "/lull", subject_), {"manifest"}, "/lull", subject_);
    expect_names(open_group(root_, "metadata", "/metadata", subject_), {}, "/metadata", subject_);

    Hid tensors = open_group(root_, kTensorsGroup, "/tensors", subject_);
    std::set<std::string> names;
    for (const auto& t : m_.tensors) names.insert(t.name);
    expect_names(tensors, names, "/tensors", subject_);
    for (const auto& t : m_.tensors) {
      check_global(tensors, t.name, tensor_path(t.name), t.dtype, t.shape, t.shards, tensor_path(t.name));
    }

    Hid ranks = open_group(root_, kRanksGroup, "/ranks", subject_);
    std::set<std::string> rank_names;
    for (const auto& b : m_.blobs) rank_names.insert(std::to_string(b.rank));
    expect_names(ranks, rank_names, "/ranks", subject_);
    for (const auto& rank_name : rank_names) {
      const int rank = std::stoi(rank_name);
      const std::string group_path = rank_group_path(rank);
      Hid group = open_group(ranks, rank_name, group_path, subject_);
      std::set<std::string> blob_names;
      for (const auto& b : m_.blobs) {
        if (b.rank == rank) blob_names.insert(b.name);
      }
      expect_names(group, blob_names, group_path, subject_);
      for (const auto& b : m_.blobs) {
        if (b.rank != rank) continue;
        const ShardEntry whole{b.rank, Box{{0}, {b.bytes}}, b.bytes, b.checksum, b.file_offset};
        check_global(group, b.name, blob_path(b.rank, b.name), DType::u8, Shape{b.bytes}, {whole},
                     blob_path(b.rank, b.name));
      }
    }
  }

 private:
  [[noreturn]] void differs(const std::string& path, const std::string& what) const {
    fail(subject_, path + " " + what + ", unlike its manifest entry");
  }

  // The global dataset `name` in `parent` (at `path`) must be what the
  // writer makes of `shards` (root_file.cpp): one external link to the
  // dataset at `source` in the shard file of the one rank that holds it
  // whole, else a dataset of `dtype` and `shape` mapping each shard's box to
  // `source` in its rank's shard file.
  void check_global(hid_t parent, const std::string& name, const std::string& path, DType dtype, const Shape& shape,
                    const std::vector<ShardEntry>& shards, const std::string& source) const {
    const LinkType link = link_type(parent, name, subject_);
    if (shards.size() == 1 && shards[0].box.extent == shape) {
      const std::string& file = m_.file_of(shards[0].rank)->name;
      if (link != LinkType::external) differs(path, "is " + std::string(link_type_name(link)) + ", not an external link to " + file);
      const ExternalTarget target = external_target(parent, name, subject_);
      if (target.file != file || target.object != source) {
        differs(path, "links to " + target.file + ":" + target.object + ", not to " + file + ":" + source);
      }
      return;
    }
    if (link != LinkType::hard) differs(path, "is " + std::string(link_type_name(link)) + ", not a dataset");
    if (has_external_file_list(parent, name, subject_)) differs(path, "keeps its bytes in external files");
    if (auto problem = dataset_layout_problem(parent, name, root_file_, subject_); !problem.empty()) {
      fail(subject_, path + " cannot be opened safely: " + problem);
    }
    Hid dataset(H5Dopen2(parent, name.c_str(), H5P_DEFAULT));
    if (!dataset.valid()) differs(path, "is not a dataset");
    Hid type(H5Dget_type(dataset));
    if (!type.valid() || H5Tequal(type, make_hdf5_type(dtype)) <= 0) {
      differs(path, "does not hold " + std::string(dtype_name(dtype)));
    }
    if (dataspace_shape(dataset, subject_) != shape) differs(path, "has another shape");
    const DatasetStorage storage = dataset_storage(dataset, subject_);
    if (storage.external_files != 0) differs(path, "keeps its bytes in external files");
    if (shards.empty()) {
      if (storage.layout == H5D_VIRTUAL) differs(path, "maps bytes although the tensor holds none");
      return;
    }
    if (storage.layout != H5D_VIRTUAL) differs(path, "is not a virtual dataset over the shard files");
    Hid dcpl(H5Dget_create_plist(dataset));
    std::size_t count = 0;
    if (!dcpl.valid() || H5Pget_virtual_count(dcpl, &count) < 0) differs(path, "has unreadable virtual mappings");
    if (count != shards.size()) {
      differs(path, "maps " + std::to_string(count) + " pieces, not the " + std::to_string(shards.size()) + " shards");
    }
    const std::string source_name = escape_vds_name(source);
    for (std::size_t i = 0; i < count; ++i) check_mapping(path, dcpl, i, shards[i], source_name);
  }

  void check_mapping(const std::string& path, hid_t dcpl, std::size_t i, const ShardEntry& shard,
                     const std::string& source_name) const {
    const std::string& file = m_.file_of(shard.rank)->name;
    const std::string piece = "piece " + std::to_string(i);
    const std::string mapped_file = mapping_text(H5Pget_virtual_filename, dcpl, i);
    const std::string mapped_dataset = mapping_text(H5Pget_virtual_dsetname, dcpl, i);
    if (mapped_file != file || mapped_dataset != source_name) {
      differs(path, piece + " reads " + mapped_file + ":" + mapped_dataset + ", not " + file + ":" + source_name);
    }
    const Box& box = shard.box;
    Hid vspace(H5Pget_virtual_vspace(dcpl, i));
    const std::size_t rank = box.offset.size();
    std::vector<hsize_t> start(rank), end(rank);
    if (!vspace.valid() || H5Sget_simple_extent_ndims(vspace) != static_cast<int>(rank) ||
        (rank > 0 && H5Sget_select_bounds(vspace, start.data(), end.data()) < 0) ||
        H5Sget_select_npoints(vspace) != static_cast<hssize_t>(element_count(box.extent))) {
      differs(path, piece + " is not the box " + describe(box));
    }
    for (std::size_t d = 0; d < rank; ++d) {
      if (start[d] != box.offset[d] || end[d] != box.offset[d] + box.extent[d] - 1) {
        differs(path, piece + " is not the box " + describe(box));
      }
    }
    // The source's extent is not stored (HDF5 learns it when it opens the
    // source); that the shard dataset has the box's shape is checked where
    // it is read (ShardSource::locate). Here: the piece reads all of it.
    Hid srcspace(H5Pget_virtual_srcspace(dcpl, i));
    if (!srcspace.valid() || H5Sget_select_type(srcspace) != H5S_SEL_ALL) {
      differs(path, piece + " does not read the whole shard of rank " + std::to_string(shard.rank));
    }
  }

  hid_t root_;
  RandomAccessFile& root_file_;
  const Manifest& m_;
  const std::string& subject_;
};

}  // namespace

Manifest read_checked_manifest(hid_t root, RandomAccessFile& root_file, std::uint64_t root_bytes,
                               const std::string& subject) {
  auto format = read_string_attribute(root, "format");
  if (!format || *format != "lull") fail(subject, "an HDF5 file but not a lull snapshot (no format=\"lull\" attribute)");
  auto version = read_u64_attribute(root, "format_version");
  if (!version) fail(subject, "format_version attribute missing");
  if (*version > static_cast<std::uint64_t>(kFormatVersion)) {
    throw Error(ErrorCode::unsupported, subject + " has format version " + std::to_string(*version) +
                                            "; this lull reads up to " + std::to_string(kFormatVersion),
                {}, {}, "upgrade lull");
  }
  Manifest manifest;
  try {
    manifest = manifest_from_json(read_manifest_json(root, root_file, root_bytes, subject));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::corrupt || e.message().starts_with(subject)) throw;
    fail(subject, e.message());
  }
  check_manifest(manifest, subject);
  const auto step = read_u64_attribute(root, "step");
  if (step != manifest.step) {
    fail(subject, "the step attribute (" + (step ? std::to_string(*step) : std::string("missing")) +
                      ") disagrees with the manifest's step " + std::to_string(manifest.step));
  }
  return manifest;
}

void check_global_view(hid_t root, RandomAccessFile& root_file, const Manifest& manifest,
                       const std::string& subject) {
  GlobalViewCheck(root, root_file, manifest, subject).run();
}

}  // namespace lull::detail
