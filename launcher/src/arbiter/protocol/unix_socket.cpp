#include "unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lull/base/errno_error.h"
#include "lull/base/error.h"

namespace lull::arbiter {

namespace {

constexpr int kBacklog = 256;

sockaddr_un address_of(const std::filesystem::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string text = path.string();
  if (text.size() >= sizeof address.sun_path) {
    throw Error(ErrorCode::invalid_argument, "socket path too long (" + std::to_string(text.size()) + " bytes, at most " +
                                                 std::to_string(sizeof address.sun_path - 1) + "): " + text);
  }
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  return address;
}

// An empty UniqueFd, errno set, when nobody listens there.
UniqueFd connect_to(const std::filesystem::path& path) {
  const sockaddr_un address = address_of(path);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw_errno("socket", path.string());
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int err = errno;
    fd.reset();
    errno = err;
  }
  return fd;
}

}  // namespace

UniqueFd listen_on_socket(const std::filesystem::path& path, std::optional<gid_t> group) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0) {
    if (!S_ISSOCK(info.st_mode)) throw Error(ErrorCode::invalid_argument, path.string() + " exists and is not a socket");
    if (connect_to(path).valid()) {
      throw Error(ErrorCode::invalid_argument, "another arbiter is running on " + path.string());
    }
    if (::unlink(path.c_str()) != 0) throw_errno("unlink", path.string());
  }
  const sockaddr_un address = address_of(path);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) throw_errno("socket", path.string());
  // Created 0600 (umask), then opened up to 0660 once its group is right.
  const mode_t old_mask = ::umask(0177);
  const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int bind_error = errno;
  ::umask(old_mask);
  if (bound != 0) throw errno_error(bind_error, "bind", path.string());
  if (group && ::chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0) throw_errno("chown", path.string());
  if (::chmod(path.c_str(), 0660) != 0) throw_errno("chmod", path.string());
  if (::listen(fd.get(), kBacklog) != 0) throw_errno("listen", path.string());
  return fd;
}

PeerCredentials peer_credentials(int fd) {
  ucred credentials{};
  socklen_t size = sizeof credentials;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) throw_errno("getsockopt", "SO_PEERCRED");
  return {credentials.pid, credentials.uid, credentials.gid};
}

std::string ask_arbiter(const std::filesystem::path& path, const std::string& request, int timeout_seconds) {
  const UniqueFd fd = connect_to(path);
  if (!fd.valid()) {
    const int err = errno;
    const std::string how = err == ENOENT || err == ECONNREFUSED
                                ? "is the arbiter running? (lull arbiter --policy FILE --state-dir DIR; the socket is "
                                  "DIR/arbiter.sock, or give --socket / LULL_ARBITER_SOCKET)"
                                : err == EACCES ? "only the arbiter's user and the socket's group may connect" : "";
    throw Error(ErrorCode::io, "cannot reach the arbiter at " + path.string(), "connect", std::strerror(err), how);
  }
  timeval timeout{};
  timeout.tv_sec = timeout_seconds;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  const std::string line = request + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::send(fd.get(), line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("send", path.string());
    done += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      throw Error(ErrorCode::io, "the arbiter did not answer within " + std::to_string(timeout_seconds) + " s");
    }
    if (n < 0) throw_errno("recv", path.string());
    if (n == 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
    if (answer.back() == '\n') break;
  }
  if (answer.empty()) throw Error(ErrorCode::io, "the arbiter closed the connection without an answer");
  return answer;
}

}  // namespace lull::arbiter
