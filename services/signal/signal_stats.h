// Exact tests, sequential monitoring and multiplicity for safety signals:
// the statistics the server's evaluator calls. Implemented on Boost.Math and
// the standard library; no I/O. Pure functions; thread-safe. Errors are
// absl::Status (INVALID_ARGUMENT for invalid input), never exceptions.
#ifndef AESIGNAL_SERVICES_SIGNAL_SIGNAL_STATS_H_
#define AESIGNAL_SERVICES_SIGNAL_SIGNAL_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace aesignal::signal {

// P(X >= x) for X ~ Binomial(n, p0): the one-sided exact binomial p-value.
// INVALID_ARGUMENT unless 0 <= x <= n <= 10^12 and 0 < p0 < 1.
absl::StatusOr<double> BinomialUpperTail(int64_t x, int64_t n, double p0);

// Mid-p version: P(X > x) + P(X = x) / 2, P(X = x) by Loader's saddle point.
absl::StatusOr<double> BinomialMidP(int64_t x, int64_t n, double p0);

// Subject incidence rate per 100 patient-years with the exact Poisson
// interval [χ²(α/2; 2k)/2, χ²(1−α/2; 2k+2)/2] / PY × 100 (lower 0 when k = 0).
// EAIR: k = subjects with the event, PY = exposure censored at first event;
// EAER (event rate): k = all events, PY = total exposure. INVALID_ARGUMENT
// outside 0 <= k <= 1e9, 1e-6 <= PY <= 1e12, level in (0, 1).
struct RateInterval {
  double rate = 0;  // per 100 patient-years
  double lower = 0;
  double upper = 0;
};
absl::StatusOr<RateInterval> PoissonRate(int64_t events, double patient_years,
                                         double level);

// The stopping boundary a Bayesian rule implies: for each n = 1..nmax the
// smallest x with P(p > p0 | x, n) > threshold under Beta(a, b), or -1 when no
// x <= n flags.
struct BoundaryRow {
  int64_t n = 0;
  int64_t min_x = -1;
  double posterior = 0;  // at min_x (0 if none)
};
absl::StatusOr<std::vector<BoundaryRow>> PosteriorBoundary(double p0,
                                                           int64_t nmax,
                                                           double threshold,
                                                           double a, double b);

// P(p > p0 | x of n) under a Beta(a, b) prior (posterior Beta(a+x, b+n-x)).
absl::StatusOr<double> PosteriorExceeds(int64_t x, int64_t n, double p0,
                                        double a, double b);

// One-sided Fisher exact p-value that group 1 (x1 of n1) has a higher
// proportion than group 0 (x0 of n0): P(X >= x1) under the hypergeometric
// law given the margins. Same as FisherExact(..., Alternative::kGreater).
absl::StatusOr<double> FisherGreater(int64_t x1, int64_t n1, int64_t x0,
                                     int64_t n0);

// The direction of a two-group comparison of group 1 against group 0.
enum class Alternative {
  kGreater,   // group 1 higher: P(X >= x1)
  kLess,      // group 1 lower: P(X <= x1)
  kTwoSided,  // R's fisher.test convention, see FisherExact
};
// "greater", "less" or "two.sided" (R's spelling).
const char* AlternativeName(Alternative alternative);

// Fisher's exact test of x1 of n1 against x0 of n0, X ~ hypergeometric given
// the margins. Two-sided as R's fisher.test: the sum of P(X = k) over the
// tables with P(X = k) <= P(X = x1) (1 + 1e-7), the relative tolerance
// keeping tables of equal probability together despite rounding. Counts up
// to kMaxCount (10^12); INVALID_ARGUMENT unless 0 <= x <= n <= 10^12.
absl::StatusOr<double> FisherExact(int64_t x1, int64_t n1, int64_t x0,
                                   int64_t n0, Alternative alternative);

// Risk difference p1 − p0 with Newcombe's hybrid score interval (method 10,
// from the two Wilson intervals).
struct DifferenceInterval {
  double difference = 0;
  double lower = 0;
  double upper = 0;
};
absl::StatusOr<DifferenceInterval> NewcombeDifference(int64_t x1, int64_t n1,
                                                      int64_t x0, int64_t n0,
                                                      double level);

