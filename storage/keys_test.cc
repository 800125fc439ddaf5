#include "storage/keys.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace aesignal::storage {
namespace {

const std::vector<std::string> kAwkwardStrings = {"",
                                                  "a",
                                                  "ab",
                                                  std::string("a\0b", 3),
                                                  std::string("\0", 1),
                                                  std::string("\0\0\xFF", 3),
                                                  "\xFF\xFF",
                                                  "NCT02221258",
                                                  "Überempfindlich"};

TEST(OrderedStringTest, RoundTrips) {
  for (const std::string& s : kAwkwardStrings) {
    std::string encoded;
    AppendOrderedString(&encoded, s);
    encoded += "tail";
    std::string_view in = encoded;
    std::string decoded;
    ASSERT_TRUE(ConsumeOrderedString(&in, &decoded));
    EXPECT_EQ(decoded, s);
    EXPECT_EQ(in, "tail");
  }
}

// The encoding is persisted in every key: pinned byte for byte.
TEST(OrderedStringTest, EncodesAsStored) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", std::string("\0\x01", 2)},
      {"NCT", std::string("NCT\0\x01", 5)},
      {std::string("a\0b", 3), std::string("a\0\xFF"
                                           "b\0\x01",
                                           6)},
      {std::string("\0", 1), std::string("\0\xFF\0\x01", 4)},
      {std::string("\0\0\xFF", 3), std::string("\0\xFF\0\xFF\xFF\0\x01", 7)},
      {std::string("x\0", 2), std::string("x\0\xFF\0\x01", 5)}};
  for (const auto& [plain, stored] : cases) {
    std::string encoded = "prefix";
    AppendOrderedString(&encoded, plain);
    EXPECT_EQ(encoded, "prefix" + stored) << plain.size();
  }
}

TEST(OrderedStringTest, PreservesOrderOfCompositeKeys) {
  // (a, b) pairs must sort like std::pair of strings.
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& a : kAwkwardStrings) {
    for (const auto& b : kAwkwardStrings) pairs.emplace_back(a, b);
  }
  auto encode = [](const std::pair<std::string, std::string>& p) {
    std::string out;
    AppendOrderedString(&out, p.first);
    AppendOrderedString(&out, p.second);
    return out;
  };
  auto by_pair = pairs;
  std::sort(by_pair.begin(), by_pair.end(), [](const auto& x, const auto& y) {
    // Compare as unsigned bytes, like RocksDB.
    auto cmp = [](const std::string& l, const std::string& r) {
      return std::lexicographical_compare(
          l.begin(), l.end(), r.begin(), r.end(), [](char c1, char c2) {
            return static_cast<unsigned char>(c1) <
                   static_cast<unsigned char>(c2);
          });
    };
    if (x.first != y.first) return cmp(x.first, y.first);
    return cmp(x.second, y.second);
  });
  auto by_key = pairs;
  std::sort(by_key.begin(), by_key.end(), [&](const auto& x, const auto& y) {
    return encode(x) < encode(y);
  });
  // std::string's operator< uses char_traits<char>::lt, which compares as
  // unsigned char, matching RocksDB's bytewise comparator.
  EXPECT_EQ(by_pair, by_key);
}

TEST(OrderedStringTest, RejectsMalformed) {
  std::string_view unterminated = "abc";
  std::string out;
  EXPECT_FALSE(ConsumeOrderedString(&unterminated, &out));
  std::string bad_escape("a\0\x05", 3);
  std::string_view in = bad_escape;
  EXPECT_FALSE(ConsumeOrderedString(&in, &out));
}

TEST(BigEndianTest, RoundTripsAndSorts) {
  std::string a, b;
  AppendBigEndian32(&a, 2);
  AppendBigEndian32(&b, 256);
  EXPECT_LT(a, b);
  std::string_view in = b;
  uint32_t v = 0;
  ASSERT_TRUE(ConsumeBigEndian32(&in, &v));
  EXPECT_EQ(v, 256u);
  std::string c;
  AppendBigEndian16(&c, 0xBEEF);
  std::string_view in16 = c;
  uint16_t v16 = 0;
  ASSERT_TRUE(ConsumeBigEndian16(&in16, &v16));
  EXPECT_EQ(v16, 0xBEEF);
  EXPECT_FALSE(ConsumeBigEndian16(&in16, &v16));
}

