#include "arbiter_protocol.h"

#include <cstdlib>

#include "json_fields.h"
#include "lull/base/error.h"

namespace lull::arbiter {

nlohmann::json submit_request(const JobSpec& spec) {
  nlohmann::json fields = to_json(spec);
  fields.erase("uid");
  fields.erase("gid");
  return {{"op", "submit"}, {"spec", fields}};
}

JobSpec spec_from_submit_request(const nlohmann::json& request, const PeerCredentials& peer) {
  if (!request.contains("spec")) throw Error(ErrorCode::invalid_argument, "submit request: field \"spec\" is missing");
  const JsonFields f(request["spec"], "submit request", ErrorCode::invalid_argument);
  JobSpec spec;
  spec.tenant = f.text("tenant");
  spec.job_class = f.text("class");
  spec.ranks = static_cast<int>(f.integer("ranks"));
  spec.min_ranks = static_cast<int>(f.integer_or("min_ranks", 0));
  spec.max_ranks = static_cast<int>(f.integer_or("max_ranks", 0));
  spec.program = f.text("program");
  spec.args = f.has("args") ? f.texts("args") : std::vector<std::string>{};
  spec.ckpt_dir = f.text("ckpt_dir");
  spec.cwd = f.has("cwd") ? f.text("cwd") : "/";
  spec.uid = peer.uid;
  spec.gid = peer.gid;
  return spec;
}

nlohmann::json ok_answer(nlohmann::json fields) {
  fields["ok"] = true;
  return fields;
}

nlohmann::json error_answer(const std::string& message) { return {{"ok", false}, {"error", message}}; }

nlohmann::json ask(const std::filesystem::path& socket, const nlohmann::json& request, int timeout_seconds) {
  const std::string line = ask_arbiter(socket, request.dump(), timeout_seconds);
  const nlohmann::json answer = nlohmann::json::parse(line, nullptr, false);
  if (!answer.is_object() || !answer.contains("ok")) {
    throw Error(ErrorCode::io, "the arbiter's answer is not a protocol message: " + line.substr(0, 200));
  }
  if (!answer["ok"].get<bool>()) throw Error(ErrorCode::invalid_argument, answer.value("error", "the arbiter refused"));
  return answer;
}

std::filesystem::path arbiter_socket_path(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* from_environment = std::getenv("LULL_ARBITER_SOCKET"); from_environment && *from_environment) {
    return from_environment;
  }
  return "/var/lib/lull/arbiter.sock";
}

}  // namespace lull::arbiter
