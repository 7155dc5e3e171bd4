#pragma once
// The arbiter's protocol on its Unix socket: one JSON object per line; the
// client sends one request, the arbiter answers with one line and closes.
//
// Requests ("op" says which):
//   {"op": "submit", "spec": {"tenant", "class", "ranks", "min_ranks",
//        "max_ranks", "program", "args", "ckpt_dir", "cwd"}}
//        -> {"ok": true, "job": 7}
//   {"op": "status"}  -> {"ok": true, "node": {...}, "jobs": [...], "ended": [...]}
//        (status_report.h; a non-root client sees only its own jobs)
//   {"op": "cancel", "job": 7}  -> {"ok": true, "job": 7, "state": "cancelled"|"killing"}
//   {"op": "drain"}   -> {"ok": true, "noticed": [ids], "running": [ids]}
// Any failure: {"ok": false, "error": "<what is wrong, naming the field>"}.
// A request the arbiter had no room to read (too many connections, too many
// bytes waiting; nothing of it was acted on) is answered
// {"ok": false, "error": "...", "busy": true}: the client may send it again.
// The submitter's uid and gid come from SO_PEERCRED; a request's own claims
// about identity are not read.
//
// A request is one line of at most kMaxRequestBytes, newline included: a
// job's three paths (each at most PATH_MAX), its names and its arguments fit
// many times over; a longer line is refused unread ("request too long").

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "job_spec.h"
#include "lull/policy/events.h"
#include "unix_socket.h"

namespace lull::arbiter {

inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;

// Client: the request for `spec` (its uid/gid are not sent).
nlohmann::json submit_request(const JobSpec& spec);

// The requests, as the arbiter reads them.
namespace requests {
struct Submit {
  JobSpec spec;  // its uid/gid are the peer's
};
struct Status {};
struct Cancel {
  policy::JobId job = 0;
};
struct Drain {};
}  // namespace requests
using Request = std::variant<requests::Submit, requests::Status, requests::Cancel, requests::Drain>;

// Arbiter: one request line (without its newline) from `peer`. Throws
// lull::Error(invalid_argument) naming what is wrong: not a JSON object, an
// unknown "op" (echoed bounded), a missing, mistyped or out-of-range field.
// Nothing else escapes it. Pure.
Request parse_request(std::string_view line, const PeerCredentials& peer);

// Arbiter: the spec of a submit request, uid/gid from `peer`. Throws
// lull::Error(invalid_argument) naming a missing, mistyped or out-of-range
// field (ranks 1..kMaxRanks, min_ranks and max_ranks 0..kMaxRanks; cwd is
// required).
JobSpec spec_from_submit_request(const nlohmann::json& request, const PeerCredentials& peer);

nlohmann::json ok_answer(nlohmann::json fields = nlohmann::json::object());
nlohmann::json error_answer(const std::string& message);
// The answer to a request the arbiter had no room for (see above).
nlohmann::json busy_answer(const std::string& message);

// Client: sends `request`, returns the answer when it says ok; throws
// lull::Error(invalid_argument) with the arbiter's message otherwise, and
// before sending when the request is longer than kMaxRequestBytes. A busy
// answer is retried (after 50 ms, doubling up to 1 s) until
// `timeout_seconds` have passed.
nlohmann::json ask(const std::filesystem::path& socket, const nlohmann::json& request, int timeout_seconds = 60);

// Where clients look for the socket: `given` when not empty, else
// $LULL_ARBITER_SOCKET, else /var/lib/lull/arbiter.sock (the default state dir's).
std::filesystem::path arbiter_socket_path(const std::string& given);

}  // namespace lull::arbiter
