#include "job_spec.h"

#include <nlohmann/json.hpp>

#include "json_fields.h"

namespace lull::arbiter {

nlohmann::json to_json(const JobSpec& spec) {
  return {{"tenant", spec.tenant},     {"class", spec.job_class}, {"ranks", spec.ranks},
          {"min_ranks", spec.min_ranks}, {"max_ranks", spec.max_ranks}, {"program", spec.program},
          {"args", spec.args},         {"ckpt_dir", spec.ckpt_dir}, {"cwd", spec.cwd},
          {"uid", spec.uid},           {"gid", spec.gid}};
}

JobSpec job_spec_from_json(const nlohmann::json& value) {
  const JsonFields fields(value, "job spec", ErrorCode::corrupt);
  JobSpec spec;
  spec.tenant = fields.text("tenant");
  spec.job_class = fields.text("class");
  spec.ranks = static_cast<int>(fields.integer("ranks"));
  spec.min_ranks = static_cast<int>(fields.integer_or("min_ranks", 0));
  spec.max_ranks = static_cast<int>(fields.integer_or("max_ranks", 0));
  spec.program = fields.text("program");
  spec.args = fields.texts("args");
  spec.ckpt_dir = fields.text("ckpt_dir");
  spec.cwd = fields.text("cwd");
  spec.uid = static_cast<uid_t>(fields.integer("uid"));
  spec.gid = static_cast<gid_t>(fields.integer("gid"));
  return spec;
}

}  // namespace lull::arbiter
