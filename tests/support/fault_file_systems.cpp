#include "support/fault_file_systems.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "lull/base/errno_error.h"

namespace lull::test {

const char* fs_op_name(FsOp op) noexcept {
  switch (op) {
    case FsOp::make_dir: return "make_dir";
    case FsOp::sync_file: return "sync_file";
    case FsOp::sync_dir: return "sync_dir";
    case FsOp::rename: return "rename";
    case FsOp::exchange: return "exchange";
    case FsOp::write_file: return "write_file";
    case FsOp::read_file: return "read_file";
    case FsOp::list_dir: return "list_dir";
    case FsOp::remove_all: return "remove_all";
    case FsOp::open_file: return "open_file";
    case FsOp::set_mode: return "set_mode";
    case FsOp::file_write_at: return "write_at";
    case FsOp::file_read_at: return "read_at";
    case FsOp::file_sync: return "file sync";
    case FsOp::file_size: return "file size";
    case FsOp::status: return "status";
    case FsOp::create_file: return "create_file";
    case FsOp::file_truncate: return "file truncate";
    case FsOp::target_status: return "target_status";
  }
  return "?";
}

namespace {

// A file opened through an InterposingFileSystem: its calls go through
// before() too.
class InterposedFile final : public RandomAccessFile {
 public:
  InterposedFile(InterposingFileSystem& fs, std::unique_ptr<RandomAccessFile> file, std::string name)
      : fs_(fs), file_(std::move(file)), name_(std::move(name)) {}

  void write_at(std::uint64_t offset, const void* data, std::size_t size) override {
    fs_.before(FsOp::file_write_at, name_ + " @" + std::to_string(offset) + " +" + std::to_string(size));
    file_->write_at(offset, data, size);
  }
  void read_at(std::uint64_t offset, void* data, std::size_t size) override {
    fs_.before(FsOp::file_read_at, name_ + " @" + std::to_string(offset) + " +" + std::to_string(size));
    file_->read_at(offset, data, size);
  }
  void sync() override {
    fs_.before(FsOp::file_sync, name_);
    file_->sync();
  }
  std::uint64_t size() override {
    fs_.before(FsOp::file_size, name_);
    return file_->size();
  }
  void truncate(std::uint64_t size) override {
    fs_.before(FsOp::file_truncate, name_ + " to " + std::to_string(size));
    file_->truncate(size);
  }

 private:
  InterposingFileSystem& fs_;
  std::unique_ptr<RandomAccessFile> file_;
  std::string name_;
};

}  // namespace

bool InterposingFileSystem::make_dir(const std::filesystem::path& dir, mode_t mode) {
  before(FsOp::make_dir, dir.string());
  return base_.make_dir(dir, mode);
}
void InterposingFileSystem::sync_file(const std::filesystem::path& file) {
  before(FsOp::sync_file, file.string());
  base_.sync_file(file);
}
void InterposingFileSystem::sync_dir(const std::filesystem::path& dir) {
  before(FsOp::sync_dir, dir.string());
  base_.sync_dir(dir);
}
void InterposingFileSystem::rename(const std::filesystem::path& from, const std::filesystem::path& to) {
  before(FsOp::rename, from.string() + " -> " + to.string());
  base_.rename(from, to);
}
void InterposingFileSystem::exchange(const std::filesystem::path& a, const std::filesystem::path& b) {
  before(FsOp::exchange, a.string() + " <-> " + b.string());
  base_.exchange(a, b);
}
void InterposingFileSystem::write_file(const std::filesystem::path& file, std::string_view bytes, mode_t mode) {
  before(FsOp::write_file, file.string());
  base_.write_file(file, bytes, mode);
}
std::string InterposingFileSystem::read_file(const std::filesystem::path& file) {
  before(FsOp::read_file, file.string());
  return base_.read_file(file);
}
std::vector<std::string> InterposingFileSystem::list_dir(const std::filesystem::path& dir) {
  before(FsOp::list_dir, dir.string());
  return base_.list_dir(dir);
}
void InterposingFileSystem::remove_all(const std::filesystem::path& path) {
  before(FsOp::remove_all, path.string());
  base_.remove_all(path);
}
std::unique_ptr<RandomAccessFile> InterposingFileSystem::open_file(const std::filesystem::path& file,
                                                                   bool writable) {
  before(FsOp::open_file, file.string() + (writable ? " (rw)" : " (ro)"));
  return std::make_unique<InterposedFile>(*this, base_.open_file(file, writable), file.string());
}
std::unique_ptr<RandomAccessFile> InterposingFileSystem::create_file(const std::filesystem::path& file,
                                                                     mode_t mode) {
  before(FsOp::create_file, file.string());
  return std::make_unique<InterposedFile>(*this, base_.create_file(file, mode), file.string());
}
void InterposingFileSystem::set_mode(const std::filesystem::path& path, mode_t mode) {
  before(FsOp::set_mode, path.string());
  base_.set_mode(path, mode);
}
FileStatus InterposingFileSystem::status(const std::filesystem::path& path) {
  before(FsOp::status, path.string());
  return base_.status(path);
}
FileStatus InterposingFileSystem::target_status(const std::filesystem::path& path) {
  before(FsOp::target_status, path.string());
  return base_.target_status(path);
}

void FaultyFileSystem::fail_nth(FsOp op, std::uint64_t n, int err) {
  std::lock_guard lock(mutex_);
  rule_ = Rule{op, counts_[static_cast<std::size_t>(op)] + n, err};
  fired_ = false;
  fired_at_.clear();
}

void FaultyFileSystem::fail_all(FsOp op, int err) {
  std::lock_guard lock(mutex_);
  rule_ = Rule{op, 0, err};
  fired_ = false;
  fired_at_.clear();
}

void FaultyFileSystem::disarm() {
  std::lock_guard lock(mutex_);
  rule_.reset();
}

std::uint64_t FaultyFileSystem::count(FsOp op) const {
  std::lock_guard lock(mutex_);
  return counts_[static_cast<std::size_t>(op)];
}

bool FaultyFileSystem::fired() const {
  std::lock_guard lock(mutex_);
  return fired_;
}

std::string FaultyFileSystem::fired_at() const {
  std::lock_guard lock(mutex_);
  return fired_at_;
}

void FaultyFileSystem::before(FsOp op, const std::string& subject) {
  int err = 0;
  {
    std::lock_guard lock(mutex_);
    const std::uint64_t n = ++counts_[static_cast<std::size_t>(op)];
    if (rule_ && rule_->op == op && (rule_->n == 0 || rule_->n == n)) {
      err = rule_->err;
      fired_ = true;
      fired_at_ = std::string(fs_op_name(op)) + "(" + subject + ") #" + std::to_string(n);
    }
  }
  if (err != 0) throw errno_error(err, fs_op_name(op), subject);
}

void KillingFileSystem::before(FsOp op, const std::string& subject) {
  const std::uint64_t n = ++operations_;
  if (trace_) std::fprintf(stderr, "fs op %llu: %s(%s)\n", static_cast<unsigned long long>(n), fs_op_name(op), subject.c_str());
  if (n == die_at_) {
    std::fprintf(stderr, "KillingFileSystem: SIGKILL before operation %llu: %s(%s)\n",
                 static_cast<unsigned long long>(n), fs_op_name(op), subject.c_str());
    std::fflush(stderr);
    std::raise(SIGKILL);
  }
}

}  // namespace lull::test
