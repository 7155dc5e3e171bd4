#include "arbiter_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <variant>

#include "lull/base/atomic_file.h"
#include "lull/base/errno_error.h"
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

ArbiterJournal::ArbiterJournal(std::filesystem::path path, UniqueFd fd, std::size_t bytes)
    : path_(std::move(path)), fd_(std::move(fd)), bytes_(bytes) {}

JournalContents ArbiterJournal::read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT || !std::filesystem::exists(path)) return {};
    throw_errno("open", path.string());
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), path.string());
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

ArbiterJournal ArbiterJournal::open(const std::filesystem::path& path, std::size_t whole_bytes) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) throw_errno("open", path.string());
  if (::ftruncate(fd.get(), static_cast<off_t>(whole_bytes)) != 0) throw_errno("ftruncate", path.string());
  if (::lseek(fd.get(), 0, SEEK_END) < 0) throw_errno("lseek", path.string());
  return ArbiterJournal(path, std::move(fd), whole_bytes);
}

ArbiterJournal ArbiterJournal::start(const std::filesystem::path& path, const JournalHeader& header) {
  const std::string line = to_json(header).dump() + "\n";
  write_file_atomically(FileSystem::posix(), path, line, 0600);
  return open(path, line.size());
}

void ArbiterJournal::append(const JournalRecord& record) {
  const std::string line = to_json(record).dump() + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_.get(), line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("write", path_.string());
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_.get()) != 0) throw_errno("fdatasync", path_.string());
  bytes_ += line.size();
}

}  // namespace lull::arbiter
