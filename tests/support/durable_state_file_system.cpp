#include "support/durable_state_file_system.h"

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <utility>

#include "lull/base/errno_error.h"
#include "lull/base/error.h"

namespace lull::test {

namespace {

// `path` relative to `root` when it is `root` or below it.
std::optional<std::filesystem::path> below(const std::filesystem::path& root, const std::filesystem::path& path) {
  const std::filesystem::path relative = path.lexically_normal().lexically_relative(root);
  if (relative.empty() || *relative.begin() == "..") return std::nullopt;
  return relative;
}

[[noreturn]] void outside(const std::filesystem::path& root, const std::filesystem::path& path, const char* what) {
  throw std::logic_error(std::string("DurableStateFileSystem: ") + what + " " + path.string() + ", outside its root " +
                         root.string() + " or not in its model");
}

}  // namespace

// A file opened through the model: its calls are counted, and a sync makes
// the node's bytes durable as the disk holds them then.
class DurableStateFileSystem::TrackedFile final : public RandomAccessFile {
 public:
  TrackedFile(DurableStateFileSystem& fs, std::unique_ptr<RandomAccessFile> file, NodeId id, std::string name)
      : fs_(fs), file_(std::move(file)), id_(id), name_(std::move(name)), generation_(fs.generation_) {}

  void write_at(std::uint64_t offset, const void* data, std::size_t size) override {
    std::lock_guard lock(fs_.mutex_);
    enter(FsOp::file_write_at, "@" + std::to_string(offset) + " +" + std::to_string(size));
    file_->write_at(offset, data, size);
  }
  void read_at(std::uint64_t offset, void* data, std::size_t size) override {
    std::lock_guard lock(fs_.mutex_);
    enter(FsOp::file_read_at, "@" + std::to_string(offset) + " +" + std::to_string(size));
    file_->read_at(offset, data, size);
  }
  void sync() override {
    std::lock_guard lock(fs_.mutex_);
    enter(FsOp::file_sync, "");
    std::string bytes(file_->size(), '\0');
    file_->read_at(0, bytes.data(), bytes.size());
    fs_.nodes_[id_].durable_bytes = std::move(bytes);
  }
  std::uint64_t size() override {
    std::lock_guard lock(fs_.mutex_);
    enter(FsOp::file_size, "");
    return file_->size();
  }
  void truncate(std::uint64_t size) override {
    std::lock_guard lock(fs_.mutex_);
    enter(FsOp::file_truncate, "to " + std::to_string(size));
    file_->truncate(size);
  }

 private:
  // With the file system's mutex held: refuses a file of an earlier boot,
  // counts the call.
  void enter(FsOp op, const std::string& what) {
    if (generation_ != fs_.generation_) {
      throw Error(ErrorCode::io, "simulated crash: " + name_ + " was open when the machine went down");
    }
    fs_.step(op, name_ + (what.empty() ? "" : " " + what));
  }

