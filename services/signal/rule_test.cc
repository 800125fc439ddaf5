#include "services/signal/rule.h"

#include <cmath>

#include "gtest/gtest.h"
#include "services/signal/boundary.h"
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

TEST(SignalRuleTest, PlannedEnrollmentMakesTheBinomialTestARepeatedLookRule) {
  // 10 subjects planned, p0 = 0.1, alpha 0.05: the exact Pocock-type
  // boundary over a look at every enrolled subject (boundary.h), not the
  // fixed-n test at each n, whose repeated use would exceed alpha.
  RuleSettings settings;
  settings.bayesian = false;
  settings.boundary_subjects = 10;
  const SignalRule rule(settings);
  auto plan = CalibrateStoppingRule({.type = StoppingRuleType::kPocock,
                                     .p0 = 0.1,
                                     .max_subjects = 10,
                                     .alpha = 0.05});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_LE(plan->type_i_error(), 0.05);
  for (int n = 1; n <= 10; ++n) {
    for (int x = 0; x <= n; ++x) {
      auto d = rule.AgainstBaseline(x, n, {.p0 = 0.1});
      ASSERT_TRUE(d.ok()) << d.status();
      ASSERT_EQ(d->size(), 1u);
      const Decision& b = d->front();
      EXPECT_EQ(b.boundary, plan->MinEventsToStop(n)) << n;
      EXPECT_EQ(b.boundary_planned, 10);
      EXPECT_DOUBLE_EQ(b.threshold, plan->parameter());
      EXPECT_DOUBLE_EQ(b.boundary_overall_error, plan->type_i_error());
      EXPECT_EQ(b.crosses, x >= b.boundary && x >= 2) << x << "/" << n;
      // The boundary is the nominal-level rule: p <= level iff x >= b(n).
      EXPECT_EQ(b.p_value <= b.threshold, x >= b.boundary) << x << "/" << n;
    }
  }
  // Past the planned enrollment: the fixed test at alpha.
  auto late = rule.AgainstBaseline(3, 12, {.p0 = 0.1});
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->front().boundary, 0);
  EXPECT_DOUBLE_EQ(late->front().threshold, 0.05);
  // A plan that can never stop within alpha: nothing crosses.
  RuleSettings tiny = settings;
  tiny.boundary_subjects = 1;
  auto never = SignalRule(tiny).AgainstBaseline(1, 1, {.p0 = 0.5});
  ASSERT_TRUE(never.ok()) << never.status();
  EXPECT_FALSE(never->front().crosses);
  EXPECT_EQ(never->front().boundary, 2);
}

}  // namespace
}  // namespace aesignal::signal
