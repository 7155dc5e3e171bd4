#include "arbiter_server.h"

#include <grp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <deque>
#include <map>
#include <type_traits>

#include "arbiter_journal.h"
#include "arbiter_protocol.h"
#include "arbiter_recovery.h"
#include "client_connections.h"
#include "connection_limits.h"
#include "event_log.h"
#include "local_job_launcher.h"
#include "lull/base/atomic_file.h"
#include "lull/base/bounded_text.h"
#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "lull/base/regular_file.h"
#include "lull/policy/policy_loader.h"
#include "metrics_text.h"
#include "posix/signal_inbox.h"
#include "snapshot_watch.h"
#include "state_directory.h"
#include "status_report.h"
#include "submission_check.h"
#include "unix_socket.h"

namespace lull::arbiter {

namespace {

constexpr std::size_t kCompactAboveBytes = 8 << 20;
// Descriptors kept free of clients beyond one per slot (a running job's
// pidfd): the journal, events, lock, epoll sets, signalfd, a launch's log
// and pipe, the metrics file's temporary, snapshot directories being read.
constexpr std::size_t kSpareDescriptors = 32;
constexpr auto kCheckpointPollInterval = std::chrono::milliseconds(1000);

// epoll tags: what a ready descriptor is.
enum class Source : std::uint64_t { clients = 1, signals = 2, run = 4 };
std::uint64_t tag(Source source, std::uint64_t value) { return (static_cast<std::uint64_t>(source) << 56) | value; }
Source source_of(std::uint64_t tagged) { return static_cast<Source>(tagged >> 56); }
std::uint64_t value_of(std::uint64_t tagged) { return tagged & ((std::uint64_t{1} << 56) - 1); }

TimePoint wall_clock_now() {
  return TimePoint(std::chrono::duration_cast<policy::Duration>(std::chrono::system_clock::now().time_since_epoch()));
}

std::optional<gid_t> group_id(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  if (const group* found = ::getgrnam(name->c_str())) return found->gr_gid;
  throw Error(ErrorCode::invalid_argument, "--socket-group: no group \"" + *name + "\"");
}

class ArbiterServer {
 public:
  explicit ArbiterServer(const ArbiterSettings& settings);
  int run();

 private:
  void open_journal(const std::string& policy_text, int slots);
  void recover();
  TimePoint now() const { return std::max(ledger_->last_time(), wall_clock_now()); }

  void record(RecordKind what);
  void carry_out(const std::vector<Effect>& effects);
  void launch(const LaunchEffect& effect);
  void watch(ActiveRun run);
  void run_ended(JobId job);
  void poll_checkpoints();
  void poll_checkpoint(JobId job);
  void write_metrics();

  void listen();
  nlohmann::json handle_line(std::string_view line, const PeerCredentials& peer);
  nlohmann::json handle_submit(const JobSpec& spec);
  nlohmann::json handle_cancel(JobId job, const PeerCredentials& peer);
  nlohmann::json handle_drain(const PeerCredentials& peer);
  bool sees_all(const PeerCredentials& peer) const { return peer.uid == 0 || peer.uid == ::geteuid(); }
  bool any_live_run() const;

