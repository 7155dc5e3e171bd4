#include "arbiter_protocol.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <thread>

#include "lull/base/bounded_text.h"
#include "lull/base/error.h"
#include "lull/base/json_fields.h"

namespace lull::arbiter {

nlohmann::json submit_request(const JobSpec& spec) {
  nlohmann::json fields = to_json(spec);
  fields.erase("uid");
  fields.erase("gid");
  return {{"op", "submit"}, {"spec", fields}};
}

JobSpec spec_from_submit_request(const nlohmann::json& request, const PeerCredentials& peer) {
  const JsonFields request_fields(request, "submit request", ErrorCode::invalid_argument);
  const JsonFields f(request_fields.object("spec"), "submit request", ErrorCode::invalid_argument);
  JobSpec spec = job_spec_without_identity(f);
  spec.uid = peer.uid;
  spec.gid = peer.gid;
  return spec;
}

Request parse_request(std::string_view line, const PeerCredentials& peer) {
  const nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
  if (!request.is_object()) throw Error(ErrorCode::invalid_argument, "the request is not a JSON object");
  const std::string op = request.contains("op") && request["op"].is_string() ? request["op"].get<std::string>() : "";
  if (op == "submit") return requests::Submit{spec_from_submit_request(request, peer)};
  if (op == "status") return requests::Status{};
  if (op == "cancel") {
    const JsonFields f(request, "cancel request", ErrorCode::invalid_argument);
    return requests::Cancel{f.integer<policy::JobId>("job", 1, std::numeric_limits<std::int64_t>::max())};
  }
  if (op == "drain") return requests::Drain{};
  throw Error(ErrorCode::invalid_argument, "unknown request " + quoted_text(op) + " (submit, status, cancel, drain)");
}

nlohmann::json ok_answer(nlohmann::json fields) {
  fields["ok"] = true;
  return fields;
}

nlohmann::json error_answer(const std::string& message) { return {{"ok", false}, {"error", message}}; }

nlohmann::json busy_answer(const std::string& message) { return {{"ok", false}, {"error", message}, {"busy", true}}; }

nlohmann::json ask(const std::filesystem::path& socket, const nlohmann::json& request, int timeout_seconds) {
  const std::string line = request.dump();
  if (line.size() + 1 > kMaxRequestBytes) {
    throw Error(ErrorCode::invalid_argument,
                "the request is " + std::to_string(line.size() + 1) + " bytes long; the arbiter reads at most " +
                    std::to_string(kMaxRequestBytes) + " (the job's paths and arguments together)",
                {}, {}, "put long arguments in a file the program reads");
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  auto pause = std::chrono::milliseconds(50);
  for (;;) {
    const std::string text = ask_arbiter(socket, line, timeout_seconds);
    const nlohmann::json answer = nlohmann::json::parse(text, nullptr, false);
    if (!answer.is_object() || !answer.contains("ok") || !answer["ok"].is_boolean()) {
      throw Error(ErrorCode::io, "the arbiter's answer is not a protocol message: " + bounded_text(text));
    }
    if (answer["ok"].get<bool>()) return answer;
    const std::string error = answer.contains("error") && answer["error"].is_string() ? answer["error"].get<std::string>()
                                                                                     : "the arbiter refused";
    const bool busy = answer.contains("busy") && answer["busy"] == true;
    if (!busy || std::chrono::steady_clock::now() + pause > deadline) throw Error(ErrorCode::invalid_argument, error);
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(1000));
  }
}

std::filesystem::path arbiter_socket_path(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* from_environment = std::getenv("LULL_ARBITER_SOCKET"); from_environment && *from_environment) {
    return from_environment;
  }
  return "/var/lib/lull/arbiter.sock";
}

}  // namespace lull::arbiter
