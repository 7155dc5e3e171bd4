#pragma once
// ArbiterJournal — the arbiter's durable memory: an append-only file of JSON
// lines (journal_record.h), the header first. Every append is written and
// fsync'd before it returns, so a record the arbiter acted on (or answered a
// client about) survives a crash of the arbiter or the machine.
//
// A crash can leave a torn last line; reading stops before it (it is
// reported), and opening for append cuts it off so new records follow a
// whole line. Any other bad line is corruption and stops the arbiter: it
// never guesses at a node's state.
//
// Compaction: start() with a fresh header replaces the file atomically
// (write_file_atomically), used when no job is known any more.
//
// Every file-system call goes through a FileSystem (null: the real one), so
// a test can drop what was not fsync'd at a simulated power loss
// (tests/arbiter/journal_power_loss_test.cpp). Not thread-safe.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "journal_record.h"
#include "lull/base/file_system.h"

namespace lull::arbiter {

struct JournalContents {
  std::optional<JournalHeader> header;  // nullopt: no journal yet
  std::vector<JournalRecord> records;
  std::size_t whole_bytes = 0;          // bytes up to the end of the last whole line
  bool torn_tail = false;               // a partial last line was left out
};

class ArbiterJournal {
 public:
  // Reads `path` (missing: empty contents) and parses it. Throws
  // lull::Error(corrupt) for a bad line that is not the last, the errno
  // mapper's Error for I/O.
  static JournalContents read(const std::filesystem::path& path, FileSystem* fs = nullptr);

  // The journal held in `text`; messages name `where` (the file) and the
  // line. Throws lull::Error(corrupt) for a line that is not the last and
  // is not JSON or not a record (journal_record.h: every field typed and in
  // range), or for a submit whose job id is not above every id given
  // before it (the header's next_job included). Pure.
  static JournalContents parse(std::string_view text, const std::string& where);

  // Opens `path` to append after its first `whole_bytes` bytes (the rest, a
  // torn line, is cut off). Throws the errno mapper's Error.
  static ArbiterJournal open(const std::filesystem::path& path, std::size_t whole_bytes, FileSystem* fs = nullptr);

  // Writes a new journal holding only `header` (atomically replacing any
  // old one) and opens it to append. Throws the errno mapper's Error.
  static ArbiterJournal start(const std::filesystem::path& path, const JournalHeader& header,
                              FileSystem* fs = nullptr);

  // Appends one record, durably. Throws the errno mapper's Error (the
  // arbiter then stops: it must not act on what it could not record).
  void append(const JournalRecord& record);

  std::size_t bytes() const noexcept { return bytes_; }

 private:
  ArbiterJournal(std::unique_ptr<RandomAccessFile> file, std::size_t bytes);
  std::unique_ptr<RandomAccessFile> file_;
  std::size_t bytes_ = 0;  // where the next record goes
};

}  // namespace lull::arbiter
