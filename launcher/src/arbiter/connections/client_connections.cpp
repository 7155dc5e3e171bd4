#include "client_connections.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "arbiter_protocol.h"
#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "posix/epoll_ready.h"

namespace lull::arbiter {

namespace {

constexpr std::uint64_t kListenerTag = 0;  // client ids start at 1
constexpr auto kListenerPause = std::chrono::milliseconds(250);
constexpr std::size_t kReadChunk = 16 * 1024;

std::string seconds_text(std::chrono::milliseconds duration) {
  const auto count = duration.count();
  return count % 1000 == 0 ? std::to_string(count / 1000) + " s" : std::to_string(count) + " ms";
}

std::string line_of(const nlohmann::json& answer) {
  // Replace, never throw, should a message carry bytes that are not UTF-8.
  return answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

ClientConnections::ClientConnections(UniqueFd listener, const ConnectionLimits& limits, Handler handler)
    : listener_(std::move(listener)), epoll_(::epoll_create1(EPOLL_CLOEXEC)), table_(limits), handler_(std::move(handler)) {
  if (!epoll_.valid()) throw_errno("epoll_create1", "the arbiter's clients");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kListenerTag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &event) != 0) throw_errno("epoll_ctl", "the arbiter's socket");
}

void ClientConnections::serve(ClientClock::time_point now) {
  if (listener_paused_ && now >= resume_at_) resume_listener();
  epoll_event ready[64];
  const int count = posix::epoll_ready(epoll_.get(), ready, "the arbiter's clients");
  for (int i = 0; i < count; ++i) {
    const std::uint64_t tag = ready[i].data.u64;
    if (tag == kListenerTag) {
      accept_clients(now);
      continue;
    }
    ClientConnection* connection = table_.find(tag);
    if (connection == nullptr) continue;  // closed by an earlier event of this batch
    if (connection->answering) {
      send_answer(*connection);
    } else {
      read_request(tag);
    }
  }
  expire(now);
  if (listener_paused_ && closed_any_) resume_listener();
}

std::optional<ClientClock::time_point> ClientConnections::next_wakeup() const {
  std::optional<ClientClock::time_point> wakeup = table_.next_deadline();
  if (listener_paused_ && (!wakeup || resume_at_ < *wakeup)) wakeup = resume_at_;
  return wakeup;
}

void ClientConnections::accept_clients(ClientClock::time_point now) {
  bool known_waiting = true;  // epoll said the listener is readable
  for (;;) {
    if (table_.full()) {
      if (!known_waiting) return;  // epoll says so again if more wait
      if (!make_room(now)) {
        full_warning_.note("the arbiter has " + std::to_string(table_.size()) + " client connections, the most it takes " +
                               "(--max-clients), none idle long enough to close: new clients wait",
                           now);
        pause_listener(table_.next_evictable().value_or(now + kListenerPause));
        return;
      }
    }
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.valid()) {
      const int err = errno;
      if (err == EINTR || err == ECONNABORTED) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (out_of_descriptors(err, now)) continue;
      return;
    }
    known_waiting = false;
    PeerCredentials peer;
    try {
      peer = peer_credentials(fd.get());
    } catch (const Error&) {
      continue;  // gone already
    }
    watch(table_.add(std::move(fd), peer, now), EPOLL_CTL_ADD, EPOLLIN);
  }
}

// accept() failed with `err`: returns whether to try again at once.
bool ClientConnections::out_of_descriptors(int err, ClientClock::time_point now) {
  const bool no_descriptor = err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
  descriptor_warning_.note(errno_error(err, "accept4", "the arbiter's socket").what() +
                               std::string(no_descriptor ? "; clients are refused until descriptors are free: raise "
                                                           "the limit (ulimit -n) or lower --max-clients"
                                                         : ""),
                           now);
  if (!no_descriptor) {
    pause_listener(now + kListenerPause);
    return false;
  }
  if (make_room(now)) return true;  // an idle connection's descriptor is free now
  if (reserve_.refuse_one(listener_.get(), line_of(busy_answer("the arbiter is out of file descriptors; try again")))) {
    return true;
  }
  pause_listener(now + kListenerPause);
  return false;
}

// Closes one connection to free its slot and descriptor: returns false when
// none may be closed.
bool ClientConnections::make_room(ClientClock::time_point now) {
  while (const std::optional<ClientId> id = table_.eviction_candidate(now)) {
    const std::size_t before = table_.size();
    read_request(*id);  // a last look: it may have sent its request meanwhile
    if (table_.size() < before) return true;  // served (or gone) and closed
    ClientConnection* connection = table_.find(*id);
    if (connection == nullptr) return true;
    if (connection->answering) continue;  // its request was taken; its answer is on its way
    full_warning_.note("the arbiter has " + std::to_string(table_.size()) + " client connections, the most it takes (" +
                           "--max-clients): closing the oldest idle one of uid " + std::to_string(connection->peer.uid),
                       now);
    refuse(*connection, busy_answer("the arbiter has too many connections and closed this idle one; try again"));
    return true;
  }
  return false;
}

