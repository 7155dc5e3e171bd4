// RuntimeOptions::from_environment() in process: the collective timeout is
// the collectives' one default and comes through their one parser.

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "lull/base/error.h"
#include "lull/collectives/communicator.h"
#include "lull/runtime.h"

namespace lull {
namespace {

// Sets LULL_COLLECTIVE_TIMEOUT for one test and restores it after.
class CollectiveTimeoutVariable : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* v = std::getenv(kCollectiveTimeoutEnv)) saved_ = v;
    unsetenv(kCollectiveTimeoutEnv);
  }
  void TearDown() override {
    if (saved_) {
      setenv(kCollectiveTimeoutEnv, saved_->c_str(), 1);
    } else {
      unsetenv(kCollectiveTimeoutEnv);
    }
  }

 private:
  std::optional<std::string> saved_;
};

TEST_F(CollectiveTimeoutVariable, UnsetGivesTheCollectivesDefaultOf120Seconds) {
  EXPECT_DOUBLE_EQ(RuntimeOptions{}.collective_timeout_seconds, 120);
  EXPECT_DOUBLE_EQ(RuntimeOptions::from_environment().collective_timeout_seconds, 120);
  EXPECT_DOUBLE_EQ(kDefaultCollectiveTimeoutSeconds, 120);
  EXPECT_DOUBLE_EQ(CommunicatorOptions{}.effective_timeout_seconds(), 120);
}

TEST_F(CollectiveTimeoutVariable, SetIsReadByTheCollectivesParser) {
  setenv(kCollectiveTimeoutEnv, "2.5", 1);
  EXPECT_DOUBLE_EQ(RuntimeOptions::from_environment().collective_timeout_seconds, 2.5);
  for (const char* bad : {"0", "-1", "abc", "5s", "inf"}) {
    setenv(kCollectiveTimeoutEnv, bad, 1);
    try {
      (void)RuntimeOptions::from_environment();
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find("LULL_COLLECTIVE_TIMEOUT must be a number of seconds > 0, not \"" +
                                           std::string(bad) + "\""),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace lull
