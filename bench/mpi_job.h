#pragma once
// The few MPI operations the benchmarks need, on MPI_COMM_WORLD (which the
// benchmark owns: MpiJob initialises and finalises MPI).

#include <string>
#include <vector>

namespace lull::bench {

class MpiJob {
 public:
  MpiJob(int* argc, char*** argv);
  ~MpiJob();
  MpiJob(const MpiJob&) = delete;
  MpiJob& operator=(const MpiJob&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  void barrier() const;
  // Rank 0 receives every rank's string (index = rank); others get {}.
  std::vector<std::string> gather_to_root(const std::string& mine) const;
  // Every rank receives rank 0's value.
  std::string broadcast_from_root(const std::string& value) const;
  double max(double value) const;
  double min(double value) const;
  double sum(double value) const;
  long sum(long value) const;
  // Ends the whole job (after a failure on one rank).
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0;
  int size_ = 1;
};

// Seconds on a monotonic clock shared by all processes of the machine.
double now_seconds();
// CPU seconds (user + system) this process has used so far, all threads.
double cpu_seconds();

}  // namespace lull::bench
