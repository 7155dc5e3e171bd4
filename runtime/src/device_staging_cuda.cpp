// DeviceStaging with CUDA: a pinned host buffer, grown on demand, and
// synchronous copies (a checkpoint waits for its bytes anyway).

#include <cuda_runtime_api.h>

#include <string>

#include "device_staging.h"
#include "lull/base/cuda_error.h"

namespace lull::detail {

namespace {

class CudaStaging final : public DeviceStaging {
 public:
  ~CudaStaging() override {
    if (buffer_ != nullptr) cudaFreeHost(buffer_);  // never throws
  }

  bool is_device_pointer(const void* pointer) const override {
    cudaPointerAttributes attributes{};
    if (cudaPointerGetAttributes(&attributes, pointer) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky-free error state of this query
      return false;
    }
    return attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged;
  }

  const void* to_host(const void* device, std::size_t bytes) override {
    void* host = host_buffer(bytes);
    check_cuda(cudaMemcpy(host, device, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy(DeviceToHost)",
               "protected device memory, copied out for a snapshot");
    return host;
  }

  void* host_buffer(std::size_t bytes) override {
    if (bytes > capacity_) {
      if (buffer_ != nullptr) {
        check_cuda(cudaFreeHost(buffer_), "cudaFreeHost", "the pinned staging buffer");
        buffer_ = nullptr;
        capacity_ = 0;
      }
      check_cuda(cudaMallocHost(&buffer_, bytes), "cudaMallocHost",
                 "a pinned staging buffer of " + std::to_string(bytes) + " bytes");
      capacity_ = bytes;
    }
    return buffer_;
  }

  void commit_to_device(void* device, std::size_t bytes) override {
    check_cuda(cudaMemcpy(device, buffer_, bytes, cudaMemcpyHostToDevice), "cudaMemcpy(HostToDevice)",
               "protected device memory, restored from a snapshot");
  }

 private:
  void* buffer_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace

std::unique_ptr<DeviceStaging> DeviceStaging::create() { return std::make_unique<CudaStaging>(); }

}  // namespace lull::detail
