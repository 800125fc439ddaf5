#include "services/domain/trend_cache.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "services/signal/rule.h"

namespace aesignal::domain {
namespace {

signal::TrendResult Direct(const std::vector<int64_t>& x,
                           const std::vector<int64_t>& n,
                           const std::vector<double>& scores) {
  auto trend =
      signal::CochranArmitage(x, n, scores, signal::ServerTrendOptions());
  EXPECT_TRUE(trend.ok()) << trend.status();
  return trend.ok() ? *trend : signal::TrendResult{};
}

void ExpectSame(const signal::TrendResult& got,
                const signal::TrendResult& want) {
  EXPECT_EQ(got.p, want.p);
  EXPECT_EQ(got.z, want.z);
  EXPECT_EQ(got.exact, want.exact);
  EXPECT_EQ(got.p_asymptotic, want.p_asymptotic);
  EXPECT_EQ(got.degenerate, want.degenerate);
  EXPECT_EQ(got.note, want.note);
}

// Inputs that differ in one part only: counts, denominators or scores. A memo
// keyed on less than all three would answer one with another's result.
TEST(TrendCacheTest, EveryInputHasItsOwnAnswerAndRepeatsAreHits) {
  const std::vector<std::vector<int64_t>> xs = {{0, 1, 3}, {1, 1, 3}};
  const std::vector<std::vector<int64_t>> ns = {{10, 10, 10}, {10, 12, 30}};
  const std::vector<std::vector<double>> scores = {{0, 1, 2}, {1, 2, 8}};
  const TrendCacheStats before = GetTrendCacheStats();
  for (int round = 0; round < 2; ++round) {
    for (const auto& x : xs) {
      for (const auto& n : ns) {
        for (const auto& s : scores) {
          auto got = ServerTrend(x, n, s);
          ASSERT_TRUE(got.ok()) << got.status();
          SCOPED_TRACE(::testing::Message()
                       << "x " << x[0] << " n " << n[1] << " score " << s[0]);
          ExpectSame(*got, Direct(x, n, s));
        }
      }
    }
  }
  const TrendCacheStats after = GetTrendCacheStats();
  EXPECT_EQ(after.misses - before.misses, 8);
  EXPECT_EQ(after.hits - before.hits, 8);
}

TEST(TrendCacheTest, ErrorsAreReturnedAndNotRemembered) {
  const TrendCacheStats before = GetTrendCacheStats();
  for (int i = 0; i < 2; ++i) {
    auto bad = ServerTrend({5, 1}, {2, 2}, {0, 1});  // x > n
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  }
  const TrendCacheStats after = GetTrendCacheStats();
  EXPECT_EQ(after.misses - before.misses, 2);
  EXPECT_EQ(after.entries, before.entries);
}

// The decision from a given trend is the one the rule reaches computing it.
TEST(TrendCacheTest, RuleDecidesTheSameFromAGivenTrend) {
  const signal::SignalRule rule({});
  const std::vector<int64_t> x = {0, 2, 6}, n = {20, 20, 20};
  const std::vector<double> scores = {0, 1, 2};
  auto computed = rule.DoseTrend(x, n, scores);
  auto given = rule.DoseTrendFrom(x, n, *ServerTrend(x, n, scores));
  ASSERT_TRUE(computed.ok() && given.ok());
  EXPECT_EQ(given->p_value, computed->p_value);
  EXPECT_EQ(given->statistic, computed->statistic);
  EXPECT_EQ(given->crosses, computed->crosses);
  EXPECT_EQ(given->exact, computed->exact);
}

}  // namespace
}  // namespace aesignal::domain
