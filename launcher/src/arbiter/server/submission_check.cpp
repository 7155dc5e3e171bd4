#include "submission_check.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lull/base/bounded_text.h"
#include "lull/base/names.h"

namespace lull::arbiter {

namespace {

template <typename Items>
std::string known_names(const Items& items) {
  if (items.empty()) return "none";
  std::vector<std::string> names;
  for (const auto& item : items) names.push_back(item.name);
  return fmt::to_string(fmt::join(names, ", "));
}

bool in_groups(const JobSpec& spec, gid_t group) {
  if (group == spec.gid) return true;
  const passwd* user = ::getpwuid(spec.uid);
  if (user == nullptr) return false;
  int count = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  if (::getgrouplist(user->pw_name, spec.gid, groups.data(), &count) < 0) return false;
  groups.resize(static_cast<std::size_t>(count));
  for (gid_t g : groups) {
    if (g == group) return true;
  }
  return false;
}

// Whether the submitter may access a file with `info` as `owner_bits` (S_IXUSR, S_IWUSR...) says, like the kernel.
bool may(const JobSpec& spec, const struct stat& info, mode_t owner_bits) {
  const mode_t group_bits = owner_bits >> 3, other_bits = owner_bits >> 6;
  if (spec.uid == 0) {  // root: anything but executing a file no one may execute
    return owner_bits != S_IXUSR || S_ISDIR(info.st_mode) || (info.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
  }
  if (info.st_uid == spec.uid) return (info.st_mode & owner_bits) != 0;
  if (in_groups(spec, info.st_gid)) return (info.st_mode & group_bits) != 0;
  return (info.st_mode & other_bits) != 0;
}

std::string errno_text(int err) { return err == ENOENT ? " does not exist" : std::string(": ") + std::strerror(err); }

std::optional<std::string> check_program(const JobSpec& spec) {
  const std::string field = "program: " + quoted_text(spec.program);
  struct stat info {};
  if (::stat(spec.program.c_str(), &info) != 0) return field + errno_text(errno);
  if (!S_ISREG(info.st_mode)) return field + " is not a regular file";
  if (!may(spec, info, S_IXUSR)) return field + " is not executable by uid " + std::to_string(spec.uid);
  return std::nullopt;
}

std::optional<std::string> check_ckpt_dir(const JobSpec& spec) {
  const std::string field = "ckpt_dir: " + quoted_text(spec.ckpt_dir);
  const std::filesystem::path dir(spec.ckpt_dir);
  struct stat info {};
  if (::lstat(dir.c_str(), &info) == 0) {
    if (S_ISLNK(info.st_mode)) return field + " is a symbolic link; give the directory it points to";
    if (!S_ISDIR(info.st_mode)) return field + " is not a directory";
    if ((info.st_mode & S_IWOTH) != 0) return field + " is world-writable (others could plant snapshots)";
    if (info.st_uid != spec.uid) {
      return field + " is owned by uid " + std::to_string(info.st_uid) + ", not by the submitter (uid " +
             std::to_string(spec.uid) + ")";
    }
    return std::nullopt;
  }
  if (errno != ENOENT) return field + ": " + std::strerror(errno);
  // Missing: lull run creates it (as the submitter) under the nearest existing ancestor.
  std::filesystem::path parent = dir.parent_path();
  while (::stat(parent.c_str(), &info) != 0) {
    if (errno != ENOENT || parent == parent.root_path()) return field + ": cannot look at " + quoted_text(parent.string());
    parent = parent.parent_path();
  }
  if (!S_ISDIR(info.st_mode)) return field + ": " + quoted_text(parent.string()) + " is not a directory";
  if (!may(spec, info, S_IWUSR) || !may(spec, info, S_IXUSR)) {
    return field + " does not exist and uid " + std::to_string(spec.uid) + " may not create it in " +
           quoted_text(parent.string());
  }
  return std::nullopt;
}

// The job starts in its submitter's working directory, never elsewhere: it
// must be there, and the submitter must be able to enter it (search
// permission on it and on every directory above it).
std::optional<std::string> check_cwd(const JobSpec& spec) {
  const std::string field = "cwd: " + quoted_text(spec.cwd);
  struct stat info {};
  if (::stat(spec.cwd.c_str(), &info) != 0) return field + errno_text(errno);
  if (!S_ISDIR(info.st_mode)) return field + " is not a directory";
  std::vector<std::filesystem::path> steps = {"/"};
  for (const auto& part : std::filesystem::path(spec.cwd).relative_path()) steps.push_back(steps.back() / part);
  for (const std::filesystem::path& step : steps) {
    if (::stat(step.c_str(), &info) != 0 || !may(spec, info, S_IXUSR)) {
      return field + " cannot be entered by uid " + std::to_string(spec.uid) + " (" + quoted_text(step.string()) +
             " is not searchable)";
    }
  }
  return std::nullopt;
}

std::filesystem::path resolved(const std::string& dir) {
  std::error_code error;
  std::filesystem::path path = std::filesystem::weakly_canonical(dir, error);
  if (error) path = std::filesystem::path(dir).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();  // "/a/b/" -> "/a/b"
  return path;
}

// Whether `outer` is `inner` or one of the directories above it.
bool holds(const std::filesystem::path& outer, const std::filesystem::path& inner) {
  const auto [end_outer, end_inner] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return end_outer == outer.end();
}

}  // namespace

std::optional<std::string> check_submission(const JobSpec& spec, const policy::Policy& policy) {
  if (!is_valid_name(spec.tenant)) return "tenant: " + quoted_text(spec.tenant) + " is not a valid name";
  const policy::Tenant* tenant = policy.find_tenant(spec.tenant);
  if (tenant == nullptr) {
    return "tenant: unknown tenant " + quoted_text(spec.tenant) + " (known: " + known_names(policy.tenants) + ")";
  }
  if (!is_valid_name(spec.job_class)) return "class: " + quoted_text(spec.job_class) + " is not a valid name";
  if (policy.find_class(spec.job_class) == nullptr) {
    return "class: unknown class " + quoted_text(spec.job_class) + " (known: " + known_names(policy.classes) + ")";
  }
  const std::string& tenant_class = policy.class_of(*tenant).name;
  if (tenant_class != spec.job_class) {
    return "class: tenant " + quoted_text(spec.tenant) + " is of class " + quoted_text(tenant_class) + ", not " +
           quoted_text(spec.job_class);
  }
  if (spec.ranks < 1) return "ranks: must be at least 1 (got " + std::to_string(spec.ranks) + ")";
  if (auto problem = spec_text_problem(spec)) return problem;
  if (auto problem = check_program(spec)) return problem;
  if (auto problem = check_ckpt_dir(spec)) return problem;
  if (auto problem = check_cwd(spec)) return problem;
  return std::nullopt;
}

std::optional<std::string> check_snapshot_dir_free(
    const JobSpec& spec, const std::vector<std::pair<policy::JobId, std::string>>& live) {
  const std::filesystem::path mine = resolved(spec.ckpt_dir);
  for (const auto& [job, dir] : live) {
    const std::filesystem::path theirs = resolved(dir);
    const std::string whose = "job " + std::to_string(job) + "'s snapshot directory " + quoted_text(theirs.string());
    const std::string rule = " (one snapshot directory, one job: give another, or wait until job " +
                             std::to_string(job) + " has ended)";
    const std::string field = "ckpt_dir: " + quoted_text(spec.ckpt_dir);
    if (mine == theirs) return field + " is " + whose + rule;
    if (holds(theirs, mine)) return field + " lies inside " + whose + rule;
    if (holds(mine, theirs)) return field + " holds " + whose + rule;
  }
  return std::nullopt;
}

std::optional<std::string> submission_problem(const JobSpec& spec, const policy::Policy& policy,
                                              const std::vector<std::pair<policy::JobId, std::string>>& live) {
  if (auto problem = check_submission(spec, policy)) return problem;
  return check_snapshot_dir_free(spec, live);
}

}  // namespace lull::arbiter
