#include "request_handler.h"

#include <type_traits>
#include <variant>

#include "arbiter_protocol.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "status_report.h"

namespace lull::arbiter {

RequestHandler::RequestHandler(const NodeLedger& ledger, RequestEffects& effects, uid_t owner, SubmissionCheck check,
                               LogFileOf log_of)
    : ledger_(ledger), effects_(effects), owner_(owner), check_(std::move(check)), log_of_(std::move(log_of)) {}

nlohmann::json RequestHandler::handle(std::string_view line, const PeerCredentials& peer, TimePoint now) {
  try {
    return std::visit(
        [&](const auto& request) -> nlohmann::json {
          using R = std::decay_t<decltype(request)>;
          if constexpr (std::is_same_v<R, requests::Submit>) {
            return submit(request.spec, now);
          } else if constexpr (std::is_same_v<R, requests::Status>) {
            return status(peer);
          } else if constexpr (std::is_same_v<R, requests::Cancel>) {
            return cancel(request.job, peer);
          } else {
            return drain(peer);
          }
        },
        parse_request(line, peer));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_argument) throw;  // journal and I/O failures stop the arbiter
    return error_answer(e.message());
  }
}

nlohmann::json RequestHandler::submit(const JobSpec& spec, TimePoint now) {
  std::optional<std::string> problem;
  if (draining_) problem = "the arbiter is draining and accepts no jobs until it is restarted";
  if (!problem) {
    LiveSnapshotDirs live;
    for (const auto& [id, job] : ledger_.jobs()) live.emplace_back(id, job.spec.ckpt_dir);
    problem = check_(spec, ledger_.policy(), live);
  }
  if (problem) {
    ArbiterEvent event;
    event.time = now;
    event.event = "reject";
    event.tenant = spec.tenant;
    event.job_class = spec.job_class;
    event.ranks = spec.ranks;
    event.reason = *problem;
    effects_.write_event(event);
    return error_answer(*problem);
  }
  const JobId job = ledger_.next_job_id();
  effects_.record(SubmitRecord{job, spec});
  if (const EndedJob* ended = ledger_.ended_job(job); ended && ended->outcome == "rejected") {
    return error_answer("ranks: " + ended->reason + " (job " + std::to_string(job) + " rejected by the policy)");
  }
  return ok_answer({{"job", job}});
}

nlohmann::json RequestHandler::status(const PeerCredentials& peer) const {
  return ok_answer(status_report(ledger_, peer.uid, sees_all(peer), draining_, log_of_));
}

nlohmann::json RequestHandler::cancel(JobId job, const PeerCredentials& peer) {
  const auto found = ledger_.jobs().find(job);
  const bool mine = found != ledger_.jobs().end() && (sees_all(peer) || found->second.spec.uid == peer.uid);
  if (!mine) {
    const EndedJob* ended = ledger_.ended_job(job);
    if (ended && (sees_all(peer) || ended->uid == peer.uid)) {
      return error_answer("job " + std::to_string(job) + " has already ended (" + ended->outcome + ")");
    }
    return error_answer("no job " + std::to_string(job) +
                        (sees_all(peer) ? "" : " of yours (uid " + std::to_string(peer.uid) + ")"));
  }
  effects_.record(CancelRecord{job, peer.uid});
  const bool still_going = ledger_.jobs().count(job) != 0;
  return ok_answer({{"job", job}, {"state", still_going ? "killing" : "cancelled"}});
}

nlohmann::json RequestHandler::drain(const PeerCredentials& peer) {
  if (!sees_all(peer)) return error_answer("drain: only root or the arbiter's user may drain the node");
  draining_ = true;
  if (ledger_.slots() != 0) effects_.record(SlotsRecord{0, "drain"});
  nlohmann::json noticed = nlohmann::json::array(), running = nlohmann::json::array();
  for (const auto& [id, job] : ledger_.jobs()) {
    const auto state = ledger_.status(id);
    if (!state) continue;
    if (state->state == policy::JobState::noticed) noticed.push_back(id);
    if (state->state == policy::JobState::running) running.push_back(id);
  }
  log::info("draining: " + std::to_string(noticed.size()) + " job(s) noticed, " + std::to_string(running.size()) +
            " left to finish; the arbiter exits when none is running");
  return ok_answer({{"noticed", noticed}, {"running", running}});
}

}  // namespace lull::arbiter
