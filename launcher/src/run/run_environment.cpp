#include "run/run_environment.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <string_view>
#include <system_error>

#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "lull/base/names.h"
#include "lull/base/notice_file.h"
#include "lull/checkpoint/snapshot_store.h"

namespace lull::run {

std::string default_job_name(const std::optional<std::filesystem::path>& ckpt_dir) {
  if (!ckpt_dir) return "job";
  std::filesystem::path dir = ckpt_dir->lexically_normal();
  std::string name = dir.filename().string();
  if (name.empty()) name = dir.parent_path().filename().string();  // "/ckpt/resnet/"
  return is_valid_name(name) ? name : "job";
}

void prepare_run_settings(RunSettings& settings) {
  validate_name("job name", settings.job);
  if (!settings.ckpt_dir) return;
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(*settings.ckpt_dir, ec);
  if (ec) throw errno_error(ec.value(), "getcwd", settings.ckpt_dir->string());
  absolute = absolute.lexically_normal();
  if (absolute.filename().empty() && absolute.has_parent_path()) absolute = absolute.parent_path();  // "dir/"
  settings.ckpt_dir = absolute;
  // The store's own rule: created 0700 when missing, refused when world-writable.
  SnapshotStore store(*settings.ckpt_dir);
}

int parse_notice_signal(std::string_view text) {
  std::string name;
  for (char c : text) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name == "NONE") return 0;
  if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
  if (name == "USR1") return SIGUSR1;
  if (name == "TERM") return SIGTERM;
  throw Error(ErrorCode::invalid_argument,
              "notice signal \"" + std::string(text) + "\" is not one of USR1, TERM, none");
}

std::string parse_every_seconds(std::string_view text) {
  if (text == "auto") return "auto";
  double seconds = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || !(seconds >= 0) || !std::isfinite(seconds)) {
    throw Error(ErrorCode::invalid_argument,
                "--every-seconds \"" + std::string(text) + "\" is not a number of seconds >= 0 or auto");
  }
  return format_seconds(seconds);
}

std::string format_seconds(double seconds) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, seconds);
  if (ec != std::errc()) return std::to_string(seconds);
  return std::string(buffer, end);
}

std::vector<std::string> child_environment(const RunSettings& settings,
                                           const std::filesystem::path& notice_file,
                                           const char* const* inherited) {
  std::map<std::string, std::string> ours;
  ours["LULL_JOB"] = settings.job;
  if (settings.ckpt_dir) ours["LULL_CKPT_DIR"] = settings.ckpt_dir->string();
  ours["LULL_GRACE_SECONDS"] = format_seconds(settings.grace_seconds);
  if (settings.every_steps) ours["LULL_EVERY_STEPS"] = std::to_string(*settings.every_steps);
  if (settings.every_seconds) ours["LULL_EVERY_SECONDS"] = *settings.every_seconds;
  ours[kNoticeFileEnv] = notice_file.string();

  // Defaults the user's environment may override. Open MPI 4.1's mpirun
  // waits odls_base_sigkill_timeout (1 s), once or twice, after ranks that
  // exited non-zero (75 included) are already gone: a second of preemption
  // latency. lull's ranks exit only once their snapshot is committed, so
  // there is nothing left for that second to save.
  std::map<std::string, std::string> defaults{{"OMPI_MCA_odls_base_sigkill_timeout", "0"}};
  // A launcher sent SIGTERM (torchrun) forwards it to the ranks: to them it is the notice.
  if (settings.notice_signal == SIGTERM) defaults["LULL_NOTICE_SIGNALS"] = "USR1,TERM";

  std::vector<std::string> environment;
  for (const char* const* entry = inherited; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    const std::string name(text.substr(0, text.find('=')));
    defaults.erase(name);
    if (ours.find(name) == ours.end()) environment.emplace_back(text);
  }
  for (const auto& [name, value] : ours) environment.push_back(name + "=" + value);
  for (const auto& [name, value] : defaults) environment.push_back(name + "=" + value);
  return environment;
}

}  // namespace lull::run
