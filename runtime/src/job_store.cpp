#include "job_store.h"

#include <string>

#include "lull/base/error.h"
#include "rank_consensus.h"

namespace lull::detail {

std::optional<std::uint64_t> open_job_store(Communicator& comm, const RuntimeOptions& options,
                                            std::optional<SnapshotStore>& store) {
  StoreOptions store_options;
  store_options.keep = options.keep;
  std::string failure;
  ErrorCode code = ErrorCode::invalid_argument;
  if (comm.rank() == 0) {
    try {
      store_options.lock_as_job = options.job;
      store.emplace(options.ckpt_dir, store_options);
    } catch (const Error& e) {
      failure = e.what();
      code = e.code();
    }
  }
  code = static_cast<ErrorCode>(share_from(comm, 0, static_cast<std::int64_t>(code)));
  if (!all_ranks(comm, failure.empty())) {
    throw Error(code, comm.rank() == 0 ? failure
                                       : "rank 0 could not open the snapshot directory " +
                                             options.ckpt_dir.string() + " (rank 0 said why)");
  }
  if (comm.rank() != 0) {
    store_options.create = false;
    store_options.lock_as_job.clear();
    store.emplace(options.ckpt_dir, store_options);
  }
  std::int64_t newest = -1;
  if (comm.rank() == 0) {
    const auto committed = store->committed();
    if (!committed.empty()) newest = static_cast<std::int64_t>(committed.front().step);
  }
  newest = share_from(comm, 0, newest);
  if (newest < 0) return std::nullopt;
  return static_cast<std::uint64_t>(newest);
}

}  // namespace lull::detail
