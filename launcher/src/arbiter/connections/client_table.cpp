#include "client_table.h"

namespace lull::arbiter {

std::size_t ClientTable::footprint(const ClientConnection& connection) noexcept {
  return connection.received.capacity() + connection.answer.capacity();
}

ClientConnection& ClientTable::add(UniqueFd fd, const PeerCredentials& peer, ClientClock::time_point now) {
  const ClientId id = next_id_++;
  ClientConnection& connection = connections_[id];
  connection.id = id;
  connection.fd = std::move(fd);
  connection.peer = peer;
  connection.accepted = now;
  buffered_ += footprint(connection);
  ++per_uid_[peer.uid];
  return connection;
}

ClientConnection* ClientTable::find(ClientId id) {
  const auto found = connections_.find(id);
  return found == connections_.end() ? nullptr : &found->second;
}

void ClientTable::remove(ClientId id) {
  const auto found = connections_.find(id);
  if (found == connections_.end()) return;
  buffered_ -= footprint(found->second);
  const auto uid = per_uid_.find(found->second.peer.uid);
  if (uid != per_uid_.end() && --uid->second == 0) per_uid_.erase(uid);
  connections_.erase(found);
}

void ClientTable::append_received(ClientConnection& connection, std::string_view bytes) {
  buffered_ -= footprint(connection);
  connection.received.append(bytes);
  buffered_ += footprint(connection);
}

void ClientTable::set_answer(ClientConnection& connection, std::string answer) {
  buffered_ -= footprint(connection);
  std::string().swap(connection.received);
  connection.answer = std::move(answer);
  connection.answer_sent = 0;
  connection.answering = true;
  buffered_ += footprint(connection);
}

bool ClientTable::evictable(const ClientConnection& connection, ClientClock::time_point now) const {
  return !connection.answering && now - connection.accepted >= limits_.evictable_after;
}

std::optional<ClientId> ClientTable::eviction_candidate(ClientClock::time_point now) const {
  std::optional<ClientId> chosen;
  std::size_t chosen_weight = 0;
  for (const auto& [id, connection] : connections_) {  // oldest first: a tie keeps the older
    if (!evictable(connection, now)) continue;
    const std::size_t weight = per_uid_.at(connection.peer.uid);
    if (!chosen || weight > chosen_weight) {
      chosen = id;
      chosen_weight = weight;
    }
  }
  return chosen;
}

std::optional<ClientId> ClientTable::largest_reader() const {
  std::optional<ClientId> chosen;
  std::size_t chosen_bytes = 0;
  for (const auto& [id, connection] : connections_) {
    if (connection.answering) continue;
    if (!chosen || connection.received.capacity() > chosen_bytes) {
      chosen = id;
      chosen_bytes = connection.received.capacity();
    }
  }
  return chosen;
}

std::vector<ClientId> ClientTable::expired(ClientClock::time_point now) const {
  std::vector<ClientId> out;
  for (const auto& [id, connection] : connections_) {
    if (now - connection.accepted < limits_.request_timeout) break;  // in accept order: the rest are younger
    out.push_back(id);
  }
  return out;
}

std::optional<ClientClock::time_point> ClientTable::next_deadline() const {
  if (connections_.empty()) return std::nullopt;
  return connections_.begin()->second.accepted + limits_.request_timeout;
}

std::optional<ClientClock::time_point> ClientTable::next_evictable() const {
  for (const auto& [id, connection] : connections_) {
    if (!connection.answering) return connection.accepted + limits_.evictable_after;
  }
  return std::nullopt;
}

}  // namespace lull::arbiter
