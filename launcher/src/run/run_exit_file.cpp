#include "run/run_exit_file.h"

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "lull/base/atomic_file.h"
#include "lull/base/bounded_text.h"
#include "lull/base/error.h"
#include "lull/base/regular_file.h"

namespace lull::run {

namespace {

constexpr std::size_t kMaxExitFileBytes = 64 * 1024;
constexpr std::size_t kMaxMeaningBytes = 512;

}  // namespace

void write_exit_file(const std::filesystem::path& path, const RunExit& outcome) {
  const nlohmann::json content = {{"exit_code", outcome.exit_code}, {"meaning", outcome.meaning}};
  write_file_atomically(FileSystem::posix(), path, content.dump() + "\n", 0644);
}

std::optional<RunExit> read_exit_file(const std::filesystem::path& path, std::optional<unsigned> owner) {
  auto not_an_exit_file = [&](const std::string& why) {
    return Error(ErrorCode::corrupt, "not an exit file of lull run: " + path.string(), {}, why);
  };
  RegularFileContent file;
  try {
    file = read_regular_file(path, kMaxExitFileBytes, "exit file", Symlinks::refuse);
  } catch (const Error& error) {
    if (error.code() == ErrorCode::not_found) return std::nullopt;
    if (error.code() == ErrorCode::invalid_argument) throw not_an_exit_file(error.detail());
    throw;
  }
  if (owner && file.owner != *owner) throw not_an_exit_file("not owned by the job's user");
  const nlohmann::json content = nlohmann::json::parse(file.bytes, nullptr, false);
  // The job's owner can write this file: its exit code is checked, its meaning bounded.
  const bool code_ok = content.is_object() && content.contains("exit_code") && content["exit_code"].is_number_integer() &&
                       content["exit_code"].get<std::int64_t>() >= 0 && content["exit_code"].get<std::int64_t>() <= 255;
  if (!code_ok) throw not_an_exit_file("no exit_code from 0 to 255");
  RunExit outcome;
  outcome.exit_code = content["exit_code"].get<int>();
  if (content.contains("meaning") && content["meaning"].is_string()) {
    outcome.meaning = bounded_text(content["meaning"].get<std::string>(), kMaxMeaningBytes);
  }
  return outcome;
}

}  // namespace lull::run
