#pragma once
// ClientConnections — the arbiter's socket side: accepts clients, reads each
// one's request line, hands a complete one to the handler, sends the answer
// and closes; never blocks, and keeps within ConnectionLimits
// (connection_limits.h):
//   - a full table makes room by closing an idle connection (the choice is
//     ClientTable's) with a busy answer; when none may be closed yet, the
//     listener pauses and newcomers wait in the kernel's backlog, in order;
//   - a line longer than max_request_bytes is answered "request too long";
//     when all connections together hold more than max_buffered_bytes, the
//     reader holding the most is closed with a busy answer, and a complete
//     request is answered busy rather than taken;
//   - a connection not done within request_timeout is closed (told so when
//     its request was not complete);
//   - out of descriptors (EMFILE, ENFILE), an idle connection is closed to
//     make room, else the waiting client is accepted on a reserved
//     descriptor and refused with a busy answer (descriptor_reserve.h),
//     else the listener pauses for 250 ms: never a spin.
// What keeps happening is logged at most once per 10 s with a count
// (rate_limited_warning.h). Clients retry busy answers (arbiter_protocol.h).
//
// It keeps its own epoll set: the arbiter's loop watches fd() and calls
// serve() when fd() is readable or next_wakeup() has come. Not thread-safe.

#include <functional>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "client_table.h"
#include "connection_limits.h"
#include "descriptor_reserve.h"
#include "rate_limited_warning.h"
#include "lull/base/unique_fd.h"
#include "unix_socket.h"

namespace lull::arbiter {

class ClientConnections {
 public:
  // Answers one request line (without its newline) from `peer`. What it
  // throws leaves serve() (the arbiter stops); the connection is dropped.
  using Handler = std::function<nlohmann::json(std::string_view line, const PeerCredentials& peer)>;

  // `listener`: a listening, non-blocking socket (unix_socket.h). Throws
  // the errno mapper's Error when its epoll set cannot be made.
  ClientConnections(UniqueFd listener, const ConnectionLimits& limits, Handler handler);

  int fd() const noexcept { return epoll_.get(); }
  std::size_t max_clients() const noexcept { return table_.limits().max_clients; }

  // Does what is ready at `now`: accepts, reads, answers, closes what has
  // timed out; at most one batch of epoll events per call.
  void serve(ClientClock::time_point now);

  // When serve() must run even if fd() stays quiet: a connection's time is
  // up, or the paused listener is due back.
  std::optional<ClientClock::time_point> next_wakeup() const;

 private:
  void accept_clients(ClientClock::time_point now);
  bool out_of_descriptors(int err, ClientClock::time_point now);
  bool make_room(ClientClock::time_point now);
  void read_request(ClientId id);
  void take_request(ClientConnection& connection, std::string_view line);
  void respond(ClientConnection& connection, const nlohmann::json& answer);
  bool send_answer(ClientConnection& connection);
  void refuse(ClientConnection& connection, const nlohmann::json& answer);
  void shed_readers();
  void expire(ClientClock::time_point now);
  void close(ClientId id);
  void watch(const ClientConnection& connection, int op, std::uint32_t events);
  void pause_listener(ClientClock::time_point until);
  void resume_listener();

  UniqueFd listener_;
  UniqueFd epoll_;
  ClientTable table_;
  Handler handler_;
  DescriptorReserve reserve_;
  bool listener_paused_ = false;
  ClientClock::time_point resume_at_{};
  bool closed_any_ = false;  // since the listener paused
  RateLimitedWarning descriptor_warning_;
  RateLimitedWarning full_warning_;
  RateLimitedWarning timeout_warning_;
};

}  // namespace lull::arbiter
