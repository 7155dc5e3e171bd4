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
// The submitter's uid and gid come from SO_PEERCRED; a request's own claims
// about identity are not read.

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "job_spec.h"
#include "unix_socket.h"

namespace lull::arbiter {

// Client: the request for `spec` (its uid/gid are not sent).
nlohmann::json submit_request(const JobSpec& spec);

// Arbiter: the spec of a submit request, uid/gid from `peer`. Throws
// lull::Error(invalid_argument) naming a missing or mistyped field.
JobSpec spec_from_submit_request(const nlohmann::json& request, const PeerCredentials& peer);

nlohmann::json ok_answer(nlohmann::json fields = nlohmann::json::object());
nlohmann::json error_answer(const std::string& message);

// Client: sends `request`, returns the answer when it says ok; throws
// lull::Error(invalid_argument) with the arbiter's message otherwise.
nlohmann::json ask(const std::filesystem::path& socket, const nlohmann::json& request, int timeout_seconds = 60);

// Where clients look for the socket: `given` when not empty, else
// $LULL_ARBITER_SOCKET, else /var/lib/lull/arbiter.sock (the default state dir's).
std::filesystem::path arbiter_socket_path(const std::string& given);

}  // namespace lull::arbiter
