#include "services/signal/binomial_ci.h"

#include <cmath>

#include "gtest/gtest.h"

namespace aesignal::signal {
namespace {

// Closed forms at the edges: x = 0 gives upper = 1 - (alpha/2)^(1/n) and
// x = n gives lower = (alpha/2)^(1/n); they check ibeta_inv independently.
TEST(ClopperPearsonTest, EdgesMatchClosedForm) {
  for (int n : {1, 3, 6, 40, 1000000}) {
    auto zero = ClopperPearson(0, n, 0.95);
    ASSERT_TRUE(zero.ok());
    EXPECT_EQ(zero->lower, 0.0);
    EXPECT_NEAR(zero->upper, 1 - std::pow(0.025, 1.0 / n), 1e-12);
    auto all = ClopperPearson(n, n, 0.95);
    ASSERT_TRUE(all.ok());
    EXPECT_NEAR(all->lower, std::pow(0.025, 1.0 / n), 1e-12);
    EXPECT_EQ(all->upper, 1.0);
  }
}

// R 4.2: binom.test(x, n)$conf.int
TEST(ClopperPearsonTest, MatchesR) {
  struct Case {
    int x, n;
    double lo, hi;
  } cases[] = {
      {1, 3, 0.008403759, 0.905700675},
      {2, 3, 0.094299324, 0.991596241},
      {5, 6, 0.358765346, 0.995789324},
      {3, 10, 0.066739, 0.652453},
  };
  for (const Case& c : cases) {
    auto ci = ClopperPearson(c.x, c.n, 0.95);
    ASSERT_TRUE(ci.ok());
    EXPECT_NEAR(ci->lower, c.lo, 1e-6) << c.x << "/" << c.n;
    EXPECT_NEAR(ci->upper, c.hi, 1e-6) << c.x << "/" << c.n;
    EXPECT_DOUBLE_EQ(ci->estimate, double(c.x) / c.n);
  }
}

TEST(ClopperPearsonTest, RejectsInvalidInput) {
  EXPECT_FALSE(ClopperPearson(4, 3, 0.95).ok());
  EXPECT_FALSE(ClopperPearson(-1, 3, 0.95).ok());
  EXPECT_FALSE(ClopperPearson(1, 3, 1.0).ok());
  EXPECT_FALSE(ClopperPearson(1, 3, 0.0).ok());
  EXPECT_FALSE(ClopperPearson(1, 3, std::nan("")).ok());
}

TEST(ClopperPearsonTest, EmptyGroupIsUninformative) {
  auto ci = ClopperPearson(0, 0, 0.95);
  ASSERT_TRUE(ci.ok());
  EXPECT_EQ(ci->lower, 0.0);
  EXPECT_EQ(ci->upper, 1.0);
}

}  // namespace
}  // namespace aesignal::signal
