// Two-group comparisons: Fisher's exact test in its three directions and the
// Miettinen–Nurminen score intervals for the risk difference and the risk
// ratio (declared in signal_stats.h).
#include <algorithm>
#include <cmath>
#include <functional>

#include "absl/strings/str_cat.h"
#include "boost/math/distributions/normal.hpp"
#include "services/signal/distributions.h"
#include "services/signal/signal_stats.h"

namespace aesignal::signal {
namespace {

absl::Status CheckCounts(const char* what, int64_t x1, int64_t n1, int64_t x0,
                         int64_t n0, int64_t min_n) {
  if (x1 < 0 || x0 < 0 || x1 > n1 || x0 > n0 || n1 < min_n || n0 < min_n ||
      n1 > kMaxCount || n0 > kMaxCount) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": need 0 <= x <= n per group, ", min_n,
                     " <= n <= 1e12; got ", x1, "/", n1, " and ", x0, "/", n0));
  }
  return absl::OkStatus();
}

// The largest k in [from, to] with f(k) true, f true on a prefix; from - 1
// if none.
int64_t LastTrue(int64_t from, int64_t to,
                 const std::function<bool(int64_t)>& f) {
  int64_t lo = from - 1, hi = to;  // f(lo) true (or lo outside), answer in
  while (lo < hi) {                // [lo, hi]
    const int64_t mid = lo + (hi - lo + 1) / 2;
    if (f(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

// R's fisher.test two-sided p: the tables no more probable than the observed
// one (relative tolerance 1e-7) lie in [lo, a] and [b, hi] of a unimodal
// law, a below the mode and b above; each tail is summed outwards.
double FisherTwoSided(const Hypergeometric& h, int64_t x1) {
  const double limit = h.LogPmf(x1) + std::log1p(1e-7);
  if (h.LogPmf(h.mode()) <= limit) return 1;  // the observed is the mode
  const int64_t a = LastTrue(h.lo(), h.mode(),
                             [&](int64_t k) { return h.LogPmf(k) <= limit; });
  // On [mode, hi] the qualifying tables are a suffix: search its complement.
  const int64_t b = 1 + LastTrue(h.mode(), h.hi(), [&](int64_t k) {
                      return h.LogPmf(k) > limit;
                    });
  double p = 0;
  if (a >= h.lo()) p += h.LowerTail(a);
  if (b <= h.hi()) p += h.UpperTail(b);
  return std::min(1.0, p);
}

// z(1 − α/2) for a confidence level in (0, 1), from the upper tail so that
// levels near 1 keep their digits.
double NormalQuantileFor(double level) {
  return boost::math::quantile(boost::math::complement(
      boost::math::normal_distribution<double>(), (1 - level) / 2));
}

// The root of a decreasing function g on the open interval (lo, hi) (g > 0
// near lo, < 0 near hi) by bisection to the last bit; lo or hi when g keeps
// its sign. Never evaluates g at the ends, where likelihood terms blow up.
double DecreasingRoot(double lo, double hi,
                      const std::function<double(double)>& g) {
  for (int i = 0; i < 200; ++i) {
    const double mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    (g(mid) > 0 ? lo : hi) = mid;
  }
  return lo + (hi - lo) / 2;
}

// Observed counts as doubles, with the MN variance factor N / (N − 1).
struct Counts {
  double x1, n1, x0, n0, factor;
  Counts(int64_t a, int64_t b, int64_t c, int64_t d)
      : x1(a), n1(b), x0(c), n0(d), factor((n1 + n0) / (n1 + n0 - 1)) {}
};

// The MLE of p0 under p1 = p0 + δ: the root of the log-likelihood's
// derivative (decreasing: the log-likelihood is concave) on the admissible
// interval, or its end when the maximum is on the boundary.
double RestrictedP0ForDifference(const Counts& c, double delta) {
  const double lo = std::max(0.0, -delta), hi = std::min(1.0, 1 - delta);
  return DecreasingRoot(lo, hi, [&](double p0) {
    const double p1 = p0 + delta;
    return (c.x1 > 0 ? c.x1 / p1 : 0) -
           (c.n1 - c.x1 > 0 ? (c.n1 - c.x1) / (1 - p1) : 0) +
           (c.x0 > 0 ? c.x0 / p0 : 0) -
           (c.n0 - c.x0 > 0 ? (c.n0 - c.x0) / (1 - p0) : 0);
  });
}

// The MN score statistic for the difference δ (decreasing in δ).
double DifferenceScore(const Counts& c, double delta) {
  const double p0 = RestrictedP0ForDifference(c, delta), p1 = p0 + delta;
  const double v = (p1 * (1 - p1) / c.n1 + p0 * (1 - p0) / c.n0) * c.factor;
  const double num = c.x1 / c.n1 - c.x0 / c.n0 - delta;
  if (num == 0) return 0;
  return v > 0 ? num / std::sqrt(v) : std::copysign(HUGE_VAL, num);
}

// The MLE of p0 under p1 = φ p0, p0 in (0, min(1, 1/φ)).
double RestrictedP0ForRatio(const Counts& c, double phi) {
  const double hi = std::min(1.0, 1 / phi);
  return DecreasingRoot(0, hi, [&](double p0) {
    return (c.x1 + c.x0) / p0 -
           (c.n1 - c.x1 > 0 ? phi * (c.n1 - c.x1) / (1 - phi * p0) : 0) -
           (c.n0 - c.x0 > 0 ? (c.n0 - c.x0) / (1 - p0) : 0);
  });
}

// The MN score statistic for the ratio φ (decreasing in φ).
double RatioScore(const Counts& c, double phi) {
  const double p0 = RestrictedP0ForRatio(c, phi), p1 = phi * p0;
  const double v =
      (p1 * (1 - p1) / c.n1 + phi * phi * p0 * (1 - p0) / c.n0) * c.factor;
  const double num = c.x1 / c.n1 - phi * c.x0 / c.n0;
  if (num == 0) return 0;
  return v > 0 ? num / std::sqrt(v) : std::copysign(HUGE_VAL, num);
}

// The log φ where the ratio score crosses `target`, bracketed by doubling
// steps out from `centre` (|log φ| <= 700 keeps φ and 1/φ finite).
double RatioRoot(const Counts& c, double centre, double target) {
  auto g = [&](double log_phi) {
    return RatioScore(c, std::exp(log_phi)) - target;
  };
  double lo = centre, hi = centre;
  for (double step = 1; g(lo) <= 0 && lo > -700; step *= 2) lo -= step;
  for (double step = 1; g(hi) >= 0 && hi < 700; step *= 2) hi += step;
  return DecreasingRoot(std::max(lo, -700.0), std::min(hi, 700.0), g);
}

}  // namespace

const char* AlternativeName(Alternative alternative) {
  switch (alternative) {
    case Alternative::kGreater:
      return "greater";
    case Alternative::kLess:
      return "less";
    case Alternative::kTwoSided:
      return "two.sided";
  }
  return "?";
}

absl::StatusOr<double> FisherExact(int64_t x1, int64_t n1, int64_t x0,
                                   int64_t n0, Alternative alternative) {
  if (auto s = CheckCounts("Fisher", x1, n1, x0, n0, 0); !s.ok()) return s;
  // X, group 1's share of the x1 + x0 events, is hypergeometric.
  const Hypergeometric h(x1 + x0, n1, n1 + n0);
  switch (alternative) {
    case Alternative::kGreater:
      return h.UpperTail(x1);
    case Alternative::kLess:
      return h.LowerTail(x1);
    case Alternative::kTwoSided:
      return FisherTwoSided(h, x1);
  }
  return absl::InvalidArgumentError("Fisher: unknown alternative");
}

absl::StatusOr<double> FisherGreater(int64_t x1, int64_t n1, int64_t x0,
                                     int64_t n0) {
  return FisherExact(x1, n1, x0, n0, Alternative::kGreater);
}

absl::StatusOr<DifferenceInterval> MiettinenNurminenDifference(
    int64_t x1, int64_t n1, int64_t x0, int64_t n0, double level) {
  if (auto s = CheckCounts("MN risk difference", x1, n1, x0, n0, 1); !s.ok()) {
    return s;
  }
  if (!(level > 0 && level < 1)) {
    return absl::InvalidArgumentError("MN risk difference: level in (0, 1)");
  }
  const Counts c(x1, n1, x0, n0);
  const double z = NormalQuantileFor(level);
  DifferenceInterval out;
  out.difference = c.x1 / c.n1 - c.x0 / c.n0;
  // The score decreases in δ from +∞ at −1 to −∞ at 1 (unless the estimate
  // sits at that end): each limit is where it crosses ±z.
  out.lower = DecreasingRoot(
      -1, out.difference, [&](double d) { return DifferenceScore(c, d) - z; });
  out.upper = DecreasingRoot(
      out.difference, 1, [&](double d) { return DifferenceScore(c, d) + z; });
  return out;
}

absl::StatusOr<RatioInterval> MiettinenNurminenRatio(int64_t x1, int64_t n1,
                                                     int64_t x0, int64_t n0,
                                                     double level) {
  if (auto s = CheckCounts("MN risk ratio", x1, n1, x0, n0, 1); !s.ok()) {
    return s;
  }
  if (!(level > 0 && level < 1)) {
    return absl::InvalidArgumentError("MN risk ratio: level in (0, 1)");
  }
  const Counts c(x1, n1, x0, n0);
  const double z = NormalQuantileFor(level);
  RatioInterval out;
  out.ratio_finite = x0 > 0;
  out.ratio_undefined = x0 == 0 && x1 == 0;
  out.upper_infinite = x0 == 0;
  out.ratio = x0 > 0 ? (c.x1 / c.n1) / (c.x0 / c.n0) : 0;
  // Each limit is where the score crosses ±z, searched in log φ from the
  // estimate (or φ = 1 when it is 0 or infinite).
  const double centre = x1 > 0 && x0 > 0 ? std::log(out.ratio) : 0;
  if (x1 > 0) out.lower = std::exp(RatioRoot(c, centre, z));
  if (x0 > 0) out.upper = std::exp(RatioRoot(c, centre, -z));
  return out;
}

}  // namespace aesignal::signal
