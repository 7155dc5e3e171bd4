#include "job_spec.h"

#include <nlohmann/json.hpp>

#include "lull/base/bounded_text.h"
#include "lull/base/json_fields.h"

namespace lull::arbiter {

namespace {

std::optional<std::string> path_problem(const char* field, const std::string& path) {
  const std::string named = std::string(field) + ": " + quoted_text(path);
  for (char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte == 0) return named + " contains a NUL character";
    if (byte < 0x20 || byte == 0x7F) return named + " contains a control character";
  }
  if (path.size() > kMaxPathBytes) {
    return named + " is " + std::to_string(path.size()) + " bytes long, more than a path may be (" +
           std::to_string(kMaxPathBytes) + ")";
  }
  if (path.empty() || path.front() != '/') return named + " must be an absolute path";
  const bool normal = path == "/" || (path.back() != '/' && path.find("//") == std::string::npos &&
                                      (path + "/").find("/./") == std::string::npos &&
                                      (path + "/").find("/../") == std::string::npos);
  if (!normal) return named + " must be a normal path (no \"//\", \".\" or \"..\" component, no trailing \"/\")";
  return std::nullopt;
}

}  // namespace

nlohmann::json to_json(const JobSpec& spec) {
  return {{"tenant", spec.tenant},     {"class", spec.job_class}, {"ranks", spec.ranks},
          {"min_ranks", spec.min_ranks}, {"max_ranks", spec.max_ranks}, {"program", spec.program},
          {"args", spec.args},         {"ckpt_dir", spec.ckpt_dir}, {"cwd", spec.cwd},
          {"uid", spec.uid},           {"gid", spec.gid}};
}

JobSpec job_spec_without_identity(const JsonFields& fields) {
  JobSpec spec;
  spec.tenant = fields.text("tenant");
  spec.job_class = fields.text("class");
  spec.ranks = fields.integer<int>("ranks", 1, kMaxRanks);
  spec.min_ranks = fields.integer_or<int>("min_ranks", 0, 0, kMaxRanks);
  spec.max_ranks = fields.integer_or<int>("max_ranks", 0, 0, kMaxRanks);
  spec.program = fields.text("program");
  spec.args = fields.has("args") ? fields.texts("args") : std::vector<std::string>{};
  spec.ckpt_dir = fields.text("ckpt_dir");
  spec.cwd = fields.text("cwd");
  return spec;
}

JobSpec job_spec_from_json(const nlohmann::json& value) {
  const JsonFields fields(value, "job spec", ErrorCode::corrupt);
  JobSpec spec = job_spec_without_identity(fields);
  spec.uid = fields.integer<uid_t>("uid", 0, kMaxUserId);
  spec.gid = fields.integer<gid_t>("gid", 0, kMaxUserId);
  if (const auto problem = spec_text_problem(spec)) throw Error(ErrorCode::corrupt, "job spec: " + *problem);
  return spec;
}

std::optional<std::string> spec_text_problem(const JobSpec& spec) {
  for (const auto& [field, path] : {std::pair{"program", &spec.program}, std::pair{"ckpt_dir", &spec.ckpt_dir},
                                    std::pair{"cwd", &spec.cwd}}) {
    if (auto problem = path_problem(field, *path)) return problem;
  }
  for (std::size_t i = 0; i < spec.args.size(); ++i) {
    if (spec.args[i].find('\0') != std::string::npos) {
      return "args[" + std::to_string(i) + "]: " + quoted_text(spec.args[i]) +
             " contains a NUL character (a program's argument ends at the first one)";
    }
  }
  return std::nullopt;
}

}  // namespace lull::arbiter