  DurableStateFileSystem& fs_;
  std::unique_ptr<RandomAccessFile> file_;
  NodeId id_;
  std::string name_;
  std::uint64_t generation_;
};

DurableStateFileSystem::DurableStateFileSystem(std::filesystem::path root, FileSystem& base)
    : root_(std::move(root).lexically_normal()), base_(base) {
  if (!root_.has_filename()) root_ = root_.parent_path();  // "dir/" is "dir"
  if (base_.status(root_).kind != FileKind::directory) {
    throw std::logic_error("DurableStateFileSystem: root " + root_.string() + " is not a directory");
  }
  adopt(root_);
}

DurableStateFileSystem::~DurableStateFileSystem() = default;

void DurableStateFileSystem::crash_before_operation(std::uint64_t n) {
  std::lock_guard lock(mutex_);
  crash_at_ = n;
}

std::uint64_t DurableStateFileSystem::operations() const {
  std::lock_guard lock(mutex_);
  return operations_;
}

std::vector<std::string> DurableStateFileSystem::trace() const {
  std::lock_guard lock(mutex_);
  return trace_;
}

bool DurableStateFileSystem::crashed() const {
  std::lock_guard lock(mutex_);
  return crashed_;
}

void DurableStateFileSystem::step(FsOp op, const std::string& subject) {
  std::string what = std::string(fs_op_name(op)) + "(" + subject + ")";
  if (crashed_) throw Error(ErrorCode::io, "simulated crash: the machine is down; " + what + " not done");
  ++operations_;
  if (operations_ == crash_at_) {
    crashed_ = true;
    trace_.push_back(what + " (not done: crashed)");
    throw Error(ErrorCode::io, "simulated crash before operation " + std::to_string(operations_) + ": " + what);
  }
  trace_.push_back(std::move(what));
}

DurableStateFileSystem::NodeId DurableStateFileSystem::new_node(bool directory, mode_t mode) {
  nodes_.push_back(Node{directory, mode, std::nullopt, {}, std::nullopt});
  return nodes_.size() - 1;
}

DurableStateFileSystem::NodeId DurableStateFileSystem::adopt(const std::filesystem::path& path) {
  const FileStatus status = base_.status(path);
  if (status.kind == FileKind::directory) {
    const NodeId id = new_node(true, status.permissions);
    for (const auto& name : base_.list_dir(path)) {
      const NodeId child = adopt(path / name);
      nodes_[id].entries[name] = child;
    }
    nodes_[id].durable_entries = nodes_[id].entries;
    return id;
  }
  if (status.kind != FileKind::regular) {
    throw std::logic_error("DurableStateFileSystem: " + path.string() + " is " +
                           std::string(file_kind_name(status.kind)) + ", which it does not model");
  }
  const NodeId id = new_node(false, status.permissions);
  nodes_[id].durable_bytes = base_.read_file(path);
  return id;
}

std::optional<DurableStateFileSystem::NodeId> DurableStateFileSystem::find(const std::filesystem::path& path) {
  const auto relative = below(root_, path);
  if (!relative) return std::nullopt;
  NodeId id = 0;
  std::filesystem::path at = root_;
  for (const auto& part : *relative) {
    if (part == ".") continue;
    at /= part;
    if (!nodes_[id].directory) return std::nullopt;
    const auto it = nodes_[id].entries.find(part.string());
    if (it != nodes_[id].entries.end()) {
      id = it->second;
      continue;
    }
    if (base_.status(at).kind == FileKind::missing) return std::nullopt;
    const NodeId child = adopt(at);  // made outside the seam (a lock file)
    nodes_[id].entries[part.string()] = child;
    id = child;
  }
  return id;
}

DurableStateFileSystem::NodeId DurableStateFileSystem::parent_of(const std::filesystem::path& path) {
  const auto parent = find(path.lexically_normal().parent_path());
  if (!parent || !nodes_[*parent].directory || !below(root_, path)) outside(root_, path, "cannot change");
  return *parent;
}

DurableStateFileSystem::NodeId DurableStateFileSystem::existing(const std::filesystem::path& path) {
  if (!below(root_, path)) outside(root_, path, "cannot sync");
  const auto id = find(path);
  if (!id) throw errno_error(ENOENT, "open", path.string());
  return *id;
}

DurableStateFileSystem::NodeId DurableStateFileSystem::created_file(const std::filesystem::path& path) {
  const NodeId parent = parent_of(path);
  const std::string name = path.filename().string();
  if (auto it = nodes_[parent].entries.find(name); it != nodes_[parent].entries.end() && !nodes_[it->second].directory) {
    return it->second;
  }
  const NodeId id = new_node(false, base_.status(path).permissions);
  nodes_[parent].entries[name] = id;
  return id;
}

std::unique_ptr<RandomAccessFile> DurableStateFileSystem::track(std::unique_ptr<RandomAccessFile> file, NodeId id,
                                                                const std::filesystem::path& path) {
  return std::make_unique<TrackedFile>(*this, std::move(file), id, path.string());
}

bool DurableStateFileSystem::make_dir(const std::filesystem::path& dir, mode_t mode) {
  std::lock_guard lock(mutex_);
  step(FsOp::make_dir, dir.string());
  const NodeId parent = parent_of(dir);
  const bool made = base_.make_dir(dir, mode);
  if (made) {
    const NodeId id = new_node(true, mode);
    nodes_[parent].entries[dir.lexically_normal().filename().string()] = id;
  } else {
    find(dir);
  }
  return made;
}

void DurableStateFileSystem::sync_file(const std::filesystem::path& file) {
  std::lock_guard lock(mutex_);
  step(FsOp::sync_file, file.string());
  nodes_[existing(file)].durable_bytes = base_.read_file(file);
}

void DurableStateFileSystem::sync_dir(const std::filesystem::path& dir) {
  std::lock_guard lock(mutex_);
  step(FsOp::sync_dir, dir.string());
  const auto id = existing(dir);
  // What the disk holds now is what the sync made durable; the model knows
  // which node each name is, and takes in what was made outside the seam.
  std::map<std::string, NodeId> entries;
  for (const auto& name : base_.list_dir(dir)) {
    const auto it = nodes_[id].entries.find(name);
    entries[name] = it != nodes_[id].entries.end() ? it->second : adopt(dir / name);
  }
  nodes_[id].entries = entries;
  nodes_[id].durable_entries = std::move(entries);
}

void DurableStateFileSystem::rename(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::lock_guard lock(mutex_);
  step(FsOp::rename, from.string() + " -> " + to.string());
  const NodeId from_parent = parent_of(from);
  const NodeId to_parent = parent_of(to);
  const auto moving = find(from);
  base_.rename(from, to);
  if (!moving) outside(root_, from, "cannot rename");
  nodes_[from_parent].entries.erase(from.lexically_normal().filename().string());
  nodes_[to_parent].entries[to.lexically_normal().filename().string()] = *moving;
}

void DurableStateFileSystem::exchange(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::lock_guard lock(mutex_);
  step(FsOp::exchange, a.string() + " <-> " + b.string());
  const NodeId a_parent = parent_of(a);
  const NodeId b_parent = parent_of(b);
  const auto a_node = find(a);
  const auto b_node = find(b);
  base_.exchange(a, b);
  if (!a_node || !b_node) outside(root_, a, "cannot exchange");
  nodes_[a_parent].entries[a.lexically_normal().filename().string()] = *b_node;
  nodes_[b_parent].entries[b.lexically_normal().filename().string()] = *a_node;
}

void DurableStateFileSystem::write_file(const std::filesystem::path& file, std::string_view bytes, mode_t mode) {
  std::lock_guard lock(mutex_);
  step(FsOp::write_file, file.string());
  parent_of(file);
  base_.write_file(file, bytes, mode);
  nodes_[created_file(file)].durable_bytes = std::string(bytes);  // write_file syncs the file
}

std::string DurableStateFileSystem::read_file(const std::filesystem::path& file) {
  return counted(FsOp::read_file, file, [&] { return base_.read_file(file); });
}

std::vector<std::string> DurableStateFileSystem::list_dir(const std::filesystem::path& dir) {
  return counted(FsOp::list_dir, dir, [&] { return base_.list_dir(dir); });
}

void DurableStateFileSystem::remove_all(const std::filesystem::path& path) {
  std::lock_guard lock(mutex_);
  step(FsOp::remove_all, path.string());
  const NodeId parent = parent_of(path);
  base_.remove_all(path);
  nodes_[parent].entries.erase(path.lexically_normal().filename().string());
}

std::unique_ptr<RandomAccessFile> DurableStateFileSystem::open_file(const std::filesystem::path& file, bool writable) {
  std::lock_guard lock(mutex_);
  step(FsOp::open_file, file.string() + (writable ? " (rw)" : " (ro)"));
  auto opened = base_.open_file(file, writable);
  const auto id = find(file);
  if (!id) {
    if (writable) outside(root_, file, "cannot open for writing");
    return opened;  // reading outside the root changes nothing
  }
  return track(std::move(opened), *id, file);
}

std::unique_ptr<RandomAccessFile> DurableStateFileSystem::create_file(const std::filesystem::path& file, mode_t mode) {
  std::lock_guard lock(mutex_);
  step(FsOp::create_file, file.string());
  parent_of(file);
  auto created = base_.create_file(file, mode);
  return track(std::move(created), created_file(file), file);
}

FileStatus DurableStateFileSystem::status(const std::filesystem::path& path) {
  return counted(FsOp::status, path, [&] { return base_.status(path); });
}

FileStatus DurableStateFileSystem::target_status(const std::filesystem::path& path) {
  return counted(FsOp::target_status, path, [&] { return base_.target_status(path); });
}

void DurableStateFileSystem::set_mode(const std::filesystem::path& path, mode_t mode) {
  std::lock_guard lock(mutex_);
  step(FsOp::set_mode, path.string());
  base_.set_mode(path, mode);
  if (const auto id = find(path)) nodes_[*id].mode = mode;
}

void DurableStateFileSystem::write_durable(NodeId id, const std::filesystem::path& path,
                                           std::vector<NodeId>& ancestors) {
  const Node& node = nodes_[id];
  if (!node.directory) {
    const std::string& bytes = node.durable_bytes ? *node.durable_bytes : std::string();
    base_.create_file(path, node.mode)->write_at(0, bytes.data(), bytes.size());  // no fsync: a model's disk
    base_.set_mode(path, node.mode);
    return;
  }
  base_.make_dir(path, 0700);
  ancestors.push_back(id);
  for (const auto& [name, child] : node.durable_entries.value_or(std::map<std::string, NodeId>{})) {
    if (std::find(ancestors.begin(), ancestors.end(), child) == ancestors.end()) {
      write_durable(child, path / name, ancestors);
    }
  }
  ancestors.pop_back();
  base_.set_mode(path, node.mode);
}

void DurableStateFileSystem::crash() {
  std::lock_guard lock(mutex_);
  for (const auto& name : base_.list_dir(root_)) base_.remove_all(root_ / name);
  std::vector<NodeId> ancestors{0};
  for (const auto& [name, child] : nodes_[0].durable_entries.value_or(std::map<std::string, NodeId>{})) {
    if (child != 0) write_durable(child, root_ / name, ancestors);
  }
  nodes_.clear();
  adopt(root_);
  ++generation_;
  operations_ = 0;
  crash_at_ = 0;
  crashed_ = false;
  trace_.clear();
}

}  // namespace lull::test
