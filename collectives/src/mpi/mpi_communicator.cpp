#include "mpi_communicator.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <numeric>
#include <utility>

#include "lull/base/error.h"
#include "mpi_channel.h"

namespace lull::detail {

namespace {

// MPI counts are int: larger buffers go in chunks of this many elements/bytes.
constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm, const CommunicatorOptions& options,
                                 std::function<void()> abort_backend)
    : channel_(std::make_shared<MpiChannel>(comm, options, std::move(abort_backend))) {}

MpiCommunicator::~MpiCommunicator() = default;

int MpiCommunicator::rank() const noexcept { return channel_->rank(); }
int MpiCommunicator::size() const noexcept { return channel_->size(); }

void MpiCommunicator::abort(std::string_view reason) noexcept {
  try {
    channel_->abort(std::string(reason));
  } catch (...) {
    channel_->abort({});
  }
}

bool MpiCommunicator::aborted() const noexcept { return channel_->watchdog().aborted(); }
std::string MpiCommunicator::abort_reason() const { return channel_->watchdog().abort_reason(); }

void MpiCommunicator::do_allreduce(void* data, std::size_t count, DType dtype, ReduceOp op) {
  auto watch = channel_->begin(CollectiveDescription::reduction("allreduce", dtype, op, count));
  MpiReduction reduction = mpi_reduction(dtype, op, channel_->half_ops());
  auto* bytes = static_cast<std::byte*>(data);
  const std::size_t element = dtype_size(dtype);
  for (std::size_t done = 0; done < count;) {
    std::size_t n = std::min(count - done, kMaxChunk);
    MPI_Request request = MPI_REQUEST_NULL;
    channel_->check(MPI_Iallreduce(MPI_IN_PLACE, bytes + done * element, static_cast<int>(n), reduction.type,
                                   reduction.op, channel_->comm(), &request),
                    "MPI_Iallreduce");
    channel_->wait(request, watch);
    done += n;
  }
}

void MpiCommunicator::do_broadcast(void* data, std::size_t bytes, int root) {
  auto watch = channel_->begin(CollectiveDescription::bytes("broadcast", bytes, "bytes", root));
  auto* p = static_cast<std::byte*>(data);
  for (std::size_t done = 0; done < bytes;) {
    std::size_t n = std::min(bytes - done, kMaxChunk);
    MPI_Request request = MPI_REQUEST_NULL;
    channel_->check(MPI_Ibcast(p + done, static_cast<int>(n), MPI_BYTE, root, channel_->comm(), &request),
                    "MPI_Ibcast");
    channel_->wait(request, watch);
    done += n;
  }
}

void MpiCommunicator::do_allgather(const void* send, std::size_t bytes_per_rank, void* recv) {
  auto watch = channel_->begin(
      CollectiveDescription::bytes("allgather", bytes_per_rank, "bytes per rank"));
  const int n = static_cast<int>(bytes_per_rank);  // <= INT_MAX, checked by Communicator
  const void* source = send;
  if (send == static_cast<const std::byte*>(recv) + static_cast<std::size_t>(rank()) * bytes_per_rank) {
    source = MPI_IN_PLACE;
  }
  MPI_Request request = MPI_REQUEST_NULL;
  channel_->check(MPI_Iallgather(source, n, MPI_BYTE, recv, n, MPI_BYTE, channel_->comm(), &request),
                  "MPI_Iallgather");
  channel_->wait(request, watch);
}

std::vector<std::vector<std::byte>> MpiCommunicator::do_gather_bytes(std::span<const std::byte> mine, int root) {
  auto watch =
      channel_->begin(CollectiveDescription::bytes("gather_bytes", mine.size(), "bytes", root));
  // Every rank learns every size, so that all of them refuse a too large
  // gather alike instead of leaving the root alone in the second step.
  std::uint64_t my_size = mine.size();
  std::vector<std::uint64_t> sizes(static_cast<std::size_t>(size()));
  MPI_Request request = MPI_REQUEST_NULL;
  channel_->check(MPI_Iallgather(&my_size, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, channel_->comm(), &request),
                  "MPI_Iallgather");
  channel_->wait(request, watch);
  std::uint64_t total = std::accumulate(sizes.begin(), sizes.end(), std::uint64_t{0});
  if (total > static_cast<std::uint64_t>(INT_MAX)) {
    throw Error(ErrorCode::unsupported,
                "gather_bytes: " + std::to_string(total) + " bytes in all is more than the 2 GiB lull supports",
                {}, {}, "gather smaller pieces");
  }

  const bool at_root = rank() == root;
  std::vector<int> counts;
  std::vector<int> displacements;
  std::vector<std::byte> all;
  if (at_root) {
    counts.resize(sizes.size());
    displacements.resize(sizes.size());
    int offset = 0;
    for (std::size_t r = 0; r < sizes.size(); ++r) {
      counts[r] = static_cast<int>(sizes[r]);
      displacements[r] = offset;
      offset += counts[r];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  channel_->check(MPI_Igatherv(mine.data(), static_cast<int>(mine.size()), MPI_BYTE, all.data(), counts.data(),
                               displacements.data(), MPI_BYTE, root, channel_->comm(), &request),
                  "MPI_Igatherv");
  channel_->wait(request, watch);

  std::vector<std::vector<std::byte>> out;
  if (at_root) {
    out.reserve(sizes.size());
    for (std::size_t r = 0; r < sizes.size(); ++r) {
      auto first = all.begin() + displacements[r];
      out.emplace_back(first, first + counts[r]);
    }
  }
  return out;
}

void MpiCommunicator::do_barrier() {
  auto watch = channel_->begin(CollectiveDescription::named("barrier"));
  MPI_Request request = MPI_REQUEST_NULL;
  channel_->check(MPI_Ibarrier(channel_->comm(), &request), "MPI_Ibarrier");
  channel_->wait(request, watch);
}

PendingAllreduce MpiCommunicator::do_start_allreduce(std::span<const std::int64_t> values, ReduceOp op) {
  return PendingAllreduce(start_mpi_allreduce(channel_, values, op));
}

void MpiCommunicator::do_close() { channel_->close(); }

}  // namespace lull::detail
