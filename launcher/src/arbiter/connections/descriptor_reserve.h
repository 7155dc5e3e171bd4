#pragma once
// DescriptorReserve — one descriptor (on /dev/null) held back for the moment
// the process has no other left. A listening socket whose accept() fails
// with EMFILE stays readable: a level-triggered loop would spin on it at
// full CPU while the client waits forever. With the reserve, the loop gives
// it up, accepts the waiting client on it, tells the client it is refused
// and closes it, then takes the reserve back: each waiting client costs one
// accept, and is told why. Not thread-safe.

#include <string_view>

#include "lull/base/unique_fd.h"

namespace lull::arbiter {

class DescriptorReserve {
 public:
  // Never throws: a reserve that cannot be opened is tried again on use.
  DescriptorReserve();

  // Accepts one waiting connection on `listener` in place of the reserve,
  // sends it `line` without blocking (what does not fit is dropped), closes
  // it and opens the reserve again. Returns whether a connection was taken
  // off the backlog; false when no reserve could be held or none waited.
  bool refuse_one(int listener, std::string_view line);

 private:
  void hold();
  UniqueFd fd_;
};

}  // namespace lull::arbiter
