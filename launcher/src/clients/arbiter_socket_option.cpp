#include "clients/arbiter_client_commands.h"

namespace lull::cli {

CLI::Option* add_socket_option(CLI::App& command, std::string& socket) {
  return command.add_option("--socket", socket,
                            "The arbiter's socket (default: $LULL_ARBITER_SOCKET, else /var/lib/lull/arbiter.sock)");
}

}  // namespace lull::cli
