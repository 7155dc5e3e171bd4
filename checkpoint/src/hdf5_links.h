#pragma once
// Looking at an HDF5 file lull did not necessarily write without being led
// out of it: links are read one path component at a time and never
// traversed unless they are hard links (an external link names any file on
// the machine, a soft link any path, and HDF5 follows both on lookup), and a
// dataset's storage is described without reading it (a virtual dataset or
// external storage names other files, read only when the data is).
//
// Every function throws Error(corrupt) with `subject` (the file) and the
// object path in the message when the file is unreadable there.

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lull::detail {

enum class LinkType { missing, hard, soft, external, other };

// "a hard link", "a soft link", "an external link", ... for messages.
const char* link_type_name(LinkType type) noexcept;

// How `name` (one component, no '/') is linked in `group`; the link itself
// is not traversed.
LinkType link_type(hid_t group, const std::string& name, const std::string& subject);

// The names of the links in `group`, in name order.
std::vector<std::string> link_names(hid_t group, const std::string& subject);

// Where the external link `name` in `group` points.
struct ExternalTarget {
  std::string file;
  std::string object;
};
ExternalTarget external_target(hid_t group, const std::string& name, const std::string& subject);

// Empty when every component of the absolute `path` ("/tensors/w") is a hard
// link, checked from the root down so that nothing else is traversed on the
// way; otherwise says which component is what ("/tensors is an external
// link").
std::string hard_link_path_problem(hid_t file, const std::string& path, const std::string& subject);

// True when the object `name` of `group` (a hard link) has an external file
// list: header message type 7 of the HDF5 file format, raw data in other
// files. Read from the object header's list of message types, without
// decoding the message: HDF5 1.10.8 cannot close a file in which it failed
// to decode one (hdf5_exit_guard.h), so this is asked before H5Dopen2.
bool has_external_file_list(hid_t group, const std::string& name, const std::string& subject);

// What backs a dataset's bytes.
struct DatasetStorage {
  H5D_layout_t layout = H5D_LAYOUT_ERROR;
  int external_files = 0;  // H5Pset_external entries: raw data in other files
};
DatasetStorage dataset_storage(hid_t dataset, const std::string& subject);

}  // namespace lull::detail
