#pragma once
// The argv/envp form execve() wants, built before fork: pointers into
// `strings` (which must outlive them) and a terminating null.

#include <string>
#include <vector>

namespace lull::posix {

inline std::vector<char*> as_argv(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const auto& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace lull::posix
