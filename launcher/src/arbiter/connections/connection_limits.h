#pragma once
// ConnectionLimits — what the arbiter's clients may take of it at once:
// descriptors, memory and time. A client that is gone, slow or hostile
// costs the arbiter at most one connection slot and its buffered bytes, for
// at most request_timeout; the arbiter never stops answering the others.
//
//   max_clients          connections open at once (--max-clients,
//                        kMinClients..kMaxClients, default 128), lowered at
//                        start to fit the descriptor limit (RLIMIT_NOFILE)
//   request_timeout      from accept to the last byte of the answer (10 s)
//   evictable_after      a connection with no complete request after this
//                        long (250 ms) may be closed to make room for a new one
//   max_request_bytes    one request line (arbiter_protocol.h, 64 KiB)
//   max_buffered_bytes   requests being read and answers being sent, all
//                        connections together (16 MiB)

#include <chrono>
#include <cstddef>

#include "arbiter_protocol.h"

namespace lull::arbiter {

inline constexpr std::size_t kMinClients = 4;
inline constexpr std::size_t kMaxClients = 4096;
inline constexpr std::size_t kDefaultMaxClients = 128;

struct ConnectionLimits {
  std::size_t max_clients = kDefaultMaxClients;
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds evictable_after{250};
  std::size_t max_request_bytes = kMaxRequestBytes;
  std::size_t max_buffered_bytes = std::size_t{16} << 20;
};

// The descriptors this process has open now (/proc/self/fd).
std::size_t open_descriptors();

// `wanted`, or fewer so that `wanted` client connections plus `spare`
// descriptors fit under this process's RLIMIT_NOFILE soft limit beside the
// ones open now; at least kMinClients (when even that does not fit, the
// arbiter refuses clients on EMFILE without spinning: client_connections.h).
std::size_t clients_within_descriptor_limit(std::size_t wanted, std::size_t spare);

}  // namespace lull::arbiter
