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

// P(p > p0 | x of n) under a Beta(a, b) prior (posterior Beta(a+x, b+n-x)).
absl::StatusOr<double> PosteriorExceeds(int64_t x, int64_t n, double p0,
                                        double a, double b);

// One-sided Fisher exact p-value that group 1 (x1 of n1) has a higher
// proportion than group 0 (x0 of n0): P(X >= x1) under the hypergeometric
// law given the margins.
absl::StatusOr<double> FisherGreater(int64_t x1, int64_t n1, int64_t x0,
                                     int64_t n0);

struct TrendResult {
  double z = 0;        // Cochran-Armitage statistic
  double p = 1;        // one-sided p-value for an increasing trend
  bool exact = false;  // conditional exact (permutation) or asymptotic
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
