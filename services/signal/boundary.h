// Repeated-look stopping boundaries for safety monitoring against a baseline
// toxicity (adverse-event) rate p0, calibrated exactly: the families of the R
// package stoppingrule (Martens, Lian & Logan; Martens & Logan 2024, Clinical
// Trials 21(2):152-161), with the overall type I error computed by the exact
// recursion over the running event count instead of simulation.
//
// Subjects are evaluated one at a time or in cohorts; at each look n (of
// N = max_subjects) the rule stops (flags the AE) when the events so far
// reach the boundary b(n). A family is one statistic E(n, x), nondecreasing
// in the events x, and one parameter: a look stops when E passes the
// parameter. Calibration picks, among the boundaries of the family, the most
// liberal one whose exact probability of ever stopping under p0 is <= alpha
// (the boundaries are integers, so the attained error is a step function of
// the parameter and is usually below alpha: both are reported, with the
// error of the next, more liberal boundary, which exceeds alpha).
//
// Example (a server caching the boundary of a trial's plan):
//   auto rule = CalibrateStoppingRule({.type = StoppingRuleType::kPocock,
//                                      .p0 = 0.2, .max_subjects = 30,
//                                      .alpha = 0.1});
//   if (rule.ok() && rule->Stops(subjects, events)) { ... }
//
// Pure functions and immutable results: thread-safe. Errors are absl::Status
// (INVALID_ARGUMENT for invalid input), never exceptions. Every call is
// bounded: N <= kMaxStoppingRuleSubjects keeps a calibration to about a
// second at most.
#ifndef AESIGNAL_SERVICES_SIGNAL_BOUNDARY_H_
#define AESIGNAL_SERVICES_SIGNAL_BOUNDARY_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aesignal::signal {

namespace internal_boundary {
class Builder;
}  // namespace internal_boundary

// The families (stoppingrule's calc.rule.bin types "Pocock", "OBF", "WT",
// "BB"). With X_n ~ Binomial(n, p0) under the null:
enum class StoppingRuleType {
  // Stop at look n when P(X_n >= x) <= c: one nominal level c at every look
  // (Ivanova, Qaqish & Schell 2005). Parameter: c.
  kPocock,
  // Stop when z = (x - n p0) / sqrt(N p0 (1 - p0)) >= C: a boundary on the
  // standardised count (x - n p0) / sqrt(n p0 (1 - p0)) of C sqrt(N / n),
  // shrinking as information accrues (O'Brien & Fleming 1979). Parameter: C.
  kOBrienFleming,
  // Stop when z = (x - n p0) / [sqrt(n p0 (1 - p0)) (n / N)^(delta - 1/2)]
  // >= C (Wang & Tsiatis 1987; delta = 0 is O'Brien-Fleming's shape,
  // delta = 1/2 Pocock's on the normal scale). Parameter: C.
  kWangTsiatis,
  // Stop when the posterior P(p > p0 | x, n) > tau under a Beta(a, b) prior
  // (Geller et al. 2003). Parameter: tau.
  kBayesian,
};

// "pocock", "obf", "wt", "bayes".
const char* StoppingRuleTypeName(StoppingRuleType type);
// The inverse of StoppingRuleTypeName; INVALID_ARGUMENT otherwise.
absl::StatusOr<StoppingRuleType> ParseStoppingRuleType(absl::string_view name);

// The largest N: one error evaluation is O(N^1.5) (the running count's law
// is kept where it is above 1e-100, ~25 standard deviations wide) and a
// calibration takes 20 to 30, so N = 10^4 takes about half a second (up to
// a second for a Bayesian rule, whose posteriors cost an incomplete beta
// function each).
inline constexpr int kMaxStoppingRuleSubjects = 10'000;

struct StoppingRuleSpec {
  StoppingRuleType type = StoppingRuleType::kPocock;
  double p0 = 0;         // acceptable (baseline) rate, in (0, 1)
  int max_subjects = 0;  // N, in [1, kMaxStoppingRuleSubjects]
  // Looks at n = cohort, 2 cohort, ..., and always at N (a last, partial
  // cohort when cohort does not divide N). 1 = after every subject.
  int cohort = 1;
  double alpha = 0.05;  // overall type I error, in (0, 1) (calibration only)
  double delta = 0.25;  // kWangTsiatis only, in [0, 0.5]
  double prior_a = 1;   // kBayesian only: Beta(a, b), each in (0, 1e6]
  double prior_b = 1;
};