  ArbiterSettings settings_;
  StateDirectory state_;
  std::optional<ArbiterJournal> journal_;
  std::optional<NodeLedger> ledger_;
  LocalJobLauncher launcher_;
  EventLog events_;
  UniqueFd epoll_;
  std::optional<ClientConnections> clients_;
  std::unique_ptr<posix::SignalInbox> signals_;
  std::map<JobId, ActiveRun> runs_;
  std::deque<RecordKind> pending_;
  bool recording_ = false;
  bool draining_ = false;
  bool metrics_dirty_ = true;
  std::chrono::steady_clock::time_point next_checkpoint_poll_{};
};

ArbiterSettings with_defaults(ArbiterSettings settings) {
  if (settings.socket.empty()) settings.socket = settings.state_dir / "arbiter.sock";
  if (settings.events_file.empty()) settings.events_file = settings.state_dir / "events.jsonl";
  if (settings.metrics_file.empty()) settings.metrics_file = settings.state_dir / "lull.prom";
  return settings;
}

LocalLauncherSettings launcher_settings(const ArbiterSettings& settings, const StateDirectory& state) {
  LocalLauncherSettings out;
  out.lull_program = std::filesystem::read_symlink("/proc/self/exe");
  out.mpirun = settings.mpirun;
  out.log_dir = state.job_logs();
  return out;
}

ArbiterServer::ArbiterServer(const ArbiterSettings& settings)
    : settings_(with_defaults(settings)),
      state_(settings_.state_dir),
      launcher_(launcher_settings(settings_, state_)),
      events_(settings_.events_file) {
  // As `lull policy check` reads it: a FIFO or /dev/zero must not hang the arbiter's start.
  const std::string policy_text =
      read_regular_file(settings_.policy_file, policy::kMaxPolicyBytes, "the policy file").bytes;
  const policy::PolicyLoadResult loaded = policy::load_policy_text(policy_text, settings_.policy_file.string());
  if (!loaded.policy) {
    std::string issues;
    for (const auto& issue : loaded.issues) issues += "\n  " + issue.describe();
    throw Error(ErrorCode::invalid_argument, "the policy has problems:" + issues);
  }
  const int slots = settings_.slots.value_or(loaded.policy->slots);
  if (slots < 1) throw Error(ErrorCode::invalid_argument, "--slots must be at least 1");
  open_journal(policy_text, slots);
  signals_ = std::make_unique<posix::SignalInbox>(std::initializer_list<int>{SIGTERM, SIGINT, SIGHUP},
                                                std::initializer_list<int>{SIGHUP});
  epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) throw_errno("epoll_create1", "the arbiter's loop");
  recover();
  if (ledger_->slots() != slots) record(SlotsRecord{slots, "arbiter started with " + std::to_string(slots) + " slots"});
  listen();
  for (auto [fd, source] : {std::pair{clients_->fd(), Source::clients}, std::pair{signals_->fd(), Source::signals}}) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = tag(source, 0);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) throw_errno("epoll_ctl", "the arbiter's loop");
  }
  log::info("arbiter ready: " + std::to_string(ledger_->slots()) + " slots, " + std::to_string(ledger_->jobs().size()) +
            " job(s) known; socket " + settings_.socket.string() + ", at most " + std::to_string(clients_->max_clients()) +
            " clients at once");
}

void ArbiterServer::listen() {
  ConnectionLimits limits;
  limits.max_clients = clients_within_descriptor_limit(
      settings_.max_clients, static_cast<std::size_t>(std::max(ledger_->slots(), 0)) + kSpareDescriptors);
  if (limits.max_clients < settings_.max_clients) {
    log::warn("--max-clients " + std::to_string(settings_.max_clients) +
              " does not fit the descriptor limit (ulimit -n) beside the jobs' descriptors: at most " +
              std::to_string(limits.max_clients) + " clients at once");
  }
  clients_.emplace(listen_on_socket(settings_.socket, group_id(settings_.socket_group)), limits,
                   [this](std::string_view line, const PeerCredentials& peer) { return handle_line(line, peer); });
}

void ArbiterServer::open_journal(const std::string& policy_text, int slots) {
  const std::filesystem::path path = state_.journal();
  JournalContents contents = ArbiterJournal::read(path);
  JournalHeader fresh;
  fresh.policy_text = policy_text;
  fresh.policy_source = settings_.policy_file.string();
  fresh.slots = slots;
  if (!contents.header) {
    journal_ = ArbiterJournal::start(path, fresh);
    ledger_.emplace(fresh);
    return;
  }
  if (contents.torn_tail) log::warn(path.string() + ": a torn last record (from a crash) is dropped");
  ledger_.emplace(*contents.header);
  for (const JournalRecord& record : contents.records) ledger_->apply(record);
  const bool policy_changed = contents.header->policy_text != policy_text;
  const bool compact = ledger_->jobs().empty() && (policy_changed || contents.whole_bytes > kCompactAboveBytes);
  if (compact) {
    fresh.next_job = ledger_->next_job_id();
    fresh.counters = ledger_->counters();
    journal_ = ArbiterJournal::start(path, fresh);
    ledger_.emplace(fresh);
    log::info("journal compacted" + std::string(policy_changed ? "; the new policy is in force" : ""));
    return;
  }
  journal_ = ArbiterJournal::open(path, contents.whole_bytes);
  if (policy_changed) {
    log::warn("the policy file differs from the one the journal began with; the journal's stays in force until no "
              "job is left and the arbiter is restarted");
  }
}

void ArbiterServer::recover() {
  RecoveryPlan plan = plan_recovery(*ledger_, launcher_);
  for (ActiveRun& run : plan.adopted) watch(std::move(run));
  for (RecordKind& what : plan.records) record(std::move(what));
  carry_out(plan.effects);
}

void ArbiterServer::record(RecordKind what) {
  pending_.push_back(std::move(what));
  if (recording_) return;  // the loop below, further up the stack, takes it
  recording_ = true;
  try {
    while (!pending_.empty()) {
      const JournalRecord record{now(), std::move(pending_.front())};
      pending_.pop_front();
      journal_->append(record);
      carry_out(ledger_->apply(record));
    }
  } catch (...) {
    recording_ = false;
    throw;
  }
  recording_ = false;
  metrics_dirty_ = true;
}