TEST(KeysTest, TrialKeyRoundTrips) {
  EXPECT_EQ(DecodeTrialKey(TrialKey("NCT1")), "NCT1");
  EXPECT_FALSE(DecodeTrialKey(TrialKey("NCT1") + "x").has_value());
}

TEST(KeysTest, SubjectKeyRoundTrips) {
  auto parts = DecodeSubjectKey(SubjectKey("T", std::string("S\0-1", 4)));
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->trial_id, "T");
  EXPECT_EQ(parts->subject_id, std::string("S\0-1", 4));
}

TEST(KeysTest, ReportKeyRoundTripsAndVersionsSortNumerically) {
  ReportKeyParts want{"T", "701", "R-1", 7};
  EXPECT_EQ(DecodeReportKey(ReportKey("T", "701", "R-1", 7)), want);
  EXPECT_LT(ReportKey("T", "701", "R-1", 9), ReportKey("T", "701", "R-1", 10));
  const std::string prefix = ReportVersionsPrefix("T", "701", "R-1");
  EXPECT_EQ(ReportKey("T", "701", "R-1", 1).rfind(prefix, 0), 0u);
  // A report id that extends another is not inside its prefix.
  EXPECT_NE(ReportKey("T", "701", "R-10", 1).rfind(prefix, 0), 0u);
}

TEST(KeysTest, TermAndCounterKeysRoundTrip) {
  for (const TermKey& term :
       {TermKey{Level::kPt, "Infections", "Pneumonia", ""},
        TermKey{Level::kSoc, "Infections", "", ""},
        TermKey{Level::kOverall, "", "", "aesi:infection"}}) {
    std::string encoded = EncodeTerm(term);
    std::string_view in = encoded;
    TermKey decoded;
    ASSERT_TRUE(ConsumeTerm(&in, &decoded));
    EXPECT_EQ(decoded, term);
    EXPECT_TRUE(in.empty());

    CounterRowKeyParts want{"T", term};
    EXPECT_EQ(DecodeCounterRowKey(CounterRowKey("T", term)), want);
    SubjectTermKeyParts st{"T", term, "S1"};
    EXPECT_EQ(DecodeSubjectTermKey(SubjectTermKey("T", term, "S1")), st);
    EXPECT_EQ(
        CounterRowKey("T", term).rfind(CounterLevelPrefix("T", term.level), 0),
        0u);
  }
}

TEST(KeysTest, CounterRowsSortByLevelThenTerm) {
  TermKey a{Level::kPt, "SOC", "A", ""};
  TermKey b{Level::kPt, "SOC", "B", ""};
  TermKey ab{Level::kPt, "SOC", "AB", ""};
  TermKey soc{Level::kSoc, "AAA", "", ""};
  EXPECT_LT(CounterRowKey("T", a), CounterRowKey("T", ab));
  EXPECT_LT(CounterRowKey("T", ab), CounterRowKey("T", b));
  EXPECT_LT(CounterRowKey("T", b), CounterRowKey("T", soc));
  // Another trial's rows are outside this trial's level prefix.
  EXPECT_NE(CounterRowKey("T2", a).rfind(CounterLevelPrefix("T", a.level), 0),
            0u);
}

TEST(KeysTest, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xFF", 2)), "b");
  EXPECT_EQ(PrefixSuccessor("\xFF"), "");
}

TEST(KeysTest, DecodersRejectGarbage) {
  EXPECT_FALSE(DecodeReportKey("garbage").has_value());
  EXPECT_FALSE(DecodeCounterRowKey(TrialKey("T")).has_value());
  TermKey a{Level::kPt, "SOC", "A", ""};
  // Trailing bytes (e.g. a schema-1 per-cell counter key) are not a row key.
  EXPECT_FALSE(DecodeCounterRowKey(CounterRowKey("T", a) + std::string(4, '\0'))
                   .has_value());
  EXPECT_FALSE(DecodeSubjectKey("").has_value());
}

}  // namespace
}  // namespace aesignal::storage