void ClientConnections::read_request(ClientId id) {
  ClientConnection* connection = table_.find(id);
  if (connection == nullptr || connection->answering) return;
  const std::size_t limit = table_.limits().max_request_bytes;
  char buffer[kReadChunk];
  for (;;) {
    // Never more than one byte past the limit: enough to know it is too long.
    const std::size_t room = limit + 1 - connection->received.size();
    const ssize_t n = ::recv(connection->fd.get(), buffer, std::min(sizeof buffer, room), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // wait for more
    if (n <= 0) {  // gone before asking
      close(id);
      return;
    }
    const std::size_t scanned = connection->received.size();
    table_.append_received(*connection, std::string_view(buffer, static_cast<std::size_t>(n)));
    const std::size_t newline = connection->received.find('\n', scanned);
    if (newline != std::string::npos) {
      const std::string line = connection->received.substr(0, newline);
      take_request(*connection, line);
      return;
    }
    if (connection->received.size() > limit) {
      respond(*connection, error_answer("request too long: more than " + std::to_string(limit) +
                                        " bytes without a newline (the most a request may be)"));
      return;
    }
    if (table_.buffered_bytes() > table_.limits().max_buffered_bytes) {
      shed_readers();
      if (table_.find(id) == nullptr) return;
    }
  }
}

void ClientConnections::take_request(ClientConnection& connection, std::string_view line) {
  const std::size_t own = connection.received.capacity();
  if (table_.buffered_bytes() - own > table_.limits().max_buffered_bytes) {
    refuse(connection, busy_answer("the arbiter has too many bytes waiting for clients; try again"));
    return;
  }
  respond(connection, handler_(line, connection.peer));
}

void ClientConnections::respond(ClientConnection& connection, const nlohmann::json& answer) {
  table_.set_answer(connection, line_of(answer));
  if (send_answer(connection)) watch(connection, EPOLL_CTL_MOD, EPOLLOUT);  // the rest when the client reads
}

// Sends what the client's socket takes now; closes the connection once all
// is sent (or the client is gone). Returns whether some is left to send.
bool ClientConnections::send_answer(ClientConnection& connection) {
  while (connection.answer_sent < connection.answer.size()) {
    const ssize_t n = ::send(connection.fd.get(), connection.answer.data() + connection.answer_sent,
                             connection.answer.size() - connection.answer_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) break;  // the client is gone
    connection.answer_sent += static_cast<std::size_t>(n);
  }
  close(connection.id);
  return false;
}

// Tells the client why (as much as fits in its socket now) and closes.
void ClientConnections::refuse(ClientConnection& connection, const nlohmann::json& answer) {
  const std::string line = line_of(answer);
  [[maybe_unused]] const ssize_t sent = ::send(connection.fd.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  close(connection.id);
}

void ClientConnections::shed_readers() {
  while (table_.buffered_bytes() > table_.limits().max_buffered_bytes) {
    const std::optional<ClientId> id = table_.largest_reader();
    if (!id) return;
    refuse(*table_.find(*id), busy_answer("the arbiter has too many bytes waiting for clients; try again"));
  }
}

void ClientConnections::expire(ClientClock::time_point now) {
  for (ClientId id : table_.expired(now)) {
    read_request(id);  // a last look: its request may be waiting unread
    ClientConnection* connection = table_.find(id);
    if (connection == nullptr || connection->answering) {
      if (connection != nullptr) close(id);  // it did not take its answer in time
      continue;
    }
    timeout_warning_.note("closed a client connection of uid " + std::to_string(connection->peer.uid) +
                              " that sent no complete request within " +
                              seconds_text(table_.limits().request_timeout),
                          now);
    refuse(*connection, error_answer("no complete request within " + seconds_text(table_.limits().request_timeout)));
  }
}

void ClientConnections::close(ClientId id) {
  ClientConnection* connection = table_.find(id);
  if (connection == nullptr) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, connection->fd.get(), nullptr);
  table_.remove(id);
  closed_any_ = true;
}

// Adds (EPOLL_CTL_ADD) or changes (EPOLL_CTL_MOD) what the connection is
// watched for; a connection that cannot be watched is closed.
void ClientConnections::watch(const ClientConnection& connection, int op, std::uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = connection.id;
  if (::epoll_ctl(epoll_.get(), op, connection.fd.get(), &event) != 0) close(connection.id);
}

void ClientConnections::pause_listener(ClientClock::time_point until) {
  epoll_event event{};
  event.events = 0;  // registered, reporting nothing
  event.data.u64 = kListenerTag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listener_.get(), &event) != 0) throw_errno("epoll_ctl", "the arbiter's socket");
  listener_paused_ = true;
  resume_at_ = until;
  closed_any_ = false;
}

void ClientConnections::resume_listener() {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kListenerTag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listener_.get(), &event) != 0) throw_errno("epoll_ctl", "the arbiter's socket");
  listener_paused_ = false;
}

}  // namespace lull::arbiter
