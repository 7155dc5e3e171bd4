// RuntimeOptions::from_environment() in process: the collective timeout is
// the collectives' one default and comes through their one parser.

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "lull/base/error.h"
#include "lull/collectives/communicator.h"
#include "lull/runtime.h"

namespace lull {
namespace {

// Unsets environment variables for one test and puts back after it what
// they were before.
class UnsetVariables {
 public:
  explicit UnsetVariables(std::vector<const char*> names) : names_(std::move(names)) {
    for (const char* name : names_) {
      const char* value = std::getenv(name);
      saved_.push_back(value != nullptr ? std::optional<std::string>(value) : std::nullopt);
    }
    clear();
  }
  ~UnsetVariables() {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (saved_[i]) {
        setenv(names_[i], saved_[i]->c_str(), 1);
      } else {
        unsetenv(names_[i]);
      }
    }
  }
  UnsetVariables(const UnsetVariables&) = delete;
  UnsetVariables& operator=(const UnsetVariables&) = delete;

  // Unsets them again (what the test set goes; what was saved stays saved).
  void clear() const {
    for (const char* name : names_) unsetenv(name);
  }

 private:
  std::vector<const char*> names_;
  std::vector<std::optional<std::string>> saved_;
};

// LULL_COLLECTIVE_TIMEOUT unset for one test, restored after.
class CollectiveTimeoutVariable : public ::testing::Test {
 private:
  UnsetVariables variables_{{kCollectiveTimeoutEnv}};
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

// LULL_EVERY_SECONDS and LULL_MEAN_SECONDS_BETWEEN_NOTICES unset for one test, restored after.
class CheckpointIntervalVariables : public ::testing::Test {
 protected:
  UnsetVariables variables_{{"LULL_EVERY_SECONDS", "LULL_MEAN_SECONDS_BETWEEN_NOTICES"}};
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
    variables_.clear();
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
