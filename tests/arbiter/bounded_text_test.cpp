// bounded_text(): what outside text may put into a log line, an event or a message.
#include <gtest/gtest.h>

#include <string>

#include "lull/base/bounded_text.h"

namespace lull {
namespace {

TEST(BoundedText, ShortPrintableTextIsUnchanged) {
  EXPECT_EQ(bounded_text("acme"), "acme");
  EXPECT_EQ(bounded_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(quoted_text("a b"), "\"a b\"");
  EXPECT_EQ(bounded_text(""), "");
}

TEST(BoundedText, ControlCharactersAndBadBytesAreEscaped) {
  EXPECT_EQ(bounded_text(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(bounded_text("line\nforged"), "line\\x0aforged");
  EXPECT_EQ(bounded_text("\x1b[31mred\x7f"), "\\x1b[31mred\\x7f");
  EXPECT_EQ(bounded_text("\xc2\x9b" "2J"), "\\xc2\\x9b2J");       // C1 CSI
  EXPECT_EQ(bounded_text("\xff\xfe"), "\\xff\\xfe");              // never UTF-8
  EXPECT_EQ(bounded_text("\xc0\xaf"), "\\xc0\\xaf");              // overlong '/'
  EXPECT_EQ(bounded_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");     // a surrogate
  EXPECT_EQ(bounded_text("\xe2\x82"), "\\xe2\\x82");              // cut short
}

TEST(BoundedText, LongTextIsCutOnACharacterWithAMarker) {
  const std::string long_text(100000, 'x');
  const std::string out = bounded_text(long_text, 50);
  EXPECT_EQ(out, std::string(50, 'x') + "...(99950 more bytes)");
  // A 3-byte character that would cross the bound is left out whole.
  const std::string euros = std::string(9, 'a') + "\xe2\x82\xac" + "b";
  EXPECT_EQ(bounded_text(euros, 10), std::string(9, 'a') + "...(4 more bytes)");
  // An escape counts as the 4 bytes it takes.
  EXPECT_EQ(bounded_text("ab\ncd", 4), "ab...(3 more bytes)");
  EXPECT_EQ(bounded_text("ab\ncd", 6), "ab\\x0a...(2 more bytes)");
}

TEST(BoundedText, ResultIsBoundedWhateverTheInput) {
  std::string hostile;
  for (int i = 0; i < 70000; ++i) hostile += static_cast<char>(i * 37);
  for (std::size_t bound : {0UL, 1UL, 3UL, 200UL, 1024UL}) {
    const std::string out = bounded_text(hostile, bound);
    EXPECT_LE(out.size(), bound + 32) << bound;
    for (char c : out) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << bound;
  }
}

}  // namespace
}  // namespace lull