void ArbiterServer::carry_out(const std::vector<Effect>& effects) {
  for (const Effect& effect : effects) {
    std::visit(
        [&](const auto& e) {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, EventEffect>) {
            events_.write(e.event);
          } else if constexpr (std::is_same_v<E, LaunchEffect>) {
            launch(e);
          } else {
            const auto found = runs_.find(e.job);
            if (found == runs_.end() || found->second.run != e.run) return;  // ended meanwhile
            constexpr bool kill = std::is_same_v<E, KillEffect>;
            if (kill) {
              launcher_.kill(found->second);
            } else {
              launcher_.send_notice(found->second);
            }
            record(SignalledRecord{e.job, e.run, kill});
          }
        },
        effect);
  }
}

void ArbiterServer::launch(const LaunchEffect& effect) {
  const RunRequest request = run_request_of(*ledger_, effect.job);
  try {
    ActiveRun run = launcher_.launch(request);
    const LaunchedRecord launched{effect.job, effect.run, run.process.pid, run.process.start_ticks};
    watch(std::move(run));
    record(launched);
  } catch (const Error& e) {
    log::error("job " + std::to_string(effect.job) + ": cannot start: " + e.what());
    record(ExitRecord{effect.job, effect.run, 1, std::string("cannot start lull run: ") + e.what()});
  }
}

void ArbiterServer::watch(ActiveRun run) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = tag(Source::run, run.job);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, run.watch.get(), &event) != 0) throw_errno("epoll_ctl", "a job's pidfd");
  const JobId job = run.job;
  runs_.insert_or_assign(job, std::move(run));
}

void ArbiterServer::run_ended(JobId job) {
  const auto found = runs_.find(job);
  if (found == runs_.end()) return;
  ActiveRun run = std::move(found->second);
  runs_.erase(found);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, run.watch.get(), nullptr);
  poll_checkpoint(job);  // the snapshot a notice wrote counts before the exit
  const RunEnd end = launcher_.collect(run);
  log::info("job " + std::to_string(job) + " run " + std::to_string(run.run) + ": exit " + std::to_string(end.exit_code) +
            " (" + end.meaning + ")");
  record(ExitRecord{job, run.run, end.exit_code, end.meaning});
}

void ArbiterServer::poll_checkpoint(JobId job) {
  const auto found = ledger_->jobs().find(job);
  if (found == ledger_->jobs().end()) return;
  const std::optional<std::uint64_t> step = newest_committed_step(found->second.spec.ckpt_dir);
  if (step && (!found->second.last_step || *step > *found->second.last_step)) record(CheckpointRecord{job, *step});
}

void ArbiterServer::poll_checkpoints() {
  std::vector<JobId> live;
  for (const auto& [job, run] : runs_) live.push_back(job);
  for (JobId job : live) poll_checkpoint(job);
}

void ArbiterServer::write_metrics() {
  if (!metrics_dirty_) return;
  try {
    write_file_atomically(FileSystem::posix(), settings_.metrics_file, metrics_text(*ledger_, draining_), 0644);
    metrics_dirty_ = false;
  } catch (const Error& e) {
    log::warn(std::string("metrics file: ") + e.what());
  }
}

bool ArbiterServer::any_live_run() const {
  for (const auto& [id, job] : ledger_->jobs()) {
    if (ledger_->has_live_run(id)) return true;
  }
  return false;
}

nlohmann::json ArbiterServer::handle_line(std::string_view line, const PeerCredentials& peer) {
  try {
    return std::visit(
        [&](const auto& request) -> nlohmann::json {
          using R = std::decay_t<decltype(request)>;
          if constexpr (std::is_same_v<R, requests::Submit>) {
            return handle_submit(request.spec);
          } else if constexpr (std::is_same_v<R, requests::Status>) {
            return ok_answer(status_report(*ledger_, peer.uid, sees_all(peer), draining_,
                                           [&](JobId job) { return launcher_.log_file_of(job); }));
          } else if constexpr (std::is_same_v<R, requests::Cancel>) {
            return handle_cancel(request.job, peer);
          } else {
            return handle_drain(peer);
          }
        },
        parse_request(line, peer));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_argument) throw;  // journal and I/O failures stop the arbiter
    return error_answer(e.message());
  }
}

