// `lull status [--json]` (arbiter_client_commands.h): the arbiter's status
// answer (arbiter/ledger/status_report.h) as it is, or as a table.
#include <iomanip>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "arbiter/protocol/arbiter_protocol.h"
#include "clients/arbiter_client_commands.h"
#include "lull/base/exit_codes.h"

namespace lull::cli {

namespace {

std::string slots_text(const nlohmann::json& slots) {
  if (slots.empty()) return "-";
  return fmt::to_string(fmt::join(slots.get<std::vector<int>>(), ","));
}

std::string text_or_dash(const nlohmann::json& value) {
  if (value.is_null()) return "-";
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

CLI::App* add_status_command(CLI::App& app, StatusOptions& options) {
  CLI::App* command = app.add_subcommand("status", "Show the node arbiter's slots and your jobs (root: all jobs)");
  add_socket_option(*command, options.socket);
  command->add_flag("--json", options.json, "Print the arbiter's answer as one JSON object");
  return command;
}

int run_status(const StatusOptions& options, std::ostream& out) {
  nlohmann::json answer = arbiter::ask(arbiter::arbiter_socket_path(options.socket), {{"op", "status"}});
  answer.erase("ok");
  if (options.json) {
    out << answer.dump() << "\n";
    return kExitOk;
  }
  const nlohmann::json& node = answer["node"];
  out << "node      " << node["slots"] << " slots: " << node["busy_slots"] << " busy, " << node["free_slots"]
      << " free (" << node["lull_slots"] << " in a lull)" << (node["draining"].get<bool>() ? "; DRAINING" : "") << "\n";
  out << "jobs      " << node["running_jobs"] << " running, " << node["waiting_jobs"] << " waiting\n";
  out << std::left << std::setw(6) << "ID" << std::setw(12) << "TENANT" << std::setw(10) << "CLASS" << std::setw(11)
      << "STATE" << std::setw(6) << "RANKS" << std::setw(12) << "SLOTS" << std::setw(6) << "STEP" << "WAITING FOR / OUTCOME\n";
  for (const auto& job : answer["jobs"]) {
    out << std::left << std::setw(6) << job["job"].get<unsigned long long>() << std::setw(12)
        << job["tenant"].get<std::string>() << std::setw(10) << job["class"].get<std::string>() << std::setw(11)
        << job["state"].get<std::string>() << std::setw(6) << job["ranks"].get<int>() << std::setw(12)
        << slots_text(job["slots"]) << std::setw(6) << text_or_dash(job["step"]) << text_or_dash(job["waiting_for"]) << "\n";
  }
  for (const auto& job : answer["ended"]) {
    out << std::left << std::setw(6) << job["job"].get<unsigned long long>() << std::setw(12)
        << job["tenant"].get<std::string>() << std::setw(10) << job["class"].get<std::string>() << std::setw(11)
        << job["outcome"].get<std::string>() << std::setw(6) << "" << std::setw(12) << "-" << std::setw(6)
        << text_or_dash(job["step"]) << job["reason"].get<std::string>() << "\n";
  }
  return kExitOk;
}

}  // namespace lull::cli
