#include "services/signal/distributions.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace aesignal::signal {
namespace {

constexpr double kLn2Pi = 1.837877066409345483560659472811;  // log(2π)
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Σ P(X = j) for j from k outwards (up: j = k..hi, else j = k..lo), k on the
// side of the mode where the terms shrink: P(X = k) times the sum of the
// products of exact term ratios, stopped once a term is below 1e-17 of the
// sum (the rest shrinks at least geometrically: the laws are log-concave).
template <class Law>
double SumOutward(const Law& law, int64_t k, int64_t end, bool up) {
  double sum = 1, term = 1;
  if (up) {
    for (int64_t j = k; j < end; ++j) {
      term *= law.RatioUp(j);
      sum += term;
      if (term < sum * 1e-17) break;
    }
  } else {
    for (int64_t j = k; j > end; --j) {
      term /= law.RatioUp(j - 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
  }
  return law.Pmf(k) * sum;
}

// P(X >= k) or P(X <= k) of a unimodal law on [lo, hi] with mode `mode`:
// the smaller side summed outwards, the larger as 1 − the other.
template <class Law>
double Upper(const Law& law, int64_t k, int64_t lo, int64_t hi, int64_t mode) {
  if (k <= lo) return 1;
  if (k > hi) return 0;
  if (k > mode) return std::min(1.0, SumOutward(law, k, hi, true));
  return std::clamp(1 - SumOutward(law, k - 1, lo, false), 0.0, 1.0);
}

template <class Law>
double Lower(const Law& law, int64_t k, int64_t lo, int64_t hi, int64_t mode) {
  if (k >= hi) return 1;
  if (k < lo) return 0;
  if (k < mode) return std::min(1.0, SumOutward(law, k, lo, false));
  return std::clamp(1 - SumOutward(law, k + 1, hi, true), 0.0, 1.0);
}

}  // namespace

double StirlingError(double n) {
  // Exact values for n = 0, 1, ..., 15 (R's sferr_halves at the integers);
  // the series below is accurate to double precision only beyond 15.
  static constexpr double kSmall[16] = {
      0.0,  // n = 0: unused (placeholder, as in R)
      0.0810614667953272582196702,
      0.0413406959554092940938221,
      0.02767792568499833914878929,
      0.02079067210376509311152277,
      0.01664469118982119216319487,
      0.01387612882307074799874573,
      0.01189670994589177009505572,
      0.010411265261972096497478567,
      0.009255462182712732917728637,
      0.008330563433362871256469318,
      0.007573675487951840794972024,
      0.006942840107209529865664152,
      0.006408994188004207068439631,
      0.005951370112758847735624416,
      0.005554733551962801371038690};
  constexpr double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260,
                   s3 = 1.0 / 1680, s4 = 1.0 / 1188;
  if (n <= 15) {
    if (n == std::floor(n) && n >= 0) return kSmall[static_cast<int>(n)];
    return std::lgamma(n + 1) - (n + 0.5) * std::log(n) + n - 0.5 * kLn2Pi;
  }
  const double nn = n * n;
  if (n > 500) return (s0 - s1 / nn) / n;
  if (n > 80) return (s0 - (s1 - s2 / nn) / nn) / n;
  if (n > 35) return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
  return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

double Bd0(double x, double np) {
  if (std::fabs(x - np) < 0.1 * (x + np)) {
    // x log(x/np) + np − x = (x − np) v + 2x Σ_j v^(2j+1)/(2j+1), with
    // v = (x − np)/(x + np): every term has the sign of the result.
    double v = (x - np) / (x + np);
    double s = (x - np) * v;
    if (std::fabs(s) < std::numeric_limits<double>::min()) return s;
    double ej = 2 * x * v;
    v *= v;
    for (int j = 1; j < 1000; ++j) {
      ej *= v;
      const double s1 = s + ej / (2 * j + 1);
      if (s1 == s) return s1;
      s = s1;
    }
  }
  return x * std::log(x / np) + np - x;
}

double LogBinomialPmf(double x, double n, double p, double q) {
  if (x < 0 || x > n) return kNegInf;
  if (p == 0) return x == 0 ? 0 : kNegInf;
  if (q == 0) return x == n ? 0 : kNegInf;
  if (x == 0) {
    if (n == 0) return 0;
    return p < 0.1 ? -Bd0(n, n * q) - n * p : n * std::log(q);
  }
  if (x == n) return q < 0.1 ? -Bd0(n, n * p) - n * q : n * std::log(p);
  const double lc = StirlingError(n) - StirlingError(x) - StirlingError(n - x) -
                    Bd0(x, n * p) - Bd0(n - x, n * q);
  // log(1 − x/n): for x near n, 1 − fl(x/n) has lost the digits that the
  // exact integer n − x keeps (1.4e-8 relative at x = n − 1000, n = 10^12).
  const double log_rest =
      x < 0.5 * n ? std::log1p(-x / n) : std::log(n - x) - std::log(n);
  const double lf = kLn2Pi + std::log(x) + log_rest;
  return lc - 0.5 * lf;
}

double BinomialPmf(double x, double n, double p) {
  return std::exp(LogBinomialPmf(x, n, p, 1 - p));
}

Hypergeometric::Hypergeometric(int64_t events, int64_t sample, int64_t total)
    : events_(events), sample_(sample), total_(total) {
  lo_ = std::max<int64_t>(0, sample + events - total);
  hi_ = std::min(events, sample);
  // The textbook mode, then corrected by the exact ratios: in double the
  // product (sample + 1)(events + 1) may round for counts near 10^12.
  const double guess = std::floor((static_cast<double>(sample) + 1) *
                                  (static_cast<double>(events) + 1) /
                                  (static_cast<double>(total) + 2));
  mode_ = std::clamp(static_cast<int64_t>(guess), lo_, hi_);
  while (mode_ < hi_ && RatioUp(mode_) > 1) ++mode_;
  while (mode_ > lo_ && RatioUp(mode_ - 1) < 1) --mode_;
}

double Hypergeometric::LogPmf(int64_t k) const {
  if (k < lo_ || k > hi_) return kNegInf;
  if (sample_ == 0) return 0;
  const double n = static_cast<double>(sample_);
  const double nt = static_cast<double>(total_);
  const double p = n / nt, q = (nt - n) / nt;
  const double kd = static_cast<double>(k);
  return LogBinomialPmf(kd, static_cast<double>(events_), p, q) +
         LogBinomialPmf(n - kd, static_cast<double>(total_ - events_), p, q) -
         LogBinomialPmf(n, nt, p, q);
}

double Hypergeometric::Pmf(int64_t k) const { return std::exp(LogPmf(k)); }

double Hypergeometric::RatioUp(int64_t k) const {
  return static_cast<double>(events_ - k) * static_cast<double>(sample_ - k) /
         (static_cast<double>(k + 1) *
          static_cast<double>(total_ - events_ - sample_ + k + 1));
}

double Hypergeometric::UpperTail(int64_t k) const {
  return Upper(*this, k, lo_, hi_, mode_);
}

double Hypergeometric::LowerTail(int64_t k) const {
  return Lower(*this, k, lo_, hi_, mode_);
}

Binomial::Binomial(int64_t n, double p) : n_(n), p_(p), q_(1 - p) {
  const double guess = std::floor((static_cast<double>(n) + 1) * p);
  mode_ = std::clamp(static_cast<int64_t>(guess), int64_t{0}, n);
  while (mode_ < n_ && RatioUp(mode_) > 1) ++mode_;
  while (mode_ > 0 && RatioUp(mode_ - 1) < 1) --mode_;
}

double Binomial::Pmf(int64_t k) const {
  return std::exp(
      LogBinomialPmf(static_cast<double>(k), static_cast<double>(n_), p_, q_));
}

double Binomial::RatioUp(int64_t k) const {
  return static_cast<double>(n_ - k) / static_cast<double>(k + 1) * (p_ / q_);
}

double Binomial::UpperTail(int64_t k) const {
  return Upper(*this, k, 0, n_, mode_);
}

double Binomial::LowerTail(int64_t k) const {
  return Lower(*this, k, 0, n_, mode_);
}

}  // namespace aesignal::signal
