#include "shard_file.h"

namespace lull::detail {

std::string tensor_path(const std::string& name) { return std::string("/") + kTensorsGroup + "/" + name; }
std::string rank_group_path(int rank) { return std::string("/") + kRanksGroup + "/" + std::to_string(rank); }
std::string blob_path(int rank, const std::string& name) { return rank_group_path(rank) + "/" + name; }

}  // namespace lull::detail
