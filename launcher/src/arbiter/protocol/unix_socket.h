#pragma once
// The arbiter's Unix socket: one JSON line in, one JSON line out per
// connection (arbiter_protocol.h). Who is asking comes from the kernel
// (SO_PEERCRED), never from the request.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "lull/base/unique_fd.h"

namespace lull::arbiter {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Binds and listens on `path` (non-blocking, close-on-exec), mode 0660:
// the arbiter's uid and members of the socket's group may connect; the
// group is `group` when given, else the arbiter's. A socket file left by an
// arbiter that is gone is replaced; one an arbiter still answers on is not
// (Error(invalid_argument): "another arbiter is running"). Throws lull::Error.
UniqueFd listen_on_socket(const std::filesystem::path& path, std::optional<gid_t> group);

// Throws the errno mapper's Error.
PeerCredentials peer_credentials(int fd);

// Client side: connects to `path`, sends `request` (one line), returns the
// one-line answer. Throws lull::Error saying how to reach the arbiter when it
// cannot (not running, no permission); waits at most `timeout_seconds`.
std::string ask_arbiter(const std::filesystem::path& path, const std::string& request, int timeout_seconds);

}  // namespace lull::arbiter
