#include "services/signal/rule.h"

#include <cmath>

#include "gtest/gtest.h"
#include "services/signal/signal_stats.h"

namespace aesignal::signal {
namespace {

TEST(SignalRuleTest, AgainstABaselineWithItsSourceSample) {
  SignalRule rule({.alpha = 0.05, .posterior_threshold = 0.95});
  auto decisions = rule.AgainstBaseline(
      2, 3, {.p0 = 1.0 / 46, .source_events = 1, .source_subjects = 46});
  ASSERT_TRUE(decisions.ok()) << decisions.status();
  ASSERT_EQ(decisions->size(), 2u);  // binomial, Bayesian (MaxSPRT off)
  const Decision& binomial = (*decisions)[0];
  EXPECT_EQ(binomial.method, Method::kBinomialExact);
  const double p0 = 1.0 / 46;
  EXPECT_NEAR(binomial.p_value, 3 * p0 * p0 * (1 - p0) + p0 * p0 * p0, 1e-12);
  EXPECT_TRUE(binomial.crosses);
  EXPECT_NEAR(binomial.interval.lower, 0.094299, 1e-6);  // Clopper-Pearson
  const Decision& bayes = (*decisions)[1];
  EXPECT_EQ(bayes.method, Method::kBayesian);
  EXPECT_DOUBLE_EQ(bayes.prior_a, 0.5 * 1.5);  // w (x0 + 1/2)
  EXPECT_DOUBLE_EQ(bayes.prior_b, 0.5 * 45.5);
  EXPECT_NEAR(bayes.posterior, *PosteriorExceeds(2, 3, p0, 0.75, 22.75), 1e-15);
  EXPECT_TRUE(bayes.crosses);
}

TEST(SignalRuleTest, MinimumCasesGateEveryMethod) {
  SignalRule rule({.min_cases = 2, .planned_subjects = 6});
  auto decisions = rule.AgainstBaseline(1, 1, {.p0 = 0.001});
  ASSERT_TRUE(decisions.ok());
  ASSERT_EQ(decisions->size(), 3u);
  for (const Decision& d : *decisions) EXPECT_FALSE(d.crosses);
  auto control = rule.AgainstControl(1, 3, 0, 30);
  ASSERT_TRUE(control.ok());
  EXPECT_FALSE(control->crosses);
}

TEST(SignalRuleTest, MaxSprtUsesTheExactCriticalValue) {
  SignalRule rule({.min_cases = 1,
                   .binomial = false,
                   .bayesian = false,
                   .planned_subjects = 100});
  auto decisions = rule.AgainstBaseline(5, 20, {.p0 = 0.1});
  ASSERT_TRUE(decisions.ok());
  ASSERT_EQ(decisions->size(), 1u);
  const Decision& d = (*decisions)[0];
  EXPECT_EQ(d.method, Method::kMaxSprt);
  EXPECT_DOUBLE_EQ(d.expected, 2.0);           // 0.1 x 20 dosed
  EXPECT_DOUBLE_EQ(d.surveillance_end, 10.0);  // 0.1 x 100 planned
  EXPECT_NEAR(d.threshold, 3.467952, 1e-5);    // alpha 0.05, T 10, M 1
  EXPECT_NEAR(d.statistic, 2 - 5 + 5 * std::log(2.5), 1e-12);
  EXPECT_EQ(d.crosses, d.statistic >= d.threshold);
}

TEST(SignalRuleTest, InvalidInputIsAnErrorNotAnAbort) {
  SignalRule rule({});
  EXPECT_EQ(rule.AgainstBaseline(1, 3, {.p0 = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rule.AgainstBaseline(4, 3, {.p0 = 0.1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(
      rule.AgainstBaseline(
              1, 3, {.p0 = 0.1, .source_events = 5, .source_subjects = 2})
          .ok());
  EXPECT_FALSE(rule.DoseTrend({1, 2}, {3}, {1, 2}).ok());
  EXPECT_FALSE(rule.AgainstControl(4, 3, 0, 3).ok());
}

}  // namespace
}  // namespace aesignal::signal
