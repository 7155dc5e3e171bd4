// Fuzz target: one request line to the node arbiter, as it handles it
// (launcher/src/arbiter): parse_request() (JSON, op, every field typed and
// in range), spec_text_problem() (paths and arguments), the answer line and
// the "reject" event a refusal makes, and a submission the checks let
// through: recorded in the journal and read back, then applied to a
// NodeLedger (the decision core with the fuzzed ranks) and a few ticks.
// Any bytes: either a refusal that is lull::Error(invalid_argument) naming
// what is wrong, bounded and encodable as an answer and as an event, or a
// request whose fields are exactly the line's (integers in range, never cut
// to fit) and whose paths are clean, which the journal keeps as it is and
// the ledger takes. Nothing else escapes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "arbiter_event.h"
#include "arbiter_protocol.h"
#include "fuzz_check.h"
#include "journal_record.h"
#include "lull/base/error.h"
#include "lull/base/names.h"
#include "node_ledger.h"

namespace {

using namespace lull;
using namespace lull::arbiter;

// Two tenants of two classes on a 4-slot node.
constexpr int kSlots = 4;
constexpr std::string_view kPolicy = R"(
[node]
slots = 4
idle_before_lull = "1s"

[classes.internal]
priority = 100
preemptible = false

[classes.spot]
priority = 10
preemptible = true
grace = "10s"
min_runtime = "0s"

[tenants.frontier]
class = "internal"
slots = 4

[tenants.acme]
class = "spot"
slots = 4
)";

// The longest refusal a request can draw: a few bounded echoes and words.
constexpr std::size_t kMaxMessageBytes = 2048;
// The longest events-file line a request can cause on this node: tenant and
// class (255 bytes each) and reason (1024) bounded, each byte at worst
// doubled by JSON's escaping, and the fixed fields.
constexpr std::size_t kMaxEventLineBytes = 4096;

bool starts_with_any(const std::string& text, std::initializer_list<std::string_view> prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(), [&](std::string_view p) { return text.rfind(p, 0) == 0; });
}

// `message` is what the client reads: it must say what was wrong.
void check_refusal(const Error& error, std::initializer_list<std::string_view> names) {
  FUZZ_CHECK(error.code() == ErrorCode::invalid_argument, "a refusal that is not invalid_argument");
  FUZZ_CHECK(error.message().size() <= kMaxMessageBytes, "an unbounded refusal");
  FUZZ_CHECK(starts_with_any(error.message(), names), "a refusal that names neither the request nor the field");
  // The answer line must encode as strict JSON (dump() throws on invalid UTF-8).
  const std::string line = error_answer(error.message()).dump();
  FUZZ_CHECK(line.find('\n') == std::string::npos, "an answer that spans lines");
}

void check_event(const ArbiterEvent& event) {
  const std::string line = to_json(event).dump();
  FUZZ_CHECK(line.size() <= kMaxEventLineBytes, "an events-file line a request made long");
  FUZZ_CHECK(line.find('\n') == std::string::npos, "an event that spans lines");
}

// What spec_text_problem() promises, checked by other means: absolute, no
// empty, "." or ".." component, no trailing "/", no control character.
bool clean_path(const std::string& path) {
  if (path.empty() || path.front() != '/' || path.size() > kMaxPathBytes) return false;
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return false;
  }
  if (path == "/") return true;
  for (std::size_t begin = 1; begin <= path.size();) {
    const std::size_t end = std::min(path.find('/', begin), path.size());
    const std::string_view component(path.data() + begin, end - begin);
    if (component.empty() || component == "." || component == "..") return false;
    begin = end + 1;
  }
  return true;
}

// The spec is the line's: every field as sent (integers never cut to fit),
// the optional ones at their defaults when absent.
void check_fields_kept(std::string_view line, const JobSpec& spec) {
  const nlohmann::json sent = nlohmann::json::parse(line)["spec"];
  const nlohmann::json kept = submit_request(spec)["spec"];
  for (const auto& [key, value] : kept.items()) {
    const bool defaulted = !sent.contains(key) || sent[key].is_null();
    const nlohmann::json expected = defaulted ? (key == "args" ? nlohmann::json::array() : nlohmann::json(0)) : sent[key];
    FUZZ_CHECK(value == expected, "a field not as the request sent it");
  }
}

// The arbiter journals the submission before it acts on it: a restart must
// read back exactly what was accepted, or the arbiter could not start again.
void check_journal_keeps(const JobSpec& spec) {
  const JournalRecord written{TimePoint(policy::Duration(1'700'000'000'000)), SubmitRecord{1, spec}};
  const std::string line = to_json(written).dump();
  JournalRecord read;
  try {
    read = record_from_json(nlohmann::json::parse(line));
  } catch (const Error&) {
    FUZZ_CHECK(false, "an accepted submission its own journal refuses");
  }
  FUZZ_CHECK(to_json(read) == to_json(written), "a submission the journal does not keep as it was");
}

