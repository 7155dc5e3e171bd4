#pragma once
// NoticeLocation — the private place of one run's preemption notice file.
//
// Each `lull run` creates a fresh directory with mkdtemp (mode 0700, a name
// no earlier run used) and puts the notice file inside it, so a notice left
// by an earlier run, even one killed with SIGKILL, can never be seen by this
// one, and no other user can plant one. The directory is
//   <ckpt-dir>/.lull-run-XXXXXX/notice.json   with a snapshot directory: on the
//       file system the ranks share, so ranks on other nodes read it too (the
//       snapshot store only ever reads step-* entries);
//   $XDG_RUNTIME_DIR/lull-run-XXXXXX/notice.json   without one (else $TMPDIR,
//       else /tmp): single-node jobs only.
// The notice file itself does not exist until the notice is written.
//
// Owns the directory: the destructor removes it with everything in it and
// never throws. (A lull run killed with SIGKILL leaves its directory behind;
// no run reads it again, and it may be deleted.) Move-only. Not thread-safe.

#include <filesystem>
#include <optional>

namespace lull::run {

class NoticeLocation {
 public:
  // Creates the directory. Throws the errno mapper's Error when it cannot.
  explicit NoticeLocation(const std::optional<std::filesystem::path>& ckpt_dir);
  ~NoticeLocation();
  NoticeLocation(NoticeLocation&& other) noexcept;
  NoticeLocation& operator=(NoticeLocation&&) = delete;
  NoticeLocation(const NoticeLocation&) = delete;
  NoticeLocation& operator=(const NoticeLocation&) = delete;

  // The path to hand to the ranks (LULL_NOTICE_FILE) and to write the notice to.
  const std::filesystem::path& file() const noexcept { return file_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path file_;
};

}  // namespace lull::run
