// The JSON rendering of `lull inspect --json`. Keys are a contract for
// scripts (docs/cli.md, "lull inspect"): add keys, never rename or remove them.
#include <nlohmann/json.hpp>

#include "lull/base/utc_time.h"
#include "snapshot_tools/human_format.h"
#include "snapshot_tools/inspect_report.h"

namespace lull::snapshot_tools {

namespace {

using Json = nlohmann::ordered_json;

Json problem_json(const VerifyProblem& problem) {
  Json out = {{"what", problem.what},
              {"object", problem.object},
              {"expected", problem.expected},
              {"actual", problem.actual},
              {"description", problem.describe()}};
  if (problem.rank >= 0) out["rank"] = problem.rank;
  return out;
}

}  // namespace

void print_json(const InspectReport& report, std::ostream& out) {
  Json json = {{"path", report.root_file.string()},
               {"dir", report.snapshot_dir.string()},
               {"step", report.step},
               {"job", report.job.empty() ? Json() : Json(report.job)},
               {"world_size", report.world_size},
               {"created", iso8601_utc(report.created_unix)},
               {"created_unix", report.created_unix}};

  Json tensors = Json::array();
  for (const auto& tensor : report.tensors) {
    tensors.push_back({{"name", tensor.name},
                       {"dtype", std::string(dtype_name(tensor.dtype))},
                       {"shape", tensor.shape},
                       {"bytes", tensor.bytes},
                       {"shards", tensor.shards}});
  }
  json["tensors"] = std::move(tensors);

  Json blobs = Json::array();
  for (const auto& blob : report.blobs) {
    blobs.push_back({{"rank", blob.rank}, {"name", blob.name}, {"bytes", blob.bytes}});
  }
  json["blobs"] = std::move(blobs);
  json["metadata"] = Json(report.metadata);
  json["total_bytes"] = report.total_bytes;

  json["checksums"] = checksum_status_name(report.checksums);
  Json problems = Json::array();
  for (const auto& problem : report.problems) problems.push_back(problem_json(problem));
  json["problems"] = std::move(problems);

  if (report.job_dir) {
    json["job_dir"] = report.job_dir->string();
    Json snapshots = Json::array();
    for (const auto& entry : report.snapshots) {
      snapshots.push_back({{"step", entry.step}, {"path", entry.path.string()}});
    }
    json["snapshots"] = std::move(snapshots);
    Json rejected = Json::array();
    for (const auto& entry : report.rejected) {
      rejected.push_back({{"step", entry.step}, {"reason", entry.reason}});
    }
    json["rejected"] = std::move(rejected);
  }
  out << json.dump(2) << "\n";
}

}  // namespace lull::snapshot_tools