// One look of a boundary.
struct StoppingLook {
  int n = 0;           // subjects evaluated
  int min_events = 0;  // b(n); n + 1 when no count stops at this look
  // P(X_n >= b(n)) under p0: the look's nominal level (0 when none stops).
  double nominal = 0;
  // The family's statistic at b(n): the nominal level (Pocock), z (OBF, WT)
  // or the posterior (Bayesian); 0 when no count stops at this look.
  double statistic = 0;
  // P(stopped at this look or before | p0).
  double cumulative = 0;
};

// The law of the stopping time under a true rate p.
struct StoppingCharacteristics {
  double p = 0;
  double stop_probability = 0;     // P(stop at some look): power, or error
  double expected_subjects = 0;    // E[n at stopping], N when never stopped
  double expected_events = 0;      // E[events at stopping (or at N)]
  std::vector<double> cumulative;  // per look, P(stopped by that look)
};

// Present for a calibrated rule.
struct StoppingCalibration {
  double alpha = 0;
  // The parameters giving the same boundary: Pocock c in [parameter,
  // parameter_limit); OBF and WT C in (parameter_limit, parameter]; Bayesian
  // tau in [parameter, parameter_limit). At c = parameter_limit (Pocock),
  // C = parameter_limit (OBF, WT), or any tau < parameter (Bayesian), the
  // boundary is the next more liberal one, whose error exceeds alpha.
  double parameter_limit = 0;
  double next_type_i_error = 0;
  std::vector<int> next_min_events;  // that boundary, per look
};

class StoppingRule {
 public:
  const StoppingRuleSpec& spec() const { return spec_; }
  const std::vector<StoppingLook>& looks() const { return looks_; }

  // b(n): the rule stops at n subjects with `events` >= b(n). n + 1 (no
  // count of n subjects stops) when n is not a look: n < 1, n > N, or
  // between cohorts.
  int MinEventsToStop(int n) const;
  bool Stops(int n, int events) const { return events >= MinEventsToStop(n); }
  // b(1), ..., b(N) as MinEventsToStop: what a server caches.
  std::vector<int> Boundary() const;

  // The parameter that gives this boundary (see StoppingRuleType; for a
  // calibrated rule, the closed end of StoppingCalibration's range).
  double parameter() const { return parameter_; }
  // Exact P(ever stopping | p0).
  double type_i_error() const { return null_.stop_probability; }
  const StoppingCharacteristics& under_null() const { return null_; }
  const std::optional<StoppingCalibration>& calibration() const {
    return calibration_;
  }

  // The exact law of stopping under a true rate p in (0, 1).
  absl::StatusOr<StoppingCharacteristics> Characteristics(double p) const;

 private:
  friend class internal_boundary::Builder;
  StoppingRule() = default;

  StoppingRuleSpec spec_;
  std::vector<StoppingLook> looks_;
  double parameter_ = 0;
  StoppingCharacteristics null_;
  std::optional<StoppingCalibration> calibration_;
};

// The most liberal boundary of spec.type's family with exact overall error
// <= spec.alpha under p0. INVALID_ARGUMENT for a spec outside its bounds, and
// when no boundary of the family that can stop at all keeps the error <=
// alpha (e.g. p0^N > alpha: even N events of N would be too likely).
absl::StatusOr<StoppingRule> CalibrateStoppingRule(
    const StoppingRuleSpec& spec);

// The boundary at a given parameter (spec.alpha unused): a protocol's fixed
// rule with its exact error. Parameter: Pocock c and Bayesian tau in (0, 1);
// OBF and WT C with |C| <= 1000.
absl::StatusOr<StoppingRule> EvaluateStoppingRule(const StoppingRuleSpec& spec,
                                                  double parameter);

// The looks of a plan: cohort, 2 cohort, ..., and N.
std::vector<int> StoppingLooks(int max_subjects, int cohort);

// The exact law of stopping for any boundary: looks n_1 < ... < n_K (in
// [1, kMaxStoppingRuleSubjects]), min_events[k] in [0, n_k + 1], true rate
// p in (0, 1). The recursion over the count among paths not yet stopped.
absl::StatusOr<StoppingCharacteristics> BoundaryCharacteristics(
    const std::vector<int>& looks, const std::vector<int>& min_events,
    double p);

}  // namespace aesignal::signal

#endif  // AESIGNAL_SERVICES_SIGNAL_BOUNDARY_H_
