#pragma once
// DeviceStaging — moves protected CUDA device memory through pinned host
// buffers on its way to and from a snapshot. Built with CUDA it uses
// cudaMemcpy on a pinned buffer it owns; built without, any attempt to use
// device memory is a clear Error(unsupported).

#include <cstddef>
#include <memory>

namespace lull::detail {

class DeviceStaging {
 public:
  virtual ~DeviceStaging() = default;
  // True when `pointer` is CUDA device memory (false for host memory and
  // always false in a build without CUDA).
  virtual bool is_device_pointer(const void* pointer) const = 0;
  // Copies `bytes` of device memory to a pinned host buffer and returns it;
  // valid until the next call. Throws lull::Error.
  virtual const void* to_host(const void* device, std::size_t bytes) = 0;
  // A pinned host buffer of `bytes` to read into, then copied to `device`
  // by commit_to_device().
  virtual void* host_buffer(std::size_t bytes) = 0;
  virtual void commit_to_device(void* device, std::size_t bytes) = 0;

  static std::unique_ptr<DeviceStaging> create();
};

}  // namespace lull::detail
