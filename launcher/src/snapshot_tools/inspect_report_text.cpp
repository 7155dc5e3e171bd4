// The text rendering of `lull inspect`.
#include <algorithm>
#include <iomanip>

#include "lull/base/utc_time.h"
#include "snapshot_tools/human_format.h"
#include "snapshot_tools/inspect_report.h"

namespace lull::snapshot_tools {

namespace {

void print_job_directory(const InspectReport& report, std::ostream& out) {
  out << "job directory  " << report.job_dir->string() << "\n"
      << "committed      " << report.snapshots.size()
      << (report.snapshots.size() == 1 ? " snapshot" : " snapshots") << ", newest first:\n";
  for (const auto& entry : report.snapshots) {
    out << "  step " << std::left << std::setw(12) << entry.step << entry.path.string() << "\n";
  }
  for (const auto& rejected : report.rejected) {
    out << "rejected       step " << rejected.step << ": " << rejected.reason << "\n";
  }
  if (!report.rejected.empty()) {
    out << "showing        step " << report.step
        << ", the newest snapshot that passes (what a restore would use)\n";
  }
  out << "\n";
}

void print_tensors(const InspectReport& report, std::ostream& out) {
  std::size_t name_width = 4;
  std::size_t shape_width = 5;
  for (const auto& tensor : report.tensors) {
    name_width = std::max(name_width, tensor.name.size());
    shape_width = std::max(shape_width, format_shape(tensor.shape).size());
  }
  out << "tensors        " << report.tensors.size() << "\n";
  if (report.tensors.empty()) return;
  out << "  " << std::left << std::setw(static_cast<int>(name_width)) << "name" << "  "
      << std::setw(5) << "dtype" << "  " << std::setw(static_cast<int>(shape_width)) << "shape"
      << "  " << std::right << std::setw(14) << "bytes" << "  shards\n";
  for (const auto& tensor : report.tensors) {
    out << "  " << std::left << std::setw(static_cast<int>(name_width)) << tensor.name << "  "
        << std::setw(5) << dtype_name(tensor.dtype) << "  "
        << std::setw(static_cast<int>(shape_width)) << format_shape(tensor.shape) << "  "
        << std::right << std::setw(14) << tensor.bytes << "  " << tensor.shards << "  ("
        << format_bytes(tensor.bytes) << ")\n";
  }
}

void print_blobs(const InspectReport& report, std::ostream& out) {
  out << "blobs          " << report.blobs.size() << "\n";
  for (const auto& blob : report.blobs) {
    out << "  rank " << std::left << std::setw(6) << blob.rank << std::setw(24) << blob.name
        << std::right << std::setw(12) << blob.bytes << " bytes\n";
  }
}

}  // namespace

void print_text(const InspectReport& report, std::ostream& out) {
  if (report.job_dir) print_job_directory(report, out);
  out << "snapshot       " << report.snapshot_dir.string() << "\n"
      << "root file      " << report.root_file.string() << "\n"
      << "step           " << report.step << "\n"
      << "job            " << (report.job.empty() ? "(not recorded)" : report.job) << "\n"
      << "created        " << iso8601_utc(report.created_unix) << "\n"
      << "world size     " << report.world_size << "\n";
  print_tensors(report, out);
  print_blobs(report, out);
  if (!report.metadata.empty()) {
    out << "metadata\n";
    for (const auto& [key, value] : report.metadata) out << "  " << key << " = " << value << "\n";
  }
  out << "total          " << report.total_bytes << " bytes (" << format_bytes(report.total_bytes)
      << ")\n";
  switch (report.checksums) {
    case ChecksumStatus::ok: out << "checksums      verified\n"; break;
    case ChecksumStatus::not_checked: out << "checksums      not checked (--no-verify)\n"; break;
    case ChecksumStatus::failed:
      out << "checksums      FAILED, " << report.problems.size()
          << (report.problems.size() == 1 ? " problem:\n" : " problems:\n");
      for (const auto& problem : report.problems) out << "  - " << problem.describe() << "\n";
      break;
  }
}

}  // namespace lull::snapshot_tools
