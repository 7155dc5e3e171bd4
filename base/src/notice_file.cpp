#include "lull/base/notice_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <system_error>

#include "lull/base/atomic_file.h"
#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "lull/base/json_fields.h"
#include "lull/base/regular_file.h"
#include "lull/base/unique_fd.h"

namespace lull {

double unix_time_now() noexcept {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void write_notice_file(const std::filesystem::path& path, const PreemptionNotice& notice) {
  nlohmann::json doc = {{"deadline_unix", notice.deadline_unix},
                        {"grace_seconds", notice.grace_seconds},
                        {"issued_unix", notice.issued_unix},
                        {"reason", notice.reason}};
  write_file_atomically(FileSystem::posix(), path, doc.dump() + "\n", 0600);
}

namespace {

// A time in seconds: a JSON number from 0 to kMaxNoticeSeconds, which the
// runtime can turn into milliseconds (1e400 parses as infinity); 0 when
// absent and not `required`.
// Its messages keep the wording they had before JsonFields (tests match them).
double seconds_field(const nlohmann::json& doc, const JsonFields& fields, const char* key, bool required) {
  const auto field = doc.find(key);
  if (field == doc.end()) {
    if (required) fields.fail(std::string("field \"") + key + "\" is missing");
    return 0;
  }
  if (!field->is_number()) fields.fail(std::string("field \"") + key + "\" is not a number");
  const double value = field->get<double>();
  if (!std::isfinite(value) || value < 0 || value > kMaxNoticeSeconds) {
    fields.fail(std::string("field \"") + key + "\" is out of range (0 to 1e11 seconds)");
  }
  return value;
}

}  // namespace

PreemptionNotice parse_notice(std::string_view text, std::string_view source) {
  const std::string what = "notice file " + std::string(source);
  const nlohmann::json doc = JsonFields::parse_object(text, what, ErrorCode::invalid_argument);
  const JsonFields fields(doc, what, ErrorCode::invalid_argument);
  PreemptionNotice notice;
  notice.deadline_unix = seconds_field(doc, fields, "deadline_unix", true);
  notice.grace_seconds = seconds_field(doc, fields, "grace_seconds", false);
  notice.issued_unix = seconds_field(doc, fields, "issued_unix", false);
  if (auto it = doc.find("reason"); it != doc.end() && it->is_string()) notice.reason = it->get<std::string>();
  return notice;
}

std::optional<PreemptionNotice> read_notice_file(const std::filesystem::path& path) {
  RegularFileContent content;
  try {
    content = read_regular_file(path, kMaxNoticeFileBytes, "notice file");
  } catch (const Error& error) {
    if (error.code() == ErrorCode::not_found) return std::nullopt;
    throw;
  }
  return parse_notice(content.bytes, path.string());
}

namespace {

// The markers ranks leave beside the notice file (see the header):
//   <notice file>.<kind>-<rank>-of-<world size>[-at-<step>]
struct RankMarker {
  int rank = 0;
  int world_size = 1;
  std::optional<std::uint64_t> step;  // acknowledgements only
};

std::string marker_prefix(const std::filesystem::path& notice_file, std::string_view kind) {
  return notice_file.filename().string() + "." + std::string(kind) + "-";
}

// Consumes the decimal number at the front of `text`, then `separator`.
template <typename Number>
std::optional<Number> take_number(std::string_view& text, std::string_view separator) {
  Number value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  if (text.substr(0, separator.size()) != separator) return std::nullopt;
  text.remove_prefix(separator.size());
  return value;
}

// "<rank>-of-<world size>", then "-at-<step>" when `with_step`, nothing more.
std::optional<RankMarker> parse_marker(std::string_view text, bool with_step) {
  const auto rank = take_number<int>(text, "-of-");
  const auto world_size = rank ? take_number<int>(text, with_step ? "-at-" : "") : std::nullopt;
  if (!world_size || *rank < 0 || *world_size <= 0 || *rank >= *world_size) return std::nullopt;
  RankMarker marker{*rank, *world_size, std::nullopt};
  if (with_step && !(marker.step = take_number<std::uint64_t>(text, ""))) return std::nullopt;
  if (!text.empty()) return std::nullopt;
  return marker;
}

void leave_marker(const std::filesystem::path& notice_file, std::string_view kind, const RankMarker& marker) {
  if (marker.world_size <= 0 || marker.rank < 0 || marker.rank >= marker.world_size) {
    throw Error(ErrorCode::invalid_argument, "notice " + std::string(kind) + " marker of rank " +
                                                 std::to_string(marker.rank) + " in a world of " +
                                                 std::to_string(marker.world_size));
  }
  std::string name = marker_prefix(notice_file, kind) + std::to_string(marker.rank) + "-of-" +
                     std::to_string(marker.world_size);
  if (marker.step) name += "-at-" + std::to_string(*marker.step);
  const std::filesystem::path path = notice_file.parent_path() / name;
  const UniqueFd created(::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!created.valid()) throw_errno("open", path.string());
}

// The markers of `kind` of the largest world size reported.
struct WorldMarkers {
  int world_size = 0;
  int ranks = 0;
  std::optional<std::uint64_t> first_step;
};

WorldMarkers read_markers(const std::filesystem::path& notice_file, std::string_view kind, bool with_step) noexcept {
  WorldMarkers found;
  try {
    const std::string prefix = marker_prefix(notice_file, kind);
    const std::filesystem::path dir = notice_file.has_parent_path() ? notice_file.parent_path() : ".";
    std::map<int, std::set<int>, std::greater<>> ranks_by_world_size;
    std::map<int, std::uint64_t> first_step_by_world_size;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.compare(0, prefix.size(), prefix) != 0) continue;
      const auto marker = parse_marker(std::string_view(name).substr(prefix.size()), with_step);
      if (!marker) continue;
      ranks_by_world_size[marker->world_size].insert(marker->rank);
      if (!marker->step) continue;
      auto [step, fresh] = first_step_by_world_size.try_emplace(marker->world_size, *marker->step);
      if (!fresh && *marker->step < step->second) step->second = *marker->step;
    }
    if (ranks_by_world_size.empty()) return found;
    const auto& [world_size, ranks] = *ranks_by_world_size.begin();
    found.world_size = world_size;
    found.ranks = static_cast<int>(ranks.size());
    if (auto step = first_step_by_world_size.find(world_size); step != first_step_by_world_size.end()) {
      found.first_step = step->second;
    }
  } catch (...) {  // out of memory while listing: as if there were none
    return {};
  }
  return found;
}

constexpr std::string_view kReadyMarker = "ready";
constexpr std::string_view kTakenMarker = "taken";

}  // namespace

void mark_ready_for_notice(const std::filesystem::path& notice_file, int rank, int world_size) {
  leave_marker(notice_file, kReadyMarker, {rank, world_size, std::nullopt});
}

NoticeReadiness read_notice_readiness(const std::filesystem::path& notice_file) noexcept {
  const WorldMarkers markers = read_markers(notice_file, kReadyMarker, false);
  return {markers.world_size, markers.ranks};
}

void acknowledge_notice(const std::filesystem::path& notice_file, const NoticeTaken& taken) {
  leave_marker(notice_file, kTakenMarker, {taken.rank, taken.world_size, taken.step});
}

NoticeAcknowledgements read_notice_acknowledgements(const std::filesystem::path& notice_file) noexcept {
  const WorldMarkers markers = read_markers(notice_file, kTakenMarker, true);
  return {markers.world_size, markers.ranks, markers.first_step};
}

}  // namespace lull
