#include "hdf5_links.h"

#include <vector>

#include "hdf5_handle.h"
#include "lull/base/error.h"

namespace lull::detail {

namespace {

[[noreturn]] void unreadable(const std::string& subject, const std::string& object, const std::string& what) {
  H5Eclear2(H5E_DEFAULT);
  throw Error(ErrorCode::corrupt, subject + ": " + object + " " + what);
}

herr_t collect_name(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

}  // namespace

const char* link_type_name(LinkType type) noexcept {
  switch (type) {
    case LinkType::missing: return "missing";
    case LinkType::hard: return "a hard link";
    case LinkType::soft: return "a soft link";
    case LinkType::external: return "an external link";
    case LinkType::other: return "a user-defined link";
  }
  return "a link of an unknown kind";
}

LinkType link_type(hid_t group, const std::string& name, const std::string& subject) {
  const htri_t exists = H5Lexists(group, name.c_str(), H5P_DEFAULT);
  if (exists < 0) unreadable(subject, name, "cannot be looked up");
  if (exists == 0) return LinkType::missing;
  H5L_info_t info{};
  if (H5Lget_info(group, name.c_str(), &info, H5P_DEFAULT) < 0) unreadable(subject, name, "cannot be looked up");
  switch (info.type) {
    case H5L_TYPE_HARD: return LinkType::hard;
    case H5L_TYPE_SOFT: return LinkType::soft;
    case H5L_TYPE_EXTERNAL: return LinkType::external;
    default: return LinkType::other;
  }
}

std::vector<std::string> link_names(hid_t group, const std::string& subject) {
  std::vector<std::string> names;
  hsize_t index = 0;
  if (H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, collect_name, &names) < 0) {
    unreadable(subject, "a group", "cannot be listed");
  }
  return names;
}

ExternalTarget external_target(hid_t group, const std::string& name, const std::string& subject) {
  H5L_info_t info{};
  if (H5Lget_info(group, name.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_EXTERNAL) {
    unreadable(subject, name, "is not a readable external link");
  }
  // The value lives in the link message, so its size is bounded by the file.
  std::vector<char> value(info.u.val_size + 1, '\0');
  if (H5Lget_val(group, name.c_str(), value.data(), value.size(), H5P_DEFAULT) < 0) {
    unreadable(subject, name, "is an external link whose target cannot be read");
  }
  const char* file = nullptr;
  const char* object = nullptr;
  unsigned flags = 0;
  if (H5Lunpack_elink_val(value.data(), info.u.val_size, &flags, &file, &object) < 0 || file == nullptr ||
      object == nullptr) {
    unreadable(subject, name, "is an external link whose target cannot be read");
  }
  return {file, object};
}

std::string hard_link_path_problem(hid_t file, const std::string& path, const std::string& subject) {
  // H5Lget_info traverses every component but the last, so the prefixes are
  // checked in order: each lookup only passes through links already known
  // to be hard.
  std::string prefix;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    prefix = path.substr(0, end);
    if (end == start) return "an empty component in " + path;
    const htri_t exists = H5Lexists(file, prefix.c_str(), H5P_DEFAULT);
    if (exists <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return prefix + " is missing";
    }
    H5L_info_t info{};
    if (H5Lget_info(file, prefix.c_str(), &info, H5P_DEFAULT) < 0) unreadable(subject, prefix, "cannot be looked up");
    if (info.type != H5L_TYPE_HARD) {
      const LinkType type = info.type == H5L_TYPE_SOFT       ? LinkType::soft
                            : info.type == H5L_TYPE_EXTERNAL ? LinkType::external
                                                             : LinkType::other;
      return prefix + " is " + link_type_name(type);
    }
    start = end + 1;
  }
  return {};
}

bool has_external_file_list(hid_t group, const std::string& name, const std::string& subject) {
  constexpr unsigned kExternalFileListMessage = 7;  // "Data Storage - External Data Files"
  H5O_info_t info{};
  if (H5Oget_info_by_name2(group, name.c_str(), &info, H5O_INFO_HDR, H5P_DEFAULT) < 0) {
    unreadable(subject, name, "has an unreadable object header");
  }
  return (info.hdr.mesg.present & (std::uint64_t{1} << kExternalFileListMessage)) != 0;
}

DatasetStorage dataset_storage(hid_t dataset, const std::string& subject) {
  Hid dcpl(H5Dget_create_plist(dataset));
  if (!dcpl.valid()) unreadable(subject, "a dataset", "has no readable creation properties");
  DatasetStorage storage;
  storage.layout = H5Pget_layout(dcpl);
  storage.external_files = H5Pget_external_count(dcpl);
  if (storage.layout == H5D_LAYOUT_ERROR || storage.external_files < 0) {
    unreadable(subject, "a dataset", "has an unreadable storage layout");
  }
  return storage;
}

}  // namespace lull::detail
