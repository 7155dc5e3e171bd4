#pragma once
// RequestHandler — what the arbiter answers to a client's request and what
// the request makes happen, without sockets, clocks or files: a request line
// and the peer's credentials (SO_PEERCRED) in, the answer out; the records to
// journal and the events to write go to RequestEffects, which the server
// carries out (ledger_driver.h) and a test can simply collect.
//
// Who may do what, by the peer's uid ("the owner" is the arbiter's own uid):
//   submit  anyone who can connect; the job runs as its submitter
//   status  anyone; root and the owner see every job, others their own
//   cancel  root and the owner any job, others their own; someone else's
//           job is answered like an unknown one ("no job 7 of yours (uid
//           1000)"), so job ids cannot be probed; an ended job is named so
//           to whoever may see it
//   drain   root and the owner only
// A request that is not well-formed is answered {"ok": false, "error": ...}
// naming what is wrong (arbiter_protocol.h: parse_request()).
// Not thread-safe.

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "arbiter_event.h"
#include "job_spec.h"
#include "journal_record.h"
#include "node_ledger.h"
#include "unix_socket.h"

namespace lull::arbiter {

// What a request makes happen beyond its answer.
class RequestEffects {
 public:
  virtual ~RequestEffects() = default;
  // Journals `what` and applies it to the ledger the handler reads (and
  // carries out what it calls for) before returning. What it throws, other
  // than Error(invalid_argument), leaves handle(): the arbiter stops rather
  // than answer about what it could not journal.
  virtual void record(RecordKind what) = 0;
  // An event of a submission refused before it got a job id.
  virtual void write_event(const ArbiterEvent& event) = 0;
};

// The snapshot directories of the jobs the ledger holds, by job id.
using LiveSnapshotDirs = std::vector<std::pair<JobId, std::string>>;
// The checks of a submission that read the file system (submission_check.h:
// submission_problem()): the first problem, or nullopt.
using SubmissionCheck =
    std::function<std::optional<std::string>(const JobSpec& spec, const policy::Policy& policy, const LiveSnapshotDirs& live)>;
// Where a job's output goes (status shows it).
using LogFileOf = std::function<std::filesystem::path(JobId job)>;

class RequestHandler {
 public:
  // `ledger` and `effects` must outlive the handler; `effects.record()`
  // must apply to `ledger`. `owner`: the arbiter's uid.
  RequestHandler(const NodeLedger& ledger, RequestEffects& effects, uid_t owner, SubmissionCheck check,
                 LogFileOf log_of);

  // Answers one request line (without its newline) from `peer` at `now`
  // (the time of a refused submission's event). Throws only what
  // RequestEffects::record() throws that is not Error(invalid_argument).
  nlohmann::json handle(std::string_view line, const PeerCredentials& peer, TimePoint now);

  // Since an accepted drain: no submission is taken, and the arbiter ends
  // once no job is running.
  bool draining() const noexcept { return draining_; }

 private:
  nlohmann::json submit(const JobSpec& spec, TimePoint now);
  nlohmann::json status(const PeerCredentials& peer) const;
  nlohmann::json cancel(JobId job, const PeerCredentials& peer);
  nlohmann::json drain(const PeerCredentials& peer);
  bool sees_all(const PeerCredentials& peer) const noexcept { return peer.uid == 0 || peer.uid == owner_; }

  const NodeLedger& ledger_;
  RequestEffects& effects_;
  uid_t owner_;
  SubmissionCheck check_;
  LogFileOf log_of_;
  bool draining_ = false;
};

}  // namespace lull::arbiter
