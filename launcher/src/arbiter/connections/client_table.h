#pragma once
// ClientTable — the bookkeeping of the arbiter's open client connections,
// without any I/O (client_connections.h does that): who is connected and
// since when, what each has sent and is being sent, how many bytes all of
// them buffer, and which one to close when room is needed.
//
// Room is made fairly: the connection chosen is one still waiting for its
// request and open for at least evictable_after, of the uid that holds the
// most connections, the oldest of that uid's. So one user's idle
// connections cannot keep another user's `lull status` out, and a user's
// newest connection wins over their own oldest idle one. A connection whose
// request has been taken (it is being answered) is never chosen: what was
// done for it must reach it.
// Not thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connection_limits.h"
#include "lull/base/unique_fd.h"
#include "unix_socket.h"

namespace lull::arbiter {

using ClientClock = std::chrono::steady_clock;
using ClientId = std::uint64_t;  // in accept order, never reused

struct ClientConnection {
  ClientId id = 0;
  UniqueFd fd;
  PeerCredentials peer;
  ClientClock::time_point accepted;
  std::string received;  // the request line so far (while reading)
  std::string answer;    // the answer (once the request was taken)
  std::size_t answer_sent = 0;
  bool answering = false;
};

class ClientTable {
 public:
  explicit ClientTable(const ConnectionLimits& limits) : limits_(limits) {}

  std::size_t size() const noexcept { return connections_.size(); }
  bool full() const noexcept { return connections_.size() >= limits_.max_clients; }
  // Bytes held by all connections' requests and answers (their capacity).
  std::size_t buffered_bytes() const noexcept { return buffered_; }
  const ConnectionLimits& limits() const noexcept { return limits_; }

  ClientConnection& add(UniqueFd fd, const PeerCredentials& peer, ClientClock::time_point now);
  ClientConnection* find(ClientId id);
  // Forgets the connection and closes its descriptor.
  void remove(ClientId id);

  // Every change of a connection's buffers goes through these, so that
  // buffered_bytes() stays true.
  void append_received(ClientConnection& connection, std::string_view bytes);
  // Takes the request: `answer` is what is left to send; `received` is freed.
  void set_answer(ClientConnection& connection, std::string answer);

  // The connection to close to make room (see above), or nullopt.
  std::optional<ClientId> eviction_candidate(ClientClock::time_point now) const;
  // The connection still reading that buffers the most bytes, or nullopt.
  std::optional<ClientId> largest_reader() const;
  // Connections open for request_timeout or longer at `now`, oldest first.
  std::vector<ClientId> expired(ClientClock::time_point now) const;
  // When the oldest connection's time is up.
  std::optional<ClientClock::time_point> next_deadline() const;
  // When the oldest connection still reading may be closed to make room.
  std::optional<ClientClock::time_point> next_evictable() const;

 private:
  static std::size_t footprint(const ClientConnection& connection) noexcept;
  bool evictable(const ClientConnection& connection, ClientClock::time_point now) const;

  ConnectionLimits limits_;
  std::map<ClientId, ClientConnection> connections_;
  std::map<uid_t, std::size_t> per_uid_;
  ClientId next_id_ = 1;
  std::size_t buffered_ = 0;
};

}  // namespace lull::arbiter
