// read_regular_file (base/src/regular_file.cpp): only regular files are
// read, never by blocking, never past the size limit; each refusal says what
// the path really is.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "lull/base/error.h"
#include "lull/base/regular_file.h"
#include "support/gtest_helpers.h"
#include "support/test_process.h"

namespace lull {
namespace {

using test::throws_error;

// A read that blocks (a FIFO without a writer) would hang the test: SIGALRM
// ends the process with "Alarm clock" instead, long before CTest's timeout.
class HangGuard {
 public:
  HangGuard() { ::alarm(10); }
  ~HangGuard() { ::alarm(0); }
  HangGuard(const HangGuard&) = delete;
  HangGuard& operator=(const HangGuard&) = delete;
};

TEST(RegularFile, ReadsARegularFileWhole) {
  test::ScratchDir dir("regular-file");
  const auto path = dir.path() / "policy.toml";
  std::ofstream(path) << "[node]\nslots = 4\n";
  const RegularFileContent content = read_regular_file(path, 1024, "policy file");
  EXPECT_EQ(content.bytes, "[node]\nslots = 4\n");
  EXPECT_EQ(content.owner, ::getuid());
}

TEST(RegularFile, ReadsAFileOfExactlyTheMaximumAndRefusesOneByteMore) {
  test::ScratchDir dir("regular-file");
  const auto path = dir.path() / "f";
  std::ofstream(path) << std::string(200'000, 'x');
  EXPECT_EQ(read_regular_file(path, 200'000, "file").bytes.size(), 200'000u);
  EXPECT_TRUE(throws_error([&] { read_regular_file(path, 199'999, "policy file"); }, ErrorCode::invalid_argument,
                           "cannot read policy file", "it is 200000 bytes; the maximum is 199999"));
}

TEST(RegularFile, AMissingFileIsNotFound) {
  test::ScratchDir dir("regular-file");
  EXPECT_TRUE(throws_error([&] { read_regular_file(dir.path() / "nope", 10, "policy file"); }, ErrorCode::not_found,
                           "cannot read policy file", "does not exist"));
}

TEST(RegularFile, AFifoWithoutAWriterIsRefusedAtOnce) {
  test::ScratchDir dir("regular-file");
  const auto fifo = dir.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  const HangGuard guard;
  EXPECT_TRUE(throws_error([&] { read_regular_file(fifo, 1024, "policy file"); }, ErrorCode::invalid_argument,
                           "it is a FIFO, not a regular file"));
}

TEST(RegularFile, DevZeroIsRefusedNotReadForever) {
  const HangGuard guard;
  EXPECT_TRUE(throws_error([&] { read_regular_file("/dev/zero", 1024, "policy file"); }, ErrorCode::invalid_argument,
                           "/dev/zero", "it is a character device, not a regular file"));
}

TEST(RegularFile, ADirectoryIsRefusedByName) {
  test::ScratchDir dir("regular-file");
  EXPECT_TRUE(throws_error([&] { read_regular_file(dir.path(), 1024, "policy file"); }, ErrorCode::invalid_argument,
                           "it is a directory, not a regular file"));
}

TEST(RegularFile, ASocketIsRefusedByName) {
  test::ScratchDir dir("regular-file");
  const auto path = dir.path() / "sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(path.string().size(), sizeof address.sun_path);
  std::strcpy(address.sun_path, path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0) << std::strerror(errno);
  EXPECT_TRUE(throws_error([&] { read_regular_file(path, 1024, "notice file"); }, ErrorCode::invalid_argument,
                           "it is a socket, not a regular file"));
  ::close(fd);
}

TEST(RegularFile, SymbolicLinksAreFollowedUnlessRefused) {
  test::ScratchDir dir("regular-file");
  std::ofstream(dir.path() / "target") << "content";
  std::filesystem::create_symlink("target", dir.path() / "link");
  EXPECT_EQ(read_regular_file(dir.path() / "link", 100, "file").bytes, "content");
  EXPECT_TRUE(throws_error([&] { read_regular_file(dir.path() / "link", 100, "exit file", Symlinks::refuse); },
                           ErrorCode::invalid_argument, "symbolic link"));
}

TEST(RegularFile, AnUnreadableFileSaysWhy) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files of any mode";
  test::ScratchDir dir("regular-file");
  const auto path = dir.path() / "secret";
  std::ofstream(path) << "x";
  std::filesystem::permissions(path, std::filesystem::perms::none);
  EXPECT_TRUE(throws_error([&] { read_regular_file(path, 100, "policy file"); }, ErrorCode::io,
                           "cannot read policy file", "permission denied"));
}

}  // namespace
}  // namespace lull
