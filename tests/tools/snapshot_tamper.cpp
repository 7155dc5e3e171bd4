// snapshot_tamper — rewrites a committed snapshot as anyone who can write its
// directory could (support/snapshot_editor.h), for the runtime's Python
// tests, which cannot recompute XXH3 checksums themselves:
//
//   snapshot_tamper manifest-set ROOT POINTER JSON
//       sets the manifest field at the JSON pointer (e.g. /blobs/1/bytes) to
//       the JSON value and re-signs the manifest
//   snapshot_tamper manifest-declare ROOT BYTES
//       replaces the manifest by a dataset declaring BYTES bytes, storing none
//   snapshot_tamper fill-blob SNAPSHOT_DIR RANK NAME CHAR
//       overwrites rank RANK's blob NAME with CHAR, checksum re-recorded
//   snapshot_tamper retarget-link FILE OBJECT TARGET_FILE TARGET_OBJECT
//       makes OBJECT of the HDF5 FILE an external link to TARGET_FILE:TARGET_OBJECT
//   snapshot_tamper damage-external-file-list FILE OBJECT
//       makes OBJECT a 1-element f32 dataset whose external file list HDF5
//       cannot decode (nor then close the file)
//
// Exit 0 when done, 1 with the reason on stderr, 2 on bad usage.

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/snapshot_editor.h"

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "snapshot_tamper: " << why
            << "\nusage: snapshot_tamper manifest-set ROOT POINTER JSON | manifest-declare ROOT BYTES |"
               " fill-blob SNAPSHOT_DIR RANK NAME CHAR | retarget-link FILE OBJECT TARGET_FILE TARGET_OBJECT |"
               " damage-external-file-list FILE OBJECT\n";
  std::exit(2);
}

int run(const std::vector<std::string>& a) {
  if (a.empty()) usage("no command");
  const std::string& command = a[0];
  if (command == "manifest-set" && a.size() == 4) {
    const nlohmann::json value = nlohmann::json::parse(a[3]);
    lull::test::edit_manifest(a[1], [&](nlohmann::json& doc) { doc[nlohmann::json::json_pointer(a[2])] = value; });
  } else if (command == "manifest-declare" && a.size() == 3) {
    lull::test::declare_manifest_bytes(a[1], std::stoull(a[2]));
  } else if (command == "fill-blob" && a.size() == 5 && a[4].size() == 1) {
    lull::test::fill_blob(a[1], std::stoi(a[2]), a[3], a[4][0]);
  } else if (command == "retarget-link" && a.size() == 5) {
    lull::test::replace_with_external_link(a[1], a[2], a[3], a[4]);
  } else if (command == "damage-external-file-list" && a.size() == 3) {
    lull::test::damage_external_file_list(a[1], a[2], lull::DType::f32, {1});
  } else {
    usage("bad command or arguments: " + command);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "snapshot_tamper: " << e.what() << "\n";
    return 1;
  }
}
