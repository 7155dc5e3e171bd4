// `lull cancel ID` (arbiter_client_commands.h).
#include "arbiter/protocol/arbiter_protocol.h"
#include "clients/arbiter_client_commands.h"
#include "lull/base/exit_codes.h"

namespace lull::cli {

CLI::App* add_cancel_command(CLI::App& app, CancelOptions& options) {
  CLI::App* command = app.add_subcommand("cancel", "Cancel one of your jobs: dropped when queued, killed when running");
  add_socket_option(*command, options.socket);
  command->add_option("ID", options.job, "The job id (from lull submit or lull status)")->required();
  return command;
}

int run_cancel(const CancelOptions& options, std::ostream& out) {
  const nlohmann::json answer =
      arbiter::ask(arbiter::arbiter_socket_path(options.socket), {{"op", "cancel"}, {"job", options.job}});
  const std::string state = answer.value("state", "");
  out << "job " << options.job << (state == "killing" ? ": killing it" : ": cancelled") << "\n";
  return kExitOk;
}

}  // namespace lull::cli
