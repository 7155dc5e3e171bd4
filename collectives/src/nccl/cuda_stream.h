#pragma once
// CudaStream — an owned, non-blocking CUDA stream; DeviceGuard — makes a
// device current for a scope and restores the caller's afterwards.

#include <cuda_runtime_api.h>

namespace lull::detail {

class CudaStream {
 public:
  CudaStream() noexcept = default;
  // A cudaStreamNonBlocking stream on `device`. Throws lull::Error.
  static CudaStream create(int device);
  CudaStream(CudaStream&& other) noexcept;
  CudaStream& operator=(CudaStream&& other) noexcept;
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  // cudaStreamDestroy returns at once (work still queued finishes first,
  // then CUDA frees the stream): safe in a destructor. Errors are ignored.
  ~CudaStream();

  cudaStream_t get() const noexcept { return stream_; }

 private:
  explicit CudaStream(cudaStream_t stream) noexcept : stream_(stream) {}
  cudaStream_t stream_ = nullptr;
};

// An owned CUDA event without timing, for ordering one stream after another.
class CudaEvent {
 public:
  CudaEvent() noexcept = default;
  static CudaEvent create(int device);  // throws lull::Error
  CudaEvent(CudaEvent&& other) noexcept;
  CudaEvent& operator=(CudaEvent&& other) noexcept;
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  ~CudaEvent();  // cudaEventDestroy returns at once; errors ignored

  cudaEvent_t get() const noexcept { return event_; }

 private:
  explicit CudaEvent(cudaEvent_t event) noexcept : event_(event) {}
  cudaEvent_t event_ = nullptr;
};

class DeviceGuard {
 public:
  explicit DeviceGuard(int device);  // throws lull::Error if the device cannot be made current
  ~DeviceGuard();                    // restores the previous device; errors ignored
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
  bool changed_ = false;
};

}  // namespace lull::detail
