#include "arbiter_journal.h"

#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "lull/base/atomic_file.h"
#include "lull/base/error.h"

namespace lull::arbiter {

namespace {

// The arbiter gives each submission the next free id: a submit whose id is
// not above every earlier one (and the header's next_job) would make two
// jobs of one id, which the ledger and its decision core would tell apart
// differently. Advances `next_job` past a submit's id.
void check_job_id_is_new(const JournalRecord& record, JobId& next_job) {
  const auto* submit = std::get_if<SubmitRecord>(&record.what);
  if (submit == nullptr) return;
  if (submit->job < next_job) {
    throw Error(ErrorCode::corrupt, "submit of job " + std::to_string(submit->job) +
                                        ": job ids were given up to " + std::to_string(next_job - 1) +
                                        " already; each submission has a new one");
  }
  next_job = submit->job + 1;
}

}  // namespace

ArbiterJournal::ArbiterJournal(std::unique_ptr<RandomAccessFile> file, std::size_t bytes)
    : file_(std::move(file)), bytes_(bytes) {}

JournalContents ArbiterJournal::read(const std::filesystem::path& path, FileSystem* chosen) {
  FileSystem& fs = FileSystem::or_posix(chosen);
  if (!fs.exists(path)) return {};
  return parse(fs.read_file(path), path.string());
}

JournalContents ArbiterJournal::parse(std::string_view text, const std::string& where) {
  JournalContents contents;
  std::size_t begin = 0;
  std::size_t line_number = 0;
  JobId next_job = 1;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    ++line_number;
    if (end == std::string_view::npos) {  // no newline: the append of this line never finished
      contents.torn_tail = true;
      break;
    }
    const nlohmann::json value = nlohmann::json::parse(text.substr(begin, end - begin), nullptr, false);
    const std::string at = where + ":" + std::to_string(line_number);
    if (value.is_discarded()) {
      throw Error(ErrorCode::corrupt, at + ": not JSON", {}, {},
                  "the journal was damaged; keep a copy and see docs/arbiter.md, \"Durability\"");
    }
    try {
      if (!contents.header) {
        contents.header = header_from_json(value);
        next_job = contents.header->next_job;
      } else {
        contents.records.push_back(record_from_json(value));
        check_job_id_is_new(contents.records.back(), next_job);
      }
    } catch (const Error& e) {
      throw Error(ErrorCode::corrupt, at + ": " + e.message());
    }
    begin = end + 1;
    contents.whole_bytes = begin;
  }
  return contents;
}

ArbiterJournal ArbiterJournal::open(const std::filesystem::path& path, std::size_t whole_bytes, FileSystem* fs) {
  std::unique_ptr<RandomAccessFile> file = FileSystem::or_posix(fs).open_file(path, /*writable=*/true);
  file->truncate(whole_bytes);
  return ArbiterJournal(std::move(file), whole_bytes);
}

ArbiterJournal ArbiterJournal::start(const std::filesystem::path& path, const JournalHeader& header,
                                     FileSystem* fs) {
  const std::string line = to_json(header).dump() + "\n";
  write_file_atomically(FileSystem::or_posix(fs), path, line, 0600);
  return open(path, line.size(), fs);
}

void ArbiterJournal::append(const JournalRecord& record) {
  const std::string line = to_json(record).dump() + "\n";
  // At bytes_, not at the end: what a failed append left is written over.
  file_->write_at(bytes_, line.data(), line.size());
  file_->sync();
  bytes_ += line.size();
}

}  // namespace lull::arbiter
