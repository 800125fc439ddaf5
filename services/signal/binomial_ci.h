// Exact confidence intervals for a binomial proportion.
//
// Pure functions: no I/O, no state; safe to call from any thread.
//
// Example:
//   absl::StatusOr<ProportionInterval> ci = ClopperPearson(2, 3, 0.95);
//   // ci->lower == 0.0942993, ci->upper == 0.9915962
#ifndef AESIGNAL_SERVICES_SIGNAL_BINOMIAL_CI_H_
#define AESIGNAL_SERVICES_SIGNAL_BINOMIAL_CI_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace aesignal::signal {

struct ProportionInterval {
  double estimate = 0;  // x / n
  double lower = 0;
  double upper = 0;
};

// Clopper-Pearson ("exact") two-sided interval for x successes of n at the
// given confidence level (e.g. 0.95):
//   [Beta^-1(alpha/2; x, n-x+1), Beta^-1(1-alpha/2; x+1, n-x)],
// with lower = 0 when x = 0 and upper = 1 when x = n. For n = 0 the interval
// is the uninformative [0, 1] with estimate 0.
// Errors: INVALID_ARGUMENT if x < 0, n < 0, x > n, or level not in (0, 1).
absl::StatusOr<ProportionInterval> ClopperPearson(int64_t x, int64_t n,
                                                  double level);

// Wilson score interval (the asymptotic interval R's prop.test gives without
// continuity correction): centre (x + z²/2)/(n + z²), half-width
// z √(x(n−x)/n + z²/4)/(n + z²), z = Φ⁻¹(1 − α/2). Offered as a labelled
// alternative; Clopper-Pearson is the default for safety tables.
// Errors as ClopperPearson.
absl::StatusOr<ProportionInterval> Wilson(int64_t x, int64_t n, double level);

}  // namespace aesignal::signal

#endif  // AESIGNAL_SERVICES_SIGNAL_BINOMIAL_CI_H_
