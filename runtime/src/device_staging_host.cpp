// DeviceStaging for a build without CUDA: host memory only.

#include "device_staging.h"
#include "lull/base/error.h"

namespace lull::detail {

namespace {

class HostOnlyStaging final : public DeviceStaging {
 public:
  bool is_device_pointer(const void*) const override { return false; }
  const void* to_host(const void*, std::size_t) override { throw unsupported(); }
  void* host_buffer(std::size_t) override { throw unsupported(); }
  void commit_to_device(void*, std::size_t) override { throw unsupported(); }

 private:
  static Error unsupported() {
    return Error(ErrorCode::unsupported, "device memory was protected but this lull was built without CUDA", {}, {},
                 "rebuild lull on a machine with the CUDA toolkit");
  }
};

}  // namespace

std::unique_ptr<DeviceStaging> DeviceStaging::create() { return std::make_unique<HostOnlyStaging>(); }

}  // namespace lull::detail
