#include "preemption_latency.h"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "child_process.h"
#include "mpi_job.h"

namespace lull::bench {

namespace {

using Stream = ChildProcess::Stream;

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// What one `lull run` printed that the measurement needs.
struct RunLog {
  std::vector<std::pair<double, std::uint64_t>> step_lines;  // (arrival, step) of "step N loss ..."
  std::optional<std::uint64_t> checkpoint_step;
  double stopped_at = -1;  // arrival of "stopping at step N on a committed snapshot"
  std::uint64_t checkpoint_bytes = 0;
  double checkpoint_seconds = -1;
  std::string tail;  // the last lines, for errors

  void take(Stream stream, const std::string& line, double seconds) {
    static const std::regex step_line(R"(^step (\d+) loss )");
    static const std::regex written(R"(preemption checkpoint step (\d+): (\d+) bytes in ([0-9.]+) s)");
    std::smatch m;
    if (stream == Stream::out && std::regex_search(line, m, step_line)) {
      step_lines.emplace_back(seconds, std::stoull(m[1]));
      return;
    }
    if (line.find("stopping at step") != std::string::npos && stopped_at < 0) stopped_at = seconds;
    if (std::regex_search(line, m, written)) {
      checkpoint_step = std::stoull(m[1]);
      checkpoint_bytes = std::stoull(m[2]);
      checkpoint_seconds = std::stod(m[3]);
    }
    tail += line + "\n";
    if (tail.size() > 4000) tail.erase(0, tail.size() - 4000);
  }

  // Seconds per step from the step lines seen so far.
  double step_seconds() const {
    if (step_lines.size() < 2) return 0;
    const auto& [t0, s0] = step_lines.front();
    const auto& [t1, s1] = step_lines.back();
    return (t1 - t0) / static_cast<double>(s1 - s0);
  }
};

// The step of the committed snapshot `lull inspect DIR --json` reports.
std::optional<std::uint64_t> committed_step(const std::string& lull, const std::filesystem::path& dir) {
  std::string json;
  ChildProcess inspect({lull, "inspect", dir.string(), "--json"}, {},
                       [&](Stream stream, const std::string& line, double) {
                         if (stream == Stream::out) json += line + "\n";
                       });
  double exited_at = 0;
  if (inspect.wait(exited_at) != 0) return std::nullopt;
  const auto report = nlohmann::json::parse(json, nullptr, false);
  if (report.is_discarded() || !report.contains("step")) return std::nullopt;
  return report["step"].get<std::uint64_t>();
}

nlohmann::json one_repetition(const PreemptionLatencyOptions& o, const PreemptionVariant& variant, int rep) {
  const std::filesystem::path ckpt =
      o.dir / ("preempt-np" + std::to_string(o.ranks) + "-" + variant.name + "-" + std::to_string(rep));
  std::filesystem::remove_all(ckpt);
  RunLog log;
  std::vector<std::string> environment = variant.env;
  environment.push_back("LULL_LOG_LEVEL=info");
  ChildProcess job({o.lull, "run", "--ckpt-dir", ckpt.string(), "--", o.mpirun, "-np", std::to_string(o.ranks),
                    "--bind-to", "none", o.train_mlp, "--steps", "100000000", "--step-ms", std::to_string(o.step_ms),
                    "--log-every", std::to_string(o.log_every)},
                   environment,
                   [&](Stream s, const std::string& line, double t) { log.take(s, line, t); });
  const double give_up = now_seconds() + 60;
  while (log.step_lines.size() < static_cast<std::size_t>(o.warmup_lines) && now_seconds() < give_up) {
    if (!job.pump(0.05)) break;
  }
  if (log.step_lines.size() < static_cast<std::size_t>(o.warmup_lines)) {
    job.kill(SIGKILL);
    double ignored = 0;
    job.wait(ignored);
    return {{"error", "train_mlp printed " + std::to_string(log.step_lines.size()) + " step lines:\n" + log.tail}};
  }
  const double step_s = log.step_seconds();
  // The signal lands at a different point of a step in each repetition.
  const double phase = std::fmod(0.37 * rep, 1.0);
  job.pump(phase * step_s);

  const double sent = now_seconds();
  job.kill(SIGTERM);
  double exited = 0;
  const int code = job.wait(exited);
  const double latency = exited - sent;

  nlohmann::json sample = {{"latency_s", latency}, {"step_s", step_s}, {"exit_code", code}};
  if (log.stopped_at >= 0) sample["stopped_s"] = log.stopped_at - sent;
  if (code != 75) {
    sample["error"] = "lull run exited " + std::to_string(code) + ", not 75:\n" + log.tail;
  } else if (!log.checkpoint_step) {
    sample["error"] = "no \"preemption checkpoint step N: B bytes in S s\" line:\n" + log.tail;
  } else if (committed_step(o.lull, ckpt) != log.checkpoint_step) {
    sample["error"] = "lull inspect does not report the committed snapshot step " + std::to_string(*log.checkpoint_step);
  } else {
    sample["step"] = *log.checkpoint_step;
    sample["bytes"] = log.checkpoint_bytes;
    sample["write_s"] = log.checkpoint_seconds;
    sample["overhead_s"] = latency - log.checkpoint_seconds;
  }
  std::filesystem::remove_all(ckpt);
  return sample;
}

}  // namespace

nlohmann::json measure_preemption_latency(const PreemptionLatencyOptions& options) {
  const std::size_t count = options.variants.size();
  std::vector<nlohmann::json> samples(count, nlohmann::json::array());
  for (int rep = 0; rep < options.reps; ++rep) {
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t v = (i + static_cast<std::size_t>(rep)) % count;
      samples[v].push_back(one_repetition(options, options.variants[v], rep));
    }
  }
  nlohmann::json variants = nlohmann::json::object();
  for (std::size_t v = 0; v < count; ++v) {
    nlohmann::json summary = {{"env", options.variants[v].env}, {"samples", samples[v]}};
    std::size_t good = 0;
    for (const char* field : {"latency_s", "stopped_s", "write_s", "overhead_s", "step_s"}) {
      std::vector<double> values;
      for (const auto& s : samples[v]) {
        if (!s.contains("error") && s.contains(field)) values.push_back(s[field]);
      }
      summary[field] = median(values);
      if (std::string(field) == "overhead_s") good = values.size();
    }
    summary["good_reps"] = good;
    variants[options.variants[v].name] = std::move(summary);
  }
  return {{"ranks", options.ranks}, {"step_ms", options.step_ms}, {"reps", options.reps}, {"variants", variants}};
}

}  // namespace lull::bench
