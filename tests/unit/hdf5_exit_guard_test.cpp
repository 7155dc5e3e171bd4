// White-box: checkpoint/src/hdf5_exit_guard.h. HDF5 1.10.8, having failed to
// decode a dataset's external file list, can no longer close its file, and
// its exit cleanup then crashes the process. lull never decodes such a list
// (it looks for the message first; the snapshot tests show that), so here
// the failure is provoked with HDF5 alone, in a child process: a file left
// unclosable must not turn the process's exit status into a SIGSEGV once
// release_hdf5_id() has seen the close fail.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "hdf5_exit_guard.h"
#include "support/snapshot_editor.h"
#include "support/test_process.h"

namespace lull::test {
namespace {

// Forks; the child opens `file`, fails to open `dataset` in it, releases the
// file with `release` and exits with 7. Returns the child's wait status.
template <typename Release>
int child_exit_status(const std::filesystem::path& file, const char* dataset, Release release) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    // A crash must show as SIGSEGV: a sanitizer build's handler would report
    // it and exit 1 instead (make test-asan).
    std::signal(SIGSEGV, SIG_DFL);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) ::_exit(2);
    if (H5Dopen2(f, dataset, H5P_DEFAULT) >= 0) ::_exit(3);  // the damage did not take
    release(f);
    std::exit(7);  // a normal exit: atexit handlers, HDF5's cleanup included
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(Hdf5ExitGuard, AFileHdf5CannotCloseNoLongerCrashesTheExit) {
  ScratchDir scratch("exit-guard");
  const auto file = scratch.path() / "damaged.h5";
  const hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const hid_t group = H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Gclose(group);
  H5Fclose(f);
  damage_external_file_list(file, "/g/d", DType::f32, {4});

  // HDF5 alone: the close fails and the exit crashes. (If a later HDF5 no
  // longer does this, the guard is not needed: say so rather than pass.)
  const int unguarded = child_exit_status(file, "/g/d", [](hid_t id) { H5Fclose(id); });
  if (WIFEXITED(unguarded) && WEXITSTATUS(unguarded) == 7) {
    GTEST_SKIP() << "this HDF5 closes the file after a failed decode: nothing to guard against";
  }
  ASSERT_TRUE(WIFSIGNALED(unguarded) && WTERMSIG(unguarded) == SIGSEGV) << describe_status(unguarded);

  const int guarded = child_exit_status(file, "/g/d", [](hid_t id) {
    if (lull::detail::release_hdf5_id(id)) std::_Exit(4);  // the close was expected to fail
  });
  EXPECT_TRUE(WIFEXITED(guarded) && WEXITSTATUS(guarded) == 7) << describe_status(guarded);
}

}  // namespace
}  // namespace lull::test
