// The notice file (base/src/notice_file.cpp): what the runtime accepts as a
// preemption notice, and what it refuses with the file and field named.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "lull/base/error.h"
#include "lull/base/notice_file.h"
#include "support/gtest_helpers.h"
#include "support/test_process.h"

namespace lull {
namespace {

using test::throws_error;

TEST(NoticeFile, WrittenAndReadBack) {
  test::ScratchDir dir("notice");
  PreemptionNotice notice;
  notice.deadline_unix = 1795338826.25;
  notice.grace_seconds = 30;
  notice.issued_unix = 1795338796.25;
  notice.reason = "SIGTERM to lull run";
  write_notice_file(dir.path() / "notice", notice);
  const auto read = read_notice_file(dir.path() / "notice");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->deadline_unix, notice.deadline_unix);
  EXPECT_EQ(read->grace_seconds, notice.grace_seconds);
  EXPECT_EQ(read->issued_unix, notice.issued_unix);
  EXPECT_EQ(read->reason, notice.reason);
}

TEST(NoticeFile, NoFileIsNoNotice) {
  test::ScratchDir dir("notice");
  EXPECT_FALSE(read_notice_file(dir.path() / "absent").has_value());
}

TEST(NoticeFile, NumbersOutOfRangeAreRefusedByField) {
  // 1e300 seconds would overflow the runtime's int64 milliseconds.
  for (const std::string deadline : {"1e300", "-1", "100000000001"}) {
    EXPECT_TRUE(throws_error([&] { parse_notice("{\"deadline_unix\": " + deadline + "}", "n.json"); },
                             ErrorCode::invalid_argument, "notice file n.json", "deadline_unix"))
        << deadline;
  }
  EXPECT_TRUE(throws_error([&] { parse_notice(R"({"deadline_unix": 5, "grace_seconds": -3})", "n.json"); },
                           ErrorCode::invalid_argument, "grace_seconds", "out of range"));
  EXPECT_EQ(parse_notice(R"({"deadline_unix": 100000000000})", "n.json").deadline_unix, kMaxNoticeSeconds);
  // Beyond a double's range: the JSON library's own out_of_range error (it
  // escaped as a foreign exception before) becomes the notice file's.
  EXPECT_TRUE(throws_error([] { parse_notice(R"({"deadline_unix": 1e400})", "n.json"); },
                           ErrorCode::invalid_argument, "notice file n.json", "1e400"));
}

TEST(NoticeFile, MalformedContentIsRefusedWithTheReason) {
  EXPECT_TRUE(throws_error([] { parse_notice("{\"deadline_unix\": 17", "n.json"); }, ErrorCode::invalid_argument,
                           "n.json", "malformed JSON"));
  EXPECT_TRUE(throws_error([] { parse_notice("[1]", "n.json"); }, ErrorCode::invalid_argument, "not a JSON object"));
  EXPECT_TRUE(throws_error([] { parse_notice("{}", "n.json"); }, ErrorCode::invalid_argument,
                           "\"deadline_unix\" is missing"));
  EXPECT_TRUE(throws_error([] { parse_notice(R"({"deadline_unix": "soon"})", "n.json"); },
                           ErrorCode::invalid_argument, "\"deadline_unix\" is not a number"));
}

TEST(NoticeFile, AFifoInItsPlaceIsRefusedWithoutBlocking) {
  test::ScratchDir dir("notice");
  const auto fifo = dir.path() / "notice";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  ::alarm(10);  // a blocking open would hang: end the process instead
  EXPECT_TRUE(throws_error([&] { read_notice_file(fifo); }, ErrorCode::invalid_argument, "FIFO"));
  ::alarm(0);
}

TEST(NoticeFile, AHugeFileIsRefused) {
  test::ScratchDir dir("notice");
  const auto path = dir.path() / "notice";
  std::ofstream(path) << "{\"deadline_unix\": 5, \"reason\": \"" << std::string(kMaxNoticeFileBytes, 'x') << "\"}";
  EXPECT_TRUE(throws_error([&] { read_notice_file(path); }, ErrorCode::invalid_argument, "the maximum is 65536"));
}

}  // namespace
}  // namespace lull
