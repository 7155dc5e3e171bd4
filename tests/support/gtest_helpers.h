#pragma once
// Helpers for the gtest binaries (header-only: the tools do not link gtest).

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <filesystem>
#include <fstream>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lull/checkpoint.h"

namespace lull::test {

inline std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

// The message() of the lull::Error `action` throws; "(no error)" when it
// throws none. For comparing a whole message.
template <typename F>
std::string error_of(F&& action) {
  try {
    std::forward<F>(action)();
  } catch (const Error& e) {
    return e.message();
  }
  return "(no error)";
}

// Runs `f`, which must throw a lull::Error of `code` whose what() contains
// each of `needles` (case-insensitive). Anything else is a failure saying
// what happened instead.
template <typename F, typename... Needles>
::testing::AssertionResult throws_error(F&& f, ErrorCode code, Needles&&... needles) {
  try {
    std::forward<F>(f)();
  } catch (const Error& e) {
    if (e.code() != code) {
      return ::testing::AssertionFailure() << "expected Error(" << error_code_name(code) << "), got Error("
                                           << error_code_name(e.code()) << "): " << e.what();
    }
    const std::vector<std::string_view> all_needles{std::string_view(needles)...};
    for (std::string_view needle : all_needles) {
      if (!contains(e.what(), needle)) {
        return ::testing::AssertionFailure() << "Error(" << error_code_name(code) << ") does not mention \""
                                             << needle << "\": " << e.what();
      }
    }
    return ::testing::AssertionSuccess() << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "expected lull::Error(" << error_code_name(code)
                                         << "), got another exception: " << e.what();
  } catch (...) {
    return ::testing::AssertionFailure() << "expected lull::Error(" << error_code_name(code)
                                         << "), got a non-std exception";
  }
  return ::testing::AssertionFailure() << "expected lull::Error(" << error_code_name(code) << "), nothing was thrown";
}

// The name a committed snapshot of `step` has: "step-" and the step in 12
// digits, as docs/snapshot-format.md documents the layout.
inline std::string step_dir_name(std::uint64_t step) {
  char name[40];
  std::snprintf(name, sizeof name, "step-%012llu", static_cast<unsigned long long>(step));
  return name;
}

// The committed snapshot directory of `step` (failing the test when absent).
inline std::filesystem::path snapshot_dir(const SnapshotStore& store, std::uint64_t step) {
  for (const auto& entry : store.committed()) {
    if (entry.step == step) return entry.path;
  }
  ADD_FAILURE() << "no committed snapshot of step " << step << " in " << store.dir();
  return {};
}

inline std::string read_whole_file(const std::filesystem::path& file) {
  std::string content;
  if (std::FILE* f = std::fopen(file.c_str(), "rb")) {
    char buffer[65536];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) content.append(buffer, n);
    std::fclose(f);
  }
  return content;
}

inline void write_whole_file(const std::filesystem::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline unsigned mode_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return static_cast<unsigned>(st.st_mode & 07777);
}

// Names in `dir` (not recursive), sorted.
inline std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

inline std::string joined(const std::vector<std::string>& names) { return fmt::to_string(fmt::join(names, ", ")); }

}  // namespace lull::test
