#include "arbiter_server.h"

#include <grp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "client_connections.h"
#include "connection_limits.h"
#include "event_log.h"
#include "ledger_driver.h"
#include "local_job_launcher.h"
#include "lull/base/atomic_file.h"
#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "lull/base/regular_file.h"
#include "lull/policy/policy_loader.h"
#include "metrics_text.h"
#include "posix/signal_inbox.h"
#include "request_handler.h"
#include "state_directory.h"
#include "submission_check.h"
#include "unix_socket.h"

namespace lull::arbiter {

namespace {

// Descriptors kept free of clients beyond one per slot (a running job's
// pidfd): the journal, events, lock, epoll sets, signalfd, a launch's log
// and pipe, the metrics file's temporary, snapshot directories being read.
constexpr std::size_t kSpareDescriptors = 32;
constexpr auto kCheckpointPollInterval = std::chrono::milliseconds(1000);

// epoll tags: what a ready descriptor is.
enum class Source : std::uint64_t { clients = 1, signals = 2, runs = 3 };

std::optional<gid_t> group_id(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  if (const group* found = ::getgrnam(name->c_str())) return found->gr_gid;
  throw Error(ErrorCode::invalid_argument, "--socket-group: no group \"" + *name + "\"");
}

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

// The journal's header for the policy file as it is now: read as `lull
// policy check` reads it (a FIFO or /dev/zero must not hang the start).
JournalHeader current_policy(const ArbiterSettings& settings) {
  JournalHeader header;
  header.policy_text = read_regular_file(settings.policy_file, policy::kMaxPolicyBytes, "the policy file").bytes;
  header.policy_source = settings.policy_file.string();
  const policy::PolicyLoadResult loaded = policy::load_policy_text(header.policy_text, header.policy_source);
  if (!loaded.policy) {
    std::string issues;
    for (const auto& issue : loaded.issues) issues += "\n  " + issue.describe();
    throw Error(ErrorCode::invalid_argument, "the policy has problems:" + issues);
  }
  header.slots = settings.slots.value_or(loaded.policy->slots);
  if (header.slots < 1) throw Error(ErrorCode::invalid_argument, "--slots must be at least 1");
  return header;
}

// The loop: one epoll set for the clients' set, the signals and the runs'
// set; time for the ledger's deadlines, the snapshot polls, the clients'.
class ArbiterServer {
 public:
  explicit ArbiterServer(const ArbiterSettings& settings);
  int run();

 private:
  void listen();
  void watch(int fd, Source source);
  bool stop_signalled();
  void write_metrics();

  ArbiterSettings settings_;
  StateDirectory state_;
  LocalJobLauncher launcher_;
  EventLog events_;
  std::optional<LedgerDriver> driver_;
  std::optional<RequestHandler> requests_;
  std::unique_ptr<posix::SignalInbox> signals_;
  UniqueFd epoll_;
  std::optional<ClientConnections> clients_;
  // What the metrics file last showed: (records applied, draining).
  std::optional<std::pair<std::uint64_t, bool>> metrics_written_;
  std::chrono::steady_clock::time_point next_checkpoint_poll_{};
};

ArbiterServer::ArbiterServer(const ArbiterSettings& settings)
    : settings_(with_defaults(settings)),
      state_(settings_.state_dir),
      launcher_(launcher_settings(settings_, state_)),
      events_(settings_.events_file) {
  const JournalHeader policy = current_policy(settings_);
  driver_.emplace(state_.journal(), policy, launcher_, events_);
  requests_.emplace(driver_->ledger(), *driver_, ::geteuid(), submission_problem,
                    [this](JobId job) { return launcher_.log_file_of(job); });
  signals_ = std::make_unique<posix::SignalInbox>(std::initializer_list<int>{SIGTERM, SIGINT, SIGHUP},
                                                std::initializer_list<int>{SIGHUP});
  epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) throw_errno("epoll_create1", "the arbiter's loop");
  driver_->recover();
  if (driver_->ledger().slots() != policy.slots) {
    driver_->record(SlotsRecord{policy.slots, "arbiter started with " + std::to_string(policy.slots) + " slots"});
  }
  listen();
  watch(clients_->fd(), Source::clients);
  watch(signals_->fd(), Source::signals);
  watch(driver_->fd(), Source::runs);
  log::info("arbiter ready: " + std::to_string(driver_->ledger().slots()) + " slots, " +
            std::to_string(driver_->ledger().jobs().size()) + " job(s) known; socket " + settings_.socket.string() +
            ", at most " + std::to_string(clients_->max_clients()) + " clients at once");
}

void ArbiterServer::listen() {
  ConnectionLimits limits;
  limits.max_clients = clients_within_descriptor_limit(
      settings_.max_clients, static_cast<std::size_t>(std::max(driver_->ledger().slots(), 0)) + kSpareDescriptors);
  if (limits.max_clients < settings_.max_clients) {
    log::warn("--max-clients " + std::to_string(settings_.max_clients) +
              " does not fit the descriptor limit (ulimit -n) beside the jobs' descriptors: at most " +
              std::to_string(limits.max_clients) + " clients at once");
  }
  clients_.emplace(listen_on_socket(settings_.socket, group_id(settings_.socket_group)), limits,
                   [this](std::string_view line, const PeerCredentials& peer) {
                     return requests_->handle(line, peer, driver_->now());
                   });
}

void ArbiterServer::watch(int fd, Source source) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = static_cast<std::uint64_t>(source);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) throw_errno("epoll_ctl", "the arbiter's loop");
}

bool ArbiterServer::stop_signalled() {
  for (const posix::ReceivedSignal& signal : signals_->take()) {
    if (signal.number == SIGTERM || signal.number == SIGINT) return true;
  }
  return false;
}

void ArbiterServer::write_metrics() {
  const std::pair shown{driver_->records_applied(), requests_->draining()};
  if (metrics_written_ == shown) return;
  try {
    write_file_atomically(FileSystem::posix(), settings_.metrics_file, metrics_text(driver_->ledger(), shown.second),
                          0644);
    metrics_written_ = shown;
  } catch (const Error& e) {
    log::warn(std::string("metrics file: ") + e.what());
  }
}

int ArbiterServer::run() {
  epoll_event ready[64];
  for (;;) {
    for (RecordKind& due : driver_->ledger().due_at(driver_->now())) driver_->record(std::move(due));
    if (std::chrono::steady_clock::now() >= next_checkpoint_poll_) {
      driver_->poll_checkpoints();
      next_checkpoint_poll_ = std::chrono::steady_clock::now() + kCheckpointPollInterval;
    }
    write_metrics();
    if (requests_->draining() && !driver_->ledger().any_live_run()) {
      log::info("drained: no job is running; the arbiter stops (queued jobs wait in the journal)");
      return 0;
    }
    const auto steady_now = std::chrono::steady_clock::now();
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_checkpoint_poll_ - steady_now);
    if (const auto wakeup = driver_->ledger().next_wakeup()) wait = std::min(wait, *wakeup - driver_->now());
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
      switch (static_cast<Source>(ready[i].data.u64)) {
        case Source::clients:
          clients_ready = true;
          break;
        case Source::signals:
          if (stop_signalled()) {
            log::info("stopping on a signal; " + std::to_string(driver_->watched_runs()) +
                      " job run(s) keep running and will be adopted by the next arbiter");
            return 0;
          }
          break;
        case Source::runs:
          driver_->reap();
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
