#include "elastic_note.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace lull::detail {

std::string elastic_note(int written_by, int world_size, const std::vector<std::string>& blob_names) {
  if (written_by == world_size) return "";
  std::string note = " (written by " + std::to_string(written_by) + " ranks, resharded to " +
                     std::to_string(world_size) + ")";
  if (!blob_names.empty()) {
    note += "; rank-local state (" + fmt::to_string(fmt::join(blob_names, ", ")) +
            ") is not loaded at another world size: every old rank's stays readable until the first step ends";
  }
  return note;
}

}  // namespace lull::detail