// Risk difference p1 − p0 with the Miettinen–Nurminen score interval: the
// δ with |p̂1 − p̂0 − δ| / √V(δ) <= z(1 − α/2), where V(δ) = [p̃1(1 − p̃1)/n1 +
// p̃0(1 − p̃0)/n0] N/(N − 1) at the maximum-likelihood p̃0, p̃1 = p̃0 + δ
// restricted to the difference δ, N = n1 + n0 (Miettinen & Nurminen 1985).
// INVALID_ARGUMENT unless 0 <= x <= n, 1 <= n <= 10^12, level in (0, 1).
absl::StatusOr<DifferenceInterval> MiettinenNurminenDifference(
    int64_t x1, int64_t n1, int64_t x0, int64_t n0, double level);

// Relative risk p1 / p0 with the Miettinen–Nurminen score interval (the
// Koopman 1984 score interval with the variance factor N/(N − 1)): the φ with
// |p̂1 − φ p̂0| / √V(φ) <= z(1 − α/2), V(φ) = [p̃1(1 − p̃1)/n1 +
// φ² p̃0(1 − p̃0)/n0] N/(N − 1) at the MLE restricted to p̃1 = φ p̃0. Zero
// cells need no correction: x1 = 0 gives lower = 0; x0 = 0 gives an
// unbounded upper limit (and an infinite ratio when x1 > 0, an undefined
// one when x1 = 0 too), flagged rather than stored as infinity.
struct RatioInterval {
  double ratio = 1;  // p̂1 / p̂0, when ratio_finite
  double lower = 0;
  double upper = 0;              // when !upper_infinite
  bool ratio_finite = true;      // false iff x0 = 0
  bool ratio_undefined = false;  // x1 = x0 = 0: 0/0
  bool upper_infinite = false;   // x0 = 0: the interval is [lower, ∞)
};
absl::StatusOr<RatioInterval> MiettinenNurminenRatio(int64_t x1, int64_t n1,
                                                     int64_t x0, int64_t n0,
                                                     double level);

// Cochran–Armitage test for a proportion changing with ordered `scores`:
// x[i] subjects with the event of n[i] in group i. The statistic is
// T = Σ s_i x_i, reported standardised as Z (R's prop.trend.test gives Z²).
struct TrendResult {
  double z = 0;  // Cochran-Armitage statistic
  double p = 1;  // one-sided p-value for an increasing trend
  // p (and p_two_sided) are the exact conditional p-values, from the law of
  // T given the total number of events (multivariate hypergeometric); false
  // only when that law exceeds TrendOptions' budget (see `note`).
  bool exact = false;
  double p_asymptotic = 1;  // 1 - Phi(z), always
  // Two-sided, coin's convention: P(|T − E T| >= |t − E T|) (exact when
  // `exact`); computed only with TrendOptions::two_sided, else 1.
  double p_two_sided = 1;
  double p_asymptotic_two_sided = 1;  // 2 (1 - Phi(|z|)), always
  // No events, every subject with the event, or one score for every group
  // with subjects: T is a constant, no trend is testable, p = 1 (exact).
  bool degenerate = false;
  // The scores are no lattice (no common denominator <= 1000 of their
  // differences relative to their range, to 1e-9): the exact law is that of
  // the scores rounded to 2^-40 of their range, with score sums within
  // (events) grid units of the observed one counted as ties.
  bool scores_rounded = false;
  std::string note;  // why degenerate, or why not exact; empty otherwise
};

struct TrendOptions {
  bool two_sided = false;
  // Bounds on the exact computation: operations (one per probability mass
  // moved, per pass) and live probability cells (~24 bytes each). Beyond
  // either the p-values are the asymptotic ones, with `exact` false and the
  // reason in `note`. The defaults cost at most a few seconds and ~500 MB.
  double max_work = 3e9;
  int64_t max_cells = 20'000'000;
};

// Exact for every trial the budget admits (every trial of a few thousand
// subjects; docs/statistics.md has timings): a dynamic program over the
// groups on (events so far, score sum), pruned where the outcome is already
// decided, with negligible mass dropped only under a certified bound (the
// p-value carries a relative error below 1e-10). INVALID_ARGUMENT for sizes
// that differ or < 2, x outside [0, n], n > 10^12, or a non-finite score.
absl::StatusOr<TrendResult> CochranArmitage(const std::vector<int64_t>& x,
                                            const std::vector<int64_t>& n,
                                            const std::vector<double>& scores,
                                            const TrendOptions& options);

// CochranArmitage with the default options (one-sided): what the signal rule
// calls.
absl::StatusOr<TrendResult> CochranArmitageIncreasing(
    const std::vector<int64_t>& x, const std::vector<int64_t>& n,
    const std::vector<double>& scores);

