#include "descriptor_reserve.h"

#include <fcntl.h>
#include <sys/socket.h>

namespace lull::arbiter {

DescriptorReserve::DescriptorReserve() { hold(); }

void DescriptorReserve::hold() {
  if (!fd_.valid()) fd_ = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

bool DescriptorReserve::refuse_one(int listener, std::string_view line) {
  hold();
  if (!fd_.valid()) return false;
  fd_.reset();
  bool taken = false;
  {
    const UniqueFd client(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (client.valid()) {
      taken = true;
      [[maybe_unused]] const ssize_t sent = ::send(client.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  }  // closed here, so that the reserve can take its descriptor back
  hold();
  return taken;
}

}  // namespace lull::arbiter