nlohmann::json ArbiterServer::handle_submit(const JobSpec& spec) {
  std::optional<std::string> problem;
  if (draining_) problem = "the arbiter is draining and accepts no jobs until it is restarted";
  if (!problem) problem = check_submission(spec, ledger_->policy());
  if (!problem) {
    std::vector<std::pair<JobId, std::string>> live;
    for (const auto& [id, job] : ledger_->jobs()) live.emplace_back(id, job.spec.ckpt_dir);
    problem = check_snapshot_dir_free(spec, live);
  }
  if (problem) {
    ArbiterEvent event;
    event.time = now();
    event.event = "reject";
    event.tenant = spec.tenant;
    event.job_class = spec.job_class;
    event.ranks = spec.ranks;
    event.reason = *problem;
    events_.write(event);
    return error_answer(*problem);
  }
  const JobId job = ledger_->next_job_id();
  record(SubmitRecord{job, spec});
  if (const EndedJob* ended = ledger_->ended_job(job); ended && ended->outcome == "rejected") {
    return error_answer("ranks: " + ended->reason + " (job " + std::to_string(job) + " rejected by the policy)");
  }
  return ok_answer({{"job", job}});
}

nlohmann::json ArbiterServer::handle_cancel(JobId job, const PeerCredentials& peer) {
  const auto found = ledger_->jobs().find(job);
  const bool mine = found != ledger_->jobs().end() && (sees_all(peer) || found->second.spec.uid == peer.uid);
  if (!mine) {
    const EndedJob* ended = ledger_->ended_job(job);
    if (ended && (sees_all(peer) || ended->uid == peer.uid)) {
      return error_answer("job " + std::to_string(job) + " has already ended (" + ended->outcome + ")");
    }
    return error_answer("no job " + std::to_string(job) + (sees_all(peer) ? "" : " of yours (uid " + std::to_string(peer.uid) + ")"));
  }
  record(CancelRecord{job, peer.uid});
  const bool still_going = ledger_->jobs().count(job) != 0;
  return ok_answer({{"job", job}, {"state", still_going ? "killing" : "cancelled"}});
}

nlohmann::json ArbiterServer::handle_drain(const PeerCredentials& peer) {
  if (!sees_all(peer)) return error_answer("drain: only root or the arbiter's user may drain the node");
  draining_ = true;
  metrics_dirty_ = true;
  if (ledger_->slots() != 0) record(SlotsRecord{0, "drain"});
  nlohmann::json noticed = nlohmann::json::array(), running = nlohmann::json::array();
  for (const auto& [id, job] : ledger_->jobs()) {
    const auto status = ledger_->status(id);
    if (!status) continue;
    if (status->state == policy::JobState::noticed) noticed.push_back(id);
    if (status->state == policy::JobState::running) running.push_back(id);
  }
  log::info("draining: " + std::to_string(noticed.size()) + " job(s) noticed, " + std::to_string(running.size()) +
            " left to finish; the arbiter exits when none is running");
  return ok_answer({{"noticed", noticed}, {"running", running}});
}

int ArbiterServer::run() {
  epoll_event ready[64];
  for (;;) {
    for (RecordKind& due : ledger_->due_at(now())) record(std::move(due));
    if (std::chrono::steady_clock::now() >= next_checkpoint_poll_) {
      poll_checkpoints();
      next_checkpoint_poll_ = std::chrono::steady_clock::now() + kCheckpointPollInterval;
    }
    write_metrics();
    if (draining_ && !any_live_run()) {
      log::info("drained: no job is running; the arbiter stops (queued jobs wait in the journal)");
      return 0;
    }
    const auto steady_now = std::chrono::steady_clock::now();
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_checkpoint_poll_ - steady_now);
    if (const auto wakeup = ledger_->next_wakeup()) wait = std::min(wait, *wakeup - now());
    const std::optional<ClientClock::time_point> clients_due = clients_->next_wakeup();
    if (clients_due) {
      wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(*clients_due - steady_now));
    }
    const int timeout = static_cast<int>(std::clamp<std::int64_t>(wait.count(), 0, 1000));
    const int count = ::epoll_wait(epoll_.get(), ready, 64, timeout);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw_errno("epoll_wait", "the arbiter's loop");
    bool clients_ready = clients_due && std::chrono::steady_clock::now() >= *clients_due;
    for (int i = 0; i < count; ++i) {
      const std::uint64_t tagged = ready[i].data.u64;
      switch (source_of(tagged)) {
        case Source::clients:
          clients_ready = true;
          break;
        case Source::signals:
          for (const posix::ReceivedSignal& signal : signals_->take()) {
            if (signal.number == SIGTERM || signal.number == SIGINT) {
              log::info("stopping on a signal; " + std::to_string(runs_.size()) +
                        " job run(s) keep running and will be adopted by the next arbiter");
              return 0;
            }
          }
          break;
        case Source::run:
          run_ended(value_of(tagged));
          break;
      }
    }
    if (clients_ready) clients_->serve(std::chrono::steady_clock::now());
  }
}

}  // namespace

int run_arbiter(const ArbiterSettings& settings) {
  ArbiterServer server(settings);
  return server.run();
}

}  // namespace lull::arbiter
