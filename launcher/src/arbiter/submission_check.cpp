#include "submission_check.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "lull/base/names.h"

namespace lull::arbiter {

namespace {

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

template <typename Items>
std::string known_names(const Items& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item.name;
  return text.empty() ? "none" : text;
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
  if (spec.uid == 0) return owner_bits != S_IXUSR || (info.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
  if (info.st_uid == spec.uid) return (info.st_mode & owner_bits) != 0;
  if (in_groups(spec, info.st_gid)) return (info.st_mode & group_bits) != 0;
  return (info.st_mode & other_bits) != 0;
}

std::optional<std::string> check_program(const JobSpec& spec) {
  const std::string field = "program: " + quoted(spec.program);
  if (spec.program.empty() || spec.program.front() != '/') return field + " must be an absolute path";
  struct stat info {};
  if (::stat(spec.program.c_str(), &info) != 0) {
    return field + (errno == ENOENT ? " does not exist" : std::string(": ") + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) return field + " is not a regular file";
  if (!may(spec, info, S_IXUSR)) return field + " is not executable by uid " + std::to_string(spec.uid);
  return std::nullopt;
}

std::optional<std::string> check_ckpt_dir(const JobSpec& spec) {
  const std::string field = "ckpt_dir: " + quoted(spec.ckpt_dir);
  const std::filesystem::path dir(spec.ckpt_dir);
  if (!dir.is_absolute()) return field + " must be an absolute path";
  if (dir.lexically_normal() != dir && dir.lexically_normal().string() + "/" != spec.ckpt_dir) {
    return field + " must be a normal path (no \".\", \"..\" or \"//\")";
  }
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
    if (errno != ENOENT || parent == parent.root_path()) return field + ": cannot look at " + parent.string();
    parent = parent.parent_path();
  }
  if (!S_ISDIR(info.st_mode)) return field + ": " + quoted(parent.string()) + " is not a directory";
  if (!may(spec, info, S_IWUSR) || !may(spec, info, S_IXUSR)) {
    return field + " does not exist and uid " + std::to_string(spec.uid) + " may not create it in " +
           quoted(parent.string());
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_submission(const JobSpec& spec, const policy::Policy& policy) {
  if (!is_valid_name(spec.tenant)) return "tenant: " + quoted(spec.tenant) + " is not a valid name";
  const policy::Tenant* tenant = policy.find_tenant(spec.tenant);
  if (tenant == nullptr) {
    return "tenant: unknown tenant " + quoted(spec.tenant) + " (known: " + known_names(policy.tenants) + ")";
  }
  if (!is_valid_name(spec.job_class)) return "class: " + quoted(spec.job_class) + " is not a valid name";
  if (policy.find_class(spec.job_class) == nullptr) {
    return "class: unknown class " + quoted(spec.job_class) + " (known: " + known_names(policy.classes) + ")";
  }
  const std::string& tenant_class = policy.class_of(*tenant).name;
  if (tenant_class != spec.job_class) {
    return "class: tenant " + quoted(spec.tenant) + " is of class " + quoted(tenant_class) + ", not " + quoted(spec.job_class);
  }
  if (spec.ranks < 1) return "ranks: must be at least 1 (got " + std::to_string(spec.ranks) + ")";
  if (auto problem = check_program(spec)) return problem;
  if (auto problem = check_ckpt_dir(spec)) return problem;
  if (spec.cwd.empty() || spec.cwd.front() != '/') return "cwd: must be an absolute path";
  return std::nullopt;
}

}  // namespace lull::arbiter