// Poisson MaxSPRT (Kulldorff et al. 2011, Sequential Analysis 30:58-78).
// Log-likelihood ratio of c observed events against mu expected:
// (mu - c) + c ln(c / mu) if c > mu, else 0.
double PoissonLlr(double c, double mu);

// The exact critical value: the CV whose probability, under H0, of the LLR
// reaching it before the expected count reaches `surveillance_end` (T),
// counting only looks with at least `min_events` (M) events, equals `alpha`.
// Computed by the exact recursion over event counts (no simulation) and
// bisection to 1e-10. Published check: alpha 0.05, T 10, M 1 -> 3.467952.
// INVALID_ARGUMENT outside 0 < T <= 1e5, 1 <= M <= 1e5 (every call stays
// finite). When P(at least M events by T) is below alpha, however small,
// no CV's error can exceed alpha and the search's floor (1e-9 plus its last
// step, 1.0291e-9) is returned: signal at any excess once M events occur.
absl::StatusOr<double> MaxSprtCriticalValue(double alpha,
                                            double surveillance_end,
                                            int min_events);
// The largest end of surveillance T (and M, and CV) MaxSprtCriticalValue
// and MaxSprtAlpha take.
inline constexpr double kMaxSprtBound = 1e5;
// The exact probability under H0 of a signal by T at critical value `cv`.
absl::StatusOr<double> MaxSprtAlpha(double cv, double surveillance_end,
                                    int min_events);

// Binomial MaxSPRT (Kulldorff et al. 2011, matched design): each event is a
// case with probability 1/(1+z) under H0 (z controls per case). LLR of c
// cases among n events: c ln(c(1+z)/n) + (n−c) ln((n−c)(1+z)/(n z)) when
// c/n > 1/(1+z), else 0. The exact critical value for alpha, the end of
// surveillance at `max_events` events and at least `min_cases` cases, by
// recursion over n and bisection. INVALID_ARGUMENT outside 1 <= N <= 5000
// (O(N^2) per error evaluation), 0 < z <= 1e5, and for a plan that can never
// signal (e.g. M > N).
double BinomialLlr(int64_t cases, int64_t events, double z);
absl::StatusOr<double> BinomialMaxSprtAlpha(double cv, int64_t max_events,
                                            int min_cases, double z);
absl::StatusOr<double> BinomialMaxSprtCriticalValue(double alpha,
                                                    int64_t max_events,
                                                    int min_cases, double z);

// Bernoulli CUSUM (Steiner et al.): S_n = max(0, S_{n−1} + y_n ln(OR) −
// ln(1 − p0 + OR p0)), signalling the first time S_n > h.
struct CusumResult {
  std::vector<double> path;  // S_1..S_n
  int64_t signal_at = -1;    // 1-based index of the first S_n > h, or -1
};
absl::StatusOr<CusumResult> BernoulliCusum(const std::vector<int>& outcomes,
                                           double p0, double odds_ratio,
                                           double h);

// Benjamini-Hochberg adjusted p-values (same order as `p`).
std::vector<double> BenjaminiHochberg(const std::vector<double>& p);

// The double FDR of Mehrotra & Adewale (2012), as R's c212.DFDR implements
// it, at level q. Step 1: within each SOC the Benjamini-Hochberg adjusted
// p-values; a SOC's representative is their minimum; BH across the SOCs'
// representatives; the SOCs whose adjusted representative is <= q are
// flagged. Step 2: the PTs of all flagged SOCs are pooled into one family
// and BH is applied to it. A PT is flagged iff its SOC is flagged and it is
// rejected in the pooled family at q. `soc[i]` names the SOC of p[i].
//
// The pooled family depends on q, so the result is defined at one level:
// `adjusted[i]` = max(the SOC's adjusted representative, the PT's BH
// adjusted p within the pooled family; only the former outside it), and a
// PT is flagged at q iff adjusted[i] <= q.
struct DoubleFdrResult {
  std::vector<double> soc_adjusted;  // step 1, per PT (its SOC's value)
  std::vector<double> adjusted;      // max(step 1, step 2), per PT
  std::vector<bool> flagged;         // adjusted <= q
};
absl::StatusOr<DoubleFdrResult> DoubleFdr(const std::vector<std::string>& soc,
                                          const std::vector<double>& p,
                                          double q);

}  // namespace aesignal::signal

#endif  // AESIGNAL_SERVICES_SIGNAL_SIGNAL_STATS_H_