// The server's refusal after the checks: its answer and its "reject" event.
void check_rejection(const JobSpec& spec, const std::string& problem) {
  check_refusal(Error(ErrorCode::invalid_argument, problem), {"program: ", "ckpt_dir: ", "cwd: ", "args["});
  ArbiterEvent event;
  event.event = "reject";
  event.tenant = spec.tenant;
  event.job_class = spec.job_class;
  event.ranks = spec.ranks;
  event.reason = problem;
  check_event(event);
}

void check_effects(const std::vector<Effect>& effects, const JobSpec& spec) {
  for (const Effect& effect : effects) {
    if (const auto* event = std::get_if<EventEffect>(&effect)) check_event(event->event);
    const auto* launch = std::get_if<LaunchEffect>(&effect);
    if (launch == nullptr) continue;
    const std::set<SlotId> distinct(launch->slots.begin(), launch->slots.end());
    FUZZ_CHECK(!launch->slots.empty() && distinct.size() == launch->slots.size(), "a launch on no or repeated slots");
    FUZZ_CHECK(*distinct.begin() >= 0 && *distinct.rbegin() < kSlots, "a slot outside the node");
    if (spec.min_ranks == 0 && spec.max_ranks == 0) {
      FUZZ_CHECK(std::cmp_equal(launch->slots.size(), spec.ranks), "a fixed-size job launched on another count");
    }
  }
}

// The ledger takes the submission: the job is known (queued or running) or
// ended as rejected with a reason; time passing does not throw or overflow.
void submit_to_ledger(const JobSpec& spec) {
  if (!is_valid_name(spec.tenant) || !is_valid_name(spec.job_class)) return;  // check_submission refuses these
  JournalHeader header;
  header.policy_text = std::string(kPolicy);
  header.policy_source = "fuzz-policy.toml";
  header.slots = kSlots;
  NodeLedger ledger(header);
  const policy::Tenant* tenant = ledger.policy().find_tenant(spec.tenant);
  if (tenant == nullptr || ledger.policy().class_of(*tenant).name != spec.job_class) return;  // likewise
  const TimePoint t0{policy::Duration(1'700'000'000'000)};
  check_effects(ledger.apply({t0, SubmitRecord{1, spec}}), spec);
  const EndedJob* ended = ledger.ended_job(1);
  FUZZ_CHECK(ledger.jobs().count(1) == 1 || (ended && ended->outcome == "rejected" && !ended->reason.empty()),
             "a submission neither kept nor rejected with a reason");
  for (int second = 1; second <= 3; ++second) {
    const TimePoint now = t0 + policy::Duration(1000 * second);
    for (RecordKind& due : ledger.due_at(now)) check_effects(ledger.apply({now, std::move(due)}), spec);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const PeerCredentials peer{4242, 1000, 1000};
  Request request;
  try {
    request = parse_request(line, peer);
  } catch (const Error& error) {
    check_refusal(error, {"the request is not a JSON object", "unknown request ", "submit request", "cancel request"});
    return 0;
  }
  if (const auto* submit = std::get_if<requests::Submit>(&request)) {
    const JobSpec& spec = submit->spec;
    FUZZ_CHECK(spec.ranks >= 1 && spec.ranks <= kMaxRanks, "ranks out of range");
    FUZZ_CHECK(spec.min_ranks >= 0 && spec.min_ranks <= kMaxRanks, "min_ranks out of range");
    FUZZ_CHECK(spec.max_ranks >= 0 && spec.max_ranks <= kMaxRanks, "max_ranks out of range");
    FUZZ_CHECK(spec.uid == peer.uid && spec.gid == peer.gid, "an identity not the peer's");
    check_fields_kept(line, spec);
    if (const auto problem = spec_text_problem(spec)) {
      check_rejection(spec, *problem);
      return 0;
    }
    FUZZ_CHECK(clean_path(spec.program) && clean_path(spec.ckpt_dir) && clean_path(spec.cwd), "an unclean path accepted");
    for (const std::string& arg : spec.args) FUZZ_CHECK(arg.find('\0') == std::string::npos, "a NUL in an argument");
    check_journal_keeps(spec);
    submit_to_ledger(spec);
  } else if (const auto* cancel = std::get_if<requests::Cancel>(&request)) {
    FUZZ_CHECK(cancel->job >= 1, "job id 0");
    FUZZ_CHECK(nlohmann::json::parse(line)["job"] == cancel->job, "a job id not as the request sent it");
  }
  return 0;
}
