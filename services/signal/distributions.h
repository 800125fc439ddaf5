// Binomial and hypergeometric probabilities accurate for counts up to 10^12:
// Loader's saddle-point method (the one in R's dbinom/dhyper), because
// log-gamma differences lose every digit there (lgamma(1e12) ≈ 2.6e13 has an
// ulp of ~4e-3, so exp of a difference of three of them is off by percent).
// Internal to the signal module; pure functions, thread-safe.
//
// Reference: Loader C. Fast and accurate computation of binomial
// probabilities. 2000 (the algorithm of R's dbinom, nmath/dbinom.c).
#ifndef AESIGNAL_SERVICES_SIGNAL_DISTRIBUTIONS_H_
#define AESIGNAL_SERVICES_SIGNAL_DISTRIBUTIONS_H_

#include <cstdint>

namespace aesignal::signal {

// The largest count (subjects, events) every exact test accepts: the
// accuracy of ~1e-9 relative is validated up to here (reference_test.cc),
// and every count and product of two is exact in a double.
inline constexpr int64_t kMaxCount = 1'000'000'000'000;

// log(n!) − [(n + ½) log n − n + ½ log 2π], the error of Stirling's formula
// (n >= 0; tabulated for n <= 15, asymptotic series beyond).
double StirlingError(double n);

// x log(x / np) + np − x, without the cancellation of the naive formula when
// x ≈ np (Loader's series).
double Bd0(double x, double np);

// log P(X = x) for X ~ Binomial(n, p) with q = 1 − p passed separately (so a
// q computed as n0/N keeps its digits); −inf outside the support.
double LogBinomialPmf(double x, double n, double p, double q);
double BinomialPmf(double x, double n, double p);

// X ~ Binomial(n, p), 0 <= n <= 2 kMaxCount, 0 < p < 1. Tails are summed
// from the pmf at their inner end with exact term ratios, as for the
// hypergeometric law below: Boost's incomplete beta drifts by ~1e-8 at
// n = 10^12 (7e-9 relative against R at 1.23e11 of 10^12).
class Binomial {
 public:
  Binomial(int64_t n, double p);

  int64_t mode() const { return mode_; }
  double Pmf(int64_t k) const;
  // P(X = k + 1) / P(X = k), k in [0, n).
  double RatioUp(int64_t k) const;
  double UpperTail(int64_t k) const;  // P(X >= k)
  double LowerTail(int64_t k) const;  // P(X <= k)

 private:
  int64_t n_;
  double p_, q_;
  int64_t mode_;
};

// X = the events in a sample of `sample` subjects drawn without replacement
// from `total` of whom `events` had the event: the law of a 2x2 table's
// top-left cell given its margins. Arguments must satisfy 0 <= events,
// sample <= total <= 2 kMaxCount (the caller checks).
class Hypergeometric {
 public:
  Hypergeometric(int64_t events, int64_t sample, int64_t total);

  int64_t lo() const { return lo_; }  // support [lo, hi]
  int64_t hi() const { return hi_; }
  int64_t mode() const { return mode_; }

  // R's dhyper as p1 p2 / p3 of three binomial probabilities.
  double LogPmf(int64_t k) const;
  double Pmf(int64_t k) const;
  // P(X = k + 1) / P(X = k), exact in floating point (k in [lo, hi)).
  double RatioUp(int64_t k) const;

  // P(X >= k) and P(X <= k), each summed from its inner end outwards (where
  // terms shrink) when it is the smaller side, else 1 − the other side.
  double UpperTail(int64_t k) const;
  double LowerTail(int64_t k) const;

 private:
  int64_t events_, sample_, total_;
  int64_t lo_, hi_, mode_;
};

}  // namespace aesignal::signal

#endif  // AESIGNAL_SERVICES_SIGNAL_DISTRIBUTIONS_H_
