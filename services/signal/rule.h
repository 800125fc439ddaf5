// SignalRule: the decision rules of the signal policy as pure numbers in,
// decisions out. The server feeds it a cell's counts (and a baseline or a
// comparison) and stores the returned evidence; it does no statistics itself.
//
// Example:
//   SignalRule rule({.alpha = 0.05, .posterior_threshold = 0.95});
//   auto decisions = rule.AgainstBaseline(2, 3, {.p0 = 0.0217,
//                                                .source_events = 1,
//                                                .source_subjects = 46});
//   // binomial: p = 0.0014, crosses; Bayesian: posterior 0.97, crosses
//
// Thread-safe (const); critical values are cached process-wide.
#ifndef AESIGNAL_SERVICES_SIGNAL_RULE_H_
#define AESIGNAL_SERVICES_SIGNAL_RULE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "services/signal/binomial_ci.h"
#include "services/signal/signal_stats.h"

namespace aesignal::signal {

enum class Method {
  kBinomialExact,  // one-sided exact binomial test against p0
  kBayesian,       // beta-binomial posterior P(p > p0 | data)
  kMaxSprt,        // Poisson MaxSPRT, exact critical value
  kControlFisher,  // one-sided Fisher exact against the control arm
  kDoseTrend,      // Cochran-Armitage across ordered groups (exact)
  kOverTime,       // a window against the earlier windows (rate test)
};

// An expected incidence p0, optionally with the sample it came from.
struct Baseline {
  double p0 = 0;
  int64_t source_events = 0;
  int64_t source_subjects = 0;
};

struct RuleSettings {
  double alpha = 0.05;
  double posterior_threshold = 0.95;
  // Weight of the baseline's source sample in the prior.
  double prior_weight = 0.5;
  int64_t min_cases = 2;
  bool binomial = true;
  bool bayesian = true;
  // MaxSPRT runs when planned_subjects > 0: the end of surveillance is
  // T = p0 x planned_subjects expected cases.
  int64_t planned_subjects = 0;
  // The binomial test is a repeated-look rule when > 0: the exact
  // Pocock-type boundary (boundary.h) over looks at every subject up to
  // this planned enrollment (at most kMaxStoppingRuleSubjects, else unused),
  // calibrated at alpha; at larger n the fixed test.
  int64_t boundary_subjects = 0;
  double confidence_level = 0.95;
};

struct Decision {
  Method method = Method::kBinomialExact;
  bool crosses = false;
  double statistic = 0;  // x, Z, or the LLR
  double p_value = 1;    // tests (1 when not applicable)
  double posterior = 0;  // Bayesian
  double threshold = 0;  // alpha, the posterior threshold, or the MaxSPRT CV
  int64_t subjects = 0;  // the cell: x of n
  int64_t denominator = 0;
  ProportionInterval interval;  // Clopper-Pearson at confidence_level
  double expected = 0;  // p0, expected cases (MaxSPRT), or E/(E + E_before)
  double prior_a = 0, prior_b = 0;  // Bayesian prior
  double surveillance_end = 0;      // MaxSPRT T
  int64_t comparison_subjects = 0;  // control arm / earlier windows
  int64_t comparison_denominator = 0;
  bool exact = true;  // false for the asymptotic trend test
  // The binomial test as a repeated-look rule (boundary_subjects > 0): the
  // boundary b(n) (crosses iff subjects >= boundary, i.e. p <= threshold,
  // the rule's nominal level) and the rule's exact overall error.
  int64_t boundary = 0;
  int64_t boundary_planned = 0;
  double boundary_overall_error = 0;
};

class SignalRule {
 public:
  explicit SignalRule(RuleSettings settings) : settings_(settings) {}

  const RuleSettings& settings() const { return settings_; }

  // x of n against a baseline: the enabled baseline methods, in the order
  // binomial, MaxSPRT, Bayesian. INVALID_ARGUMENT for x > n, p0 outside
  // (0, 1), or a source sample with events > subjects.
  absl::StatusOr<std::vector<Decision>> AgainstBaseline(
      int64_t x, int64_t n, const Baseline& baseline) const;
  // x of n against the control arm's xc of nc.
  absl::StatusOr<Decision> AgainstControl(int64_t x, int64_t n, int64_t xc,
                                          int64_t nc) const;
  // Subjects x[i] of n[i] in ordered groups with the given scores.
  absl::StatusOr<Decision> DoseTrend(const std::vector<int64_t>& x,
                                     const std::vector<int64_t>& n,
                                     const std::vector<double>& scores) const;
  // The same decision from `trend`, the caller's CochranArmitage of (x, n)
  // with ServerTrendOptions() (e.g. a memoized one).
  absl::StatusOr<Decision> DoseTrendFrom(const std::vector<int64_t>& x,
                                         const std::vector<int64_t>& n,
                                         const TrendResult& trend) const;
  // A window against the earlier windows pooled, as rates per subject-day
  // at risk (windows differ in length: a year-long window is expected to
  // hold four times the onsets of a 3-month one): given the x + x_before
  // onsets, the exact conditional test of two Poisson rates, p = P(X >= x),
  // X ~ Bin(x + x_before, E / (E + E_before)) for the exposures E.
  // INVALID_ARGUMENT unless both exposures are positive and finite.
  struct WindowCount {
    int64_t subjects = 0;  // subjects with an onset in the window(s)
    int64_t at_risk = 0;   // subject-windows at risk
    double exposure = 0;   // subject-days at risk
  };
  absl::StatusOr<Decision> OverTime(const WindowCount& window,
                                    const WindowCount& before) const;

  // The prior the Bayesian rule uses for `baseline`: Beta(w(x0 + 1/2),
  // w(n0 - x0 + 1/2)) with a source sample, else Beta(p0, 1 - p0).
  std::pair<double, double> Prior(const Baseline& baseline) const;

 private:
  RuleSettings settings_;
};

const char* MethodName(Method method);

// The exact trend test's budget in the server's evaluations (DoseTrend, and
// whatever else evaluates trends per row and round): milliseconds and a few
// MB per test; beyond it the p is the asymptotic one, labelled.
TrendOptions ServerTrendOptions();

}  // namespace aesignal::signal

#endif  // AESIGNAL_SERVICES_SIGNAL_RULE_H_
