// Fuzz target: the preemption notice file (base/src/notice_file.cpp), as the
// runtime reads it while a job runs. Any bytes: either a notice whose
// numbers are finite, in range and whose deadline converts to int64
// milliseconds exactly as the runtime's step agreement converts it, or a
// lull::Error(invalid_argument) that names the file. Nothing else escapes.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "lull/base/error.h"
#include "lull/base/notice_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const lull::PreemptionNotice notice = lull::parse_notice(text, "fuzz-notice.json");
    for (const double value : {notice.deadline_unix, notice.grace_seconds, notice.issued_unix}) {
      FUZZ_CHECK(std::isfinite(value) && value >= 0 && value <= lull::kMaxNoticeSeconds, "a number out of range");
    }
    // What runtime/src/step_agreement.cpp does with the deadline.
    const double milliseconds = std::floor(notice.deadline_unix * 1000.0);
    FUZZ_CHECK(milliseconds < 9.2e18, "the deadline does not fit int64 milliseconds");
    volatile const auto as_integer = static_cast<std::int64_t>(milliseconds);
    (void)as_integer;
  } catch (const lull::Error& error) {
    FUZZ_CHECK(error.code() == lull::ErrorCode::invalid_argument, "an error other than invalid_argument");
    FUZZ_CHECK(error.message().find("fuzz-notice.json") != std::string::npos, "the message does not name the file");
  }
  return 0;
}
