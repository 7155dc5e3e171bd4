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

// LULL_EVERY_SECONDS and LULL_MEAN_SECONDS_BETWEEN_NOTICES for one test, restored after.
class CheckpointIntervalVariables : public ::testing::Test {
 protected:
  static constexpr const char* kNames[] = {"LULL_EVERY_SECONDS", "LULL_MEAN_SECONDS_BETWEEN_NOTICES"};
  void SetUp() override {
    for (std::size_t i = 0; i < 2; ++i) {
      if (const char* v = std::getenv(kNames[i])) saved_[i] = v;
      unsetenv(kNames[i]);
    }
  }
  void TearDown() override {
    for (std::size_t i = 0; i < 2; ++i) {
      if (saved_[i]) {
        setenv(kNames[i], saved_[i]->c_str(), 1);
      } else {
        unsetenv(kNames[i]);
      }
    }
  }

 private:
  std::optional<std::string> saved_[2];
};

TEST_F(CheckpointIntervalVariables, AutoAndTheMeanTimeBetweenNoticesAreRead) {
  EXPECT_FALSE(RuntimeOptions::from_environment().every_seconds_auto);
  setenv("LULL_EVERY_SECONDS", "auto", 1);
  setenv("LULL_MEAN_SECONDS_BETWEEN_NOTICES", "1800", 1);
  const RuntimeOptions options = RuntimeOptions::from_environment();
  EXPECT_TRUE(options.every_seconds_auto);
  EXPECT_DOUBLE_EQ(options.every_seconds, 0);
  EXPECT_DOUBLE_EQ(options.mean_seconds_between_notices, 1800);
  setenv("LULL_EVERY_SECONDS", "12.5", 1);
  EXPECT_FALSE(RuntimeOptions::from_environment().every_seconds_auto);
  EXPECT_DOUBLE_EQ(RuntimeOptions::from_environment().every_seconds, 12.5);
}

TEST_F(CheckpointIntervalVariables, BadValuesNameTheVariableAndWhatItTakes) {
  const struct {
    const char* name;
    const char* value;
    const char* expected;
  } cases[] = {
      {"LULL_EVERY_SECONDS", "Auto", "LULL_EVERY_SECONDS=\"Auto\" is not a number of seconds >= 0 or auto"},
      {"LULL_EVERY_SECONDS", "-3", "is not a number of seconds >= 0 or auto"},
      {"LULL_MEAN_SECONDS_BETWEEN_NOTICES", "inf", "LULL_MEAN_SECONDS_BETWEEN_NOTICES=\"inf\" is not a number of seconds >= 0"},
      {"LULL_MEAN_SECONDS_BETWEEN_NOTICES", "1h", "is not a number of seconds >= 0"},
  };
  for (const auto& c : cases) {
    SetUp();
    setenv(c.name, c.value, 1);
    try {
      (void)RuntimeOptions::from_environment();
      ADD_FAILURE() << c.name << "=" << c.value << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace lull
