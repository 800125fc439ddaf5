#include "clients/cli/command_context.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aesignal::cli {
namespace {

TEST(DisplayWidthTest, CountsColumnsNotBytes) {
  EXPECT_EQ(DisplayWidth(""), 0u);
  EXPECT_EQ(DisplayWidth("20 x 10^6 cells"), 15u);
  EXPECT_EQ(DisplayWidth("20 × 10⁶ cells"), 14u);  // 17 bytes
  EXPECT_EQ(DisplayWidth("Sjögren's syndrome"), 18u);
  // o followed by a combining diaeresis reads as one column.
  EXPECT_EQ(DisplayWidth("Sjo\u0308gren"), 7u);
  EXPECT_EQ(DisplayWidth("発熱"), 4u);  // East Asian wide: two columns each
  EXPECT_EQ(DisplayWidth("😀"), 1u);     // outside the wide blocks listed
  // Invalid UTF-8: a column per byte that does not start a sequence.
  EXPECT_EQ(DisplayWidth("a\xFF"
                         "b"),
            3u);
  EXPECT_EQ(DisplayWidth("\xC3"), 1u);  // truncated sequence
  EXPECT_EQ(DisplayWidth("\xE2\x82"
                         "x"),
            3u);  // bad continuation
}

TEST(DisplayWidthTest, PadsToDisplayColumns) {
  EXPECT_EQ(PadToWidth("µg", 4), "µg  ");
  EXPECT_EQ(PadToWidth("abcdef", 4), "abcdef");
}

// The columns after a non-ASCII cell start where they do after an ASCII one:
// padded by bytes, "20 × 10⁶ cells" (17 bytes, 14 columns) pushed its row's
// next column three columns left of the header's.
TEST(PrintColumnsTest, AlignsCellsOfNonAsciiText) {
  std::ostringstream out;
  PrintColumns(out, {{"group", "label", "dosed"},
                     {"D20M", "20 × 10⁶ cells", "3"},
                     {"D100M", "100 x 10^6 cells", "12"}});
  EXPECT_EQ(out.str(),
            "group  label             dosed\n"
            "D20M   20 × 10⁶ cells    3\n"
            "D100M  100 x 10^6 cells  12\n");
}

}  // namespace
}  // namespace aesignal::cli
