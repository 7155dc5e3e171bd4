// The C API (lull.h): a thin shell over lull::Runtime that turns exceptions
// into status codes and a per-thread message.
#include "lull.h"

#include <cstring>
#include <exception>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "lull/base/error.h"
#include "lull/base/exit_codes.h"
#include "lull/runtime.h"
#include "lull/runtime/sample_cursor.h"

struct lull_runtime {
  lull::Runtime runtime;
};

struct lull_cursor {
  lull::SampleCursor cursor;
};

// lull.h spells the exit codes for C; they are the runtime's own.
static_assert(LULL_EXIT_FINISHED == lull::kExitFinished);
static_assert(LULL_EXIT_PREEMPTED == lull::kExitPreempted);
static_assert(LULL_EXIT_SNAPSHOT_FAILED == lull::kExitSnapshotFailed);

namespace {

thread_local std::string t_last_error;

lull_status status_of(lull::ErrorCode code) {
  switch (code) {
    case lull::ErrorCode::invalid_argument: return LULL_ERR_INVALID_ARGUMENT;
    case lull::ErrorCode::not_found: return LULL_ERR_NOT_FOUND;
    case lull::ErrorCode::corrupt: return LULL_ERR_CORRUPT;
    case lull::ErrorCode::io:
    case lull::ErrorCode::hdf5:
    case lull::ErrorCode::incomplete: return LULL_ERR_IO;
    case lull::ErrorCode::in_use: return LULL_ERR_IN_USE;
    case lull::ErrorCode::unsupported: return LULL_ERR_UNSUPPORTED;
    case lull::ErrorCode::internal: return LULL_ERR_INTERNAL;
  }
  return LULL_ERR_INTERNAL;
}

// Runs `body`, mapping what it throws; the one place exceptions stop.
template <typename Body>
lull_status guarded(Body&& body) noexcept {
  try {
    body();
    t_last_error.clear();
    return LULL_OK;
  } catch (const lull::Error& e) {
    t_last_error = e.what();
    return status_of(e.code());
  } catch (const std::bad_alloc&) {
    t_last_error = "out of memory";
    return LULL_ERR_INTERNAL;
  } catch (const std::exception& e) {
    t_last_error = e.what();
    return LULL_ERR_INTERNAL;
  }
}

void require(bool ok, const char* what) {
  if (!ok) throw lull::Error(lull::ErrorCode::invalid_argument, what);
}

// A C caller may put any int in a lull_dtype, but in C++ loading an enum
// outside its enumerators' range is undefined (UBSan stops at it): the
// parameter is taken by reference and its bits read as the underlying type.
lull::DType dtype_of(const lull_dtype& dtype) {
  std::underlying_type_t<lull_dtype> bits;
  std::memcpy(&bits, &dtype, sizeof bits);
  const auto value = static_cast<long long>(bits);
  if (value < LULL_F16 || value > LULL_BOOL) {
    throw lull::Error(lull::ErrorCode::invalid_argument,
                      "unknown lull_dtype " + std::to_string(value) + " (LULL_F16 = 0 to LULL_BOOL = 8)");
  }
  return lull::kAllDTypes[static_cast<std::size_t>(value)];
}

lull::Shape shape_of(int ndims, const std::uint64_t* dims, const char* what) {
  require(ndims >= 0 && static_cast<std::size_t>(ndims) <= lull::kMaxDims, "ndims must be between 0 and 8");
  require(ndims == 0 || dims != nullptr, what);
  return lull::Shape(dims, dims + ndims);
}

// The C API's convention for results of unknown length: *count always; the
// items copied when `buffer` holds them; buffer NULL and capacity 0 only ask
// for the count. `what` says whose items, for the too-small error.
template <typename Item, typename What>
void copy_out(std::span<const Item> items, void* buffer, std::size_t capacity, std::size_t* count, What&& what) {
  *count = items.size();
  if (buffer == nullptr && capacity == 0) return;
  if (buffer == nullptr || capacity < items.size()) {
    throw lull::Error(lull::ErrorCode::invalid_argument,
                      what() + ", the buffer holds " + std::to_string(buffer == nullptr ? 0 : capacity));
  }
  if (!items.empty()) std::memcpy(buffer, items.data(), items.size_bytes());  // data() may be NULL when empty
}

}  // namespace

