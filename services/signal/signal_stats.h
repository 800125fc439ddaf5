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
absl::StatusOr<double> BinomialUpperTail(int64_t x, int64_t n, double p0);

// Mid-p version: P(X > x) + P(X = x) / 2.
absl::StatusOr<double> BinomialMidP(int64_t x, int64_t n, double p0);

// Subject incidence rate per 100 patient-years with the exact Poisson
// interval [χ²(α/2; 2k)/2, χ²(1−α/2; 2k+2)/2] / PY × 100 (lower 0 when k = 0).
// EAIR: k = subjects with the event, PY = exposure censored at first event;
// EAER (event rate): k = all events, PY = total exposure.
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
// law given the margins.
absl::StatusOr<double> FisherGreater(int64_t x1, int64_t n1, int64_t x0,
                                     int64_t n0);

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

struct TrendResult {
  double z = 0;        // Cochran-Armitage statistic
  double p = 1;        // one-sided p-value for an increasing trend
  bool exact = false;  // p is conditional exact (permutation) or asymptotic
  double p_asymptotic = 1;  // 1 - Phi(z), always
};
// Cochran-Armitage test for a proportion increasing with `scores`. Exact
// (conditional on the total, by enumeration) when the enumeration is small
// enough, else asymptotic (normal).
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
absl::StatusOr<double> MaxSprtCriticalValue(double alpha,
                                            double surveillance_end,
                                            int min_events);
// The exact probability under H0 of a signal by T at critical value `cv`.
absl::StatusOr<double> MaxSprtAlpha(double cv, double surveillance_end,
                                    int min_events);

// Binomial MaxSPRT (Kulldorff et al. 2011, matched design): each event is a
// case with probability 1/(1+z) under H0 (z controls per case). LLR of c
// cases among n events: c ln(c(1+z)/n) + (n−c) ln((n−c)(1+z)/(n z)) when
// c/n > 1/(1+z), else 0. The exact critical value for alpha, the end of
// surveillance at `max_events` events and at least `min_cases` cases, by
// recursion over n and bisection.
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

// Double FDR (Mehrotra & Heyse 2004): BH within each SOC, the minimum
// adjusted p per SOC, BH across SOCs; a PT's combined adjusted p is
// max(its SOC's across-SOC adjusted p, its within-SOC adjusted p), so it is
// flagged at level q iff its SOC is flagged at q and it is flagged within
// its SOC at q. `soc[i]` names the SOC of p[i].
absl::StatusOr<std::vector<double>> DoubleFdr(
    const std::vector<std::string>& soc, const std::vector<double>& p);

}  // namespace aesignal::signal

#endif  // AESIGNAL_SERVICES_SIGNAL_SIGNAL_STATS_H_
