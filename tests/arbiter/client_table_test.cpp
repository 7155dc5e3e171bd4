// ClientTable: who is closed to make room, what counts against the memory
// bound, when a connection's time is up. (hostile_clients_test.py drives the
// same rules through real sockets.)
#include <gtest/gtest.h>

#include <fcntl.h>

#include "client_table.h"

namespace lull::arbiter {
namespace {

using namespace std::chrono_literals;

UniqueFd some_fd() { return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

PeerCredentials uid(uid_t id) { return PeerCredentials{1, id, id}; }

ConnectionLimits limits(std::size_t max_clients) {
  ConnectionLimits out;
  out.max_clients = max_clients;
  out.request_timeout = 10s;
  out.evictable_after = 250ms;
  return out;
}

TEST(ClientTable, FullAtTheCap) {
  ClientTable table(limits(2));
  const auto t0 = ClientClock::time_point{} + 1h;
  table.add(some_fd(), uid(0), t0);
  EXPECT_FALSE(table.full());
  const ClientId second = table.add(some_fd(), uid(0), t0).id;
  EXPECT_TRUE(table.full());
  table.remove(second);
  EXPECT_FALSE(table.full());
  EXPECT_EQ(table.size(), 1u);
}

TEST(ClientTable, EvictsOnlyIdleConnectionsOldEnough) {
  ClientTable table(limits(4));
  const auto t0 = ClientClock::time_point{} + 1h;
  const ClientId a = table.add(some_fd(), uid(0), t0).id;
  EXPECT_EQ(table.eviction_candidate(t0 + 100ms), std::nullopt) << "younger than evictable_after";
  EXPECT_EQ(table.eviction_candidate(t0 + 250ms), a);
  EXPECT_EQ(table.next_evictable(), t0 + 250ms);
  table.set_answer(*table.find(a), "{\"ok\":true}\n");
  EXPECT_EQ(table.eviction_candidate(t0 + 1s), std::nullopt) << "its request was taken: never evicted";
}

TEST(ClientTable, TheUidWithMostConnectionsLosesItsOldest) {
  ClientTable table(limits(8));
  const auto t0 = ClientClock::time_point{} + 1h;
  const ClientId lone = table.add(some_fd(), uid(1000), t0).id;  // oldest of all
  const ClientId flood_oldest = table.add(some_fd(), uid(2000), t0 + 1ms).id;
  table.add(some_fd(), uid(2000), t0 + 2ms);
  table.add(some_fd(), uid(2000), t0 + 3ms);
  EXPECT_EQ(table.eviction_candidate(t0 + 1s), flood_oldest);
  table.remove(flood_oldest);
  table.remove(table.eviction_candidate(t0 + 1s).value());
  // 1000 and 2000 hold one each now: the older goes.
  EXPECT_EQ(table.eviction_candidate(t0 + 1s), lone);
}

TEST(ClientTable, CountsBufferedBytesThroughEveryChange) {
  ClientTable table(limits(4));
  const auto t0 = ClientClock::time_point{} + 1h;
  ClientConnection& a = table.add(some_fd(), uid(0), t0);
  ClientConnection& b = table.add(some_fd(), uid(0), t0);
  table.append_received(a, std::string(40000, 'a'));
  table.append_received(b, std::string(1000, 'b'));
  EXPECT_GE(table.buffered_bytes(), 41000u);
  EXPECT_EQ(table.largest_reader(), a.id);
  table.set_answer(a, std::string(10, 'x'));
  EXPECT_LT(table.buffered_bytes(), 41000u) << "the request's buffer is freed once taken";
  EXPECT_EQ(table.largest_reader(), b.id) << "a connection being answered is not a reader";
  table.remove(a.id);
  table.remove(b.id);
  EXPECT_EQ(table.buffered_bytes(), 0u);
}

TEST(ClientTable, ExpiresInAcceptOrder) {
  ClientTable table(limits(4));
  const auto t0 = ClientClock::time_point{} + 1h;
  const ClientId a = table.add(some_fd(), uid(0), t0).id;
  const ClientId b = table.add(some_fd(), uid(0), t0 + 3s).id;
  EXPECT_EQ(table.next_deadline(), t0 + 10s);
  EXPECT_TRUE(table.expired(t0 + 9s).empty());
  EXPECT_EQ(table.expired(t0 + 10s), std::vector<ClientId>{a});
  EXPECT_EQ(table.expired(t0 + 13s), (std::vector<ClientId>{a, b}));
}

}  // namespace
}  // namespace lull::arbiter
