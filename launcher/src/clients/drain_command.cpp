// `lull drain` (arbiter_client_commands.h): the arbiter stops accepting
// jobs, sends every running preemptible job its notice (they checkpoint and
// exit 75, staying queued in the journal), lets non-preemptible jobs finish,
// starts nothing, and exits once no job is running. The next arbiter on the
// same state directory resumes the queue.
#include "arbiter/protocol/arbiter_protocol.h"
#include "clients/arbiter_client_commands.h"
#include "lull/base/exit_codes.h"

namespace lull::cli {

CLI::App* add_drain_command(CLI::App& app, DrainOptions& options) {
  CLI::App* command = app.add_subcommand(
      "drain", "Empty the node: refuse new jobs, preempt tenants (they resume later), let internal jobs finish, "
               "then stop the arbiter (root or the arbiter's user only)");
  add_socket_option(*command, options.socket);
  return command;
}

int run_drain(const DrainOptions& options, std::ostream& out) {
  const nlohmann::json answer = arbiter::ask(arbiter::arbiter_socket_path(options.socket), {{"op", "drain"}});
  out << "draining: " << answer["noticed"].size() << " job(s) noticed, " << answer["running"].size()
      << " left to finish; the arbiter stops when no job is running\n";
  return kExitOk;
}

}  // namespace lull::cli
