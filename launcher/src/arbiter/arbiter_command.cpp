#include "arbiter/arbiter_command.h"

#include "lull/base/log.h"

namespace lull::cli {

CLI::App* add_arbiter_command(CLI::App& app, arbiter::ArbiterSettings& settings) {
  CLI::App* command = app.add_subcommand(
      "arbiter", "Run the node arbiter: schedule jobs from `lull submit` on this node's slots under a policy");
  command->add_option("--policy", settings.policy_file, "The policy file (TOML; `lull policy check` explains it)")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option_function<int>(
             "--slots", [&settings](const int& v) { settings.slots = v; },
             "Slots (GPUs) on this node, ids 0..N-1 (default: the policy's [node] slots)")
      ->check(CLI::PositiveNumber);
  command->add_option("--state-dir", settings.state_dir,
                      "The arbiter's journal, socket, events, metrics and job logs (created 0750)")
      ->capture_default_str();
  command->add_option("--socket", settings.socket, "The Unix socket clients use (default: STATE_DIR/arbiter.sock)");
  command->add_option_function<std::string>(
      "--socket-group", [&settings](const std::string& v) { settings.socket_group = v; },
      "Group whose members may connect (the socket is 0660; default: the arbiter's group)");
  command->add_option("--events-file", settings.events_file, "Events as JSON lines (default: STATE_DIR/events.jsonl)");
  command->add_option("--metrics-file", settings.metrics_file,
                      "Prometheus metrics, for a node exporter's textfile collector (default: STATE_DIR/lull.prom)");
  command->add_option("--mpirun", settings.mpirun, "The mpirun the jobs are started with")->capture_default_str();
  command
      ->add_option("--max-clients", settings.max_clients,
                   "Client connections served at once; more wait, idle ones are closed to make room (lowered to fit "
                   "the descriptor limit)")
      ->check(CLI::Range(arbiter::kMinClients, arbiter::kMaxClients))
      ->capture_default_str();
  command->footer(
      "Jobs run as `lull run ... -- mpirun -np <granted> PROGRAM ARGS...` with CUDA_VISIBLE_DEVICES = the granted "
      "slots, as the submitting user. SIGTERM/SIGINT stop the arbiter; its jobs keep running and the next arbiter on "
      "the same state directory adopts them. Details: docs/arbiter.md.");
  return command;
}

int run_arbiter_command(const arbiter::ArbiterSettings& settings) {
  log::set_identity("arbiter", -1);
  return arbiter::run_arbiter(settings);
}

}  // namespace lull::cli
