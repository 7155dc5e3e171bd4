// lull's snapshot store as the benchmark drives it: exactly what a training
// job does at a checkpoint (write, finish, gather the reports, commit) and at
// a restore (open the committed snapshot, read this rank's boxes).

#include <optional>
#include <stdexcept>

#include "checkpoint_method.h"
#include "lull/checkpoint.h"

namespace lull::bench {

namespace {

constexpr std::uint64_t kStep = 1;

class LullMethod final : public CheckpointMethod {
 public:
  LullMethod(const MpiJob& job, std::filesystem::path dir) : job_(job), dir_(std::move(dir)) {
    // Rank 0 creates the store directory before the others open it.
    if (job_.rank() == 0) {
      std::filesystem::create_directories(dir_.parent_path());
      store_.emplace(dir_);
    }
    job_.barrier();
    if (job_.rank() != 0) store_.emplace(dir_);
  }

  std::string name() const override { return "lull"; }
  std::filesystem::path files() const override { return dir_; }

  Breakdown write(const Workload& workload, const RankState& state) override {
    const double t0 = now_seconds();
    SnapshotWriter writer = store_->writer(kStep, job_.rank(), job_.size());
    for (std::size_t i = 0; i < state.pieces.size(); ++i) {
      const Piece& p = state.pieces[i];
      const TensorSpec& spec = workload.tensors[p.tensor];
      writer.write_tensor(spec.name, spec.dtype, spec.shape, p.offset, p.extent, state.source[i].data());
    }
    const double t1 = now_seconds();
    const ShardReport report = writer.finish();
    const double t2 = now_seconds();
    const std::vector<std::string> reports_json = job_.gather_to_root(report.to_json());
    const double t3 = now_seconds();
    std::string status = "ok";
    double commit_seconds = 0;
    if (job_.rank() == 0) {
      std::vector<ShardReport> reports;
      reports.reserve(reports_json.size());
      for (const auto& text : reports_json) reports.push_back(ShardReport::from_json(text));
      try {
        commit_seconds = store_->commit(kStep, reports).seconds;
      } catch (const std::exception& e) {
        status = e.what();
      }
    }
    const double t4 = now_seconds();
    status = job_.broadcast_from_root(status);
    if (status != "ok") throw std::runtime_error("lull commit failed: " + status);
    return {{"write_tensor", t1 - t0},      {"finish", t2 - t1},     {"gather_reports", t3 - t2},
            {"commit", t4 - t3},            {"commit_reported", commit_seconds}};
  }

  Breakdown read(const Workload& workload, RankState& state) override {
    const double t0 = now_seconds();
    SnapshotReader reader = store_->open_step(kStep, Verification::structure);
    const double t1 = now_seconds();
    for (std::size_t i = 0; i < state.pieces.size(); ++i) {
      const Piece& p = state.pieces[i];
      const TensorSpec& spec = workload.tensors[p.tensor];
      reader.read(spec.name, spec.dtype, p.offset, p.extent, state.target[i].data());
    }
    const double t2 = now_seconds();
    return {{"open", t1 - t0}, {"read", t2 - t1}};
  }

 private:
  const MpiJob& job_;
  std::filesystem::path dir_;
  std::optional<SnapshotStore> store_;
};

}  // namespace

std::unique_ptr<CheckpointMethod> make_lull_method(const MpiJob& job, std::filesystem::path dir) {
  return std::make_unique<LullMethod>(job, std::move(dir));
}

}  // namespace lull::bench