extern "C" {

lull_status lull_open(const char* job, const char* ckpt_dir, MPI_Comm comm, lull_runtime** out) {
  return guarded([&] {
    require(out != nullptr, "lull_open: out is NULL");
    *out = nullptr;
    auto options = lull::RuntimeOptions::from_environment();
    if (job != nullptr) options.job = job;
    if (ckpt_dir != nullptr) options.ckpt_dir = ckpt_dir;
    *out = new lull_runtime{lull::Runtime(std::move(options), comm)};
  });
}

void lull_close(lull_runtime* rt) { delete rt; }

lull_status lull_protect(lull_runtime* rt, const char* name, lull_dtype dtype, int ndims,
                         const uint64_t* global_shape, const uint64_t* offset, const uint64_t* extent, void* data) {
  return guarded([&] {
    require(rt != nullptr && name != nullptr, "lull_protect: NULL handle or name");
    rt->runtime.protect(name, dtype_of(dtype), shape_of(ndims, global_shape, "lull_protect: global_shape is NULL"),
                        shape_of(ndims, offset, "lull_protect: offset is NULL"),
                        shape_of(ndims, extent, "lull_protect: extent is NULL"), data);
  });
}

lull_status lull_protect_replicated(lull_runtime* rt, const char* name, lull_dtype dtype, int ndims,
                                    const uint64_t* shape, void* data) {
  return guarded([&] {
    require(rt != nullptr && name != nullptr, "lull_protect_replicated: NULL handle or name");
    rt->runtime.protect_replicated(name, dtype_of(dtype), shape_of(ndims, shape, "lull_protect_replicated: shape is NULL"),
                                   data);
  });
}

lull_status lull_protect_bytes(lull_runtime* rt, const char* name, void* data, size_t size) {
  return guarded([&] {
    require(rt != nullptr && name != nullptr, "lull_protect_bytes: NULL handle or name");
    require(data != nullptr || size == 0, "lull_protect_bytes: data is NULL");
    rt->runtime.protect_bytes(name, data, size);
  });
}

lull_status lull_restore(lull_runtime* rt, uint64_t* step) {
  return guarded([&] {
    require(rt != nullptr && step != nullptr, "lull_restore: NULL argument");
    *step = rt->runtime.restore();
  });
}

lull_status lull_end_step(lull_runtime* rt, uint64_t step, int* stop) {
  const lull_status status = guarded([&] {
    require(rt != nullptr && stop != nullptr, "lull_end_step: NULL argument");
    *stop = rt->runtime.end_step(step) == lull::StepDecision::stop ? 1 : 0;
  });
  // Why it stops, for a program that prints lull_last_error() on exit.
  if (status == LULL_OK && *stop) t_last_error = rt->runtime.exit_reason();
  return status;
}

lull_status lull_checkpoint(lull_runtime* rt, uint64_t step) {
  return guarded([&] {
    require(rt != nullptr, "lull_checkpoint: NULL handle");
    rt->runtime.checkpoint(step);
  });
}

int lull_finish(lull_runtime* rt, uint64_t step) {
  int code = -1;
  const lull_status status = guarded([&] {
    require(rt != nullptr, "lull_finish: NULL handle");
    code = rt->runtime.finish(step);
  });
  if (status != LULL_OK) return -1;
  if (code != lull::kExitFinished) t_last_error = rt->runtime.exit_reason();
  return code;
}

lull_status lull_restored_world_size(const lull_runtime* rt, int* world_size) {
  return guarded([&] {
    require(rt != nullptr && world_size != nullptr, "lull_restored_world_size: NULL argument");
    *world_size = rt->runtime.restored_world_size();
  });
}

lull_status lull_read_restored_blob(lull_runtime* rt, const char* name, int old_rank, void* buffer, size_t capacity,
                                    size_t* size) {
  return guarded([&] {
    require(rt != nullptr && name != nullptr && size != nullptr, "lull_read_restored_blob: NULL handle, name or size");
    const std::vector<std::byte> bytes = rt->runtime.restored_blob(name, old_rank);
    copy_out<std::byte>(bytes, buffer, capacity, size, [&] {
      return "lull_read_restored_blob: blob \"" + std::string(name) + "\" of old rank " + std::to_string(old_rank) +
             " holds " + std::to_string(bytes.size()) + " bytes";
    });
  });
}

lull_status lull_cursor_create(uint64_t dataset_size, uint64_t seed, lull_cursor** out) {
  return guarded([&] {
    require(out != nullptr, "lull_cursor_create: out is NULL");
    *out = nullptr;
    *out = new lull_cursor{lull::SampleCursor(dataset_size, seed)};
  });
}

void lull_cursor_destroy(lull_cursor* cursor) { delete cursor; }

lull_status lull_protect_cursor(lull_runtime* rt, const char* name, lull_cursor* cursor) {
  return guarded([&] {
    require(rt != nullptr && name != nullptr && cursor != nullptr, "lull_protect_cursor: NULL handle, name or cursor");
    rt->runtime.protect_cursor(name, cursor->cursor);
  });
}

lull_status lull_cursor_step_size(const lull_cursor* cursor, uint64_t global_batch, uint64_t* size) {
  return guarded([&] {
    require(cursor != nullptr && size != nullptr, "lull_cursor_step_size: NULL cursor or size");
    *size = cursor->cursor.step_size(global_batch);
  });
}

lull_status lull_cursor_rank_batch(const lull_cursor* cursor, uint64_t global_batch, int rank, int world_size,
                                   uint64_t* ids, size_t capacity, size_t* count) {
  return guarded([&] {
    require(cursor != nullptr && count != nullptr, "lull_cursor_rank_batch: NULL cursor or count");
    const std::vector<std::uint64_t> batch = cursor->cursor.rank_batch(global_batch, rank, world_size);
    copy_out<std::uint64_t>(batch, ids, capacity, count, [&] {
      return "lull_cursor_rank_batch: rank " + std::to_string(rank) + " of " + std::to_string(world_size) +
             " takes " + std::to_string(batch.size()) + " samples of this step";
    });
  });
}

lull_status lull_cursor_advance(lull_cursor* cursor, uint64_t global_batch) {
  return guarded([&] {
    require(cursor != nullptr, "lull_cursor_advance: NULL cursor");
    cursor->cursor.advance(global_batch);
  });
}

lull_status lull_cursor_epoch(const lull_cursor* cursor, uint64_t* epoch) {
  return guarded([&] {
    require(cursor != nullptr && epoch != nullptr, "lull_cursor_epoch: NULL cursor or epoch");
    *epoch = cursor->cursor.epoch();
  });
}

lull_status lull_cursor_position(const lull_cursor* cursor, uint64_t* position) {
  return guarded([&] {
    require(cursor != nullptr && position != nullptr, "lull_cursor_position: NULL cursor or position");
    *position = cursor->cursor.position();
  });
}

int lull_exit_code(const lull_runtime* rt) { return rt != nullptr ? rt->runtime.exit_code() : -1; }

const char* lull_last_error(void) { return t_last_error.c_str(); }

}  // extern "C"
