// Reference values from R 4.2 (base): fisher.test(..., alternative =
// "greater"), pbinom(x - 1, n, p0, lower.tail = FALSE), pbeta(p0, a + x,
// b + n - x, lower.tail = FALSE), prop.trend.test (chi-square = Z^2).
#include "services/signal/signal_stats.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <tuple>
#include <utility>
#include <vector>

#include "boost/math/distributions/hypergeometric.hpp"
#include "boost/math/special_functions/gamma.hpp"
#include "gtest/gtest.h"
#include "services/signal/distributions.h"

namespace aesignal::signal {
namespace {

double Fisher(int64_t x1, int64_t n1, int64_t x0, int64_t n0) {
  auto p = FisherGreater(x1, n1, x0, n0);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.value_or(-1);
}

TEST(StatsTest, FisherGreaterMatchesR) {
  EXPECT_NEAR(Fisher(1, 3, 0, 3), 0.5, 1e-12);
  EXPECT_NEAR(Fisher(5, 6, 1, 6), 0.040043290043290054, 1e-12);
  EXPECT_NEAR(Fisher(2, 3, 2, 3), 0.8, 1e-12);
  EXPECT_NEAR(Fisher(3, 3, 3, 3), 1, 1e-12);  // x1 at the support's floor
  EXPECT_NEAR(Fisher(1, 1, 0, 1), 0.5, 1e-12);
  EXPECT_NEAR(Fisher(0, 5, 2, 5), 1, 1e-12);
  EXPECT_NEAR(Fisher(10, 20, 2, 20), 0.0069070739259838206, 1e-12);
  EXPECT_FALSE(FisherGreater(4, 3, 0, 3).ok());
}

// Boost's hypergeometric CDF (exact prime-factor arithmetic) as the oracle
// for the summation FisherGreater uses, over small cohorts exhaustively and
// large ones (both sides of the mode, tails down to ~1e-300).
TEST(StatsTest, FisherGreaterMatchesBoost) {
  auto boost_upper = [](int64_t x1, int64_t n1, int64_t x0, int64_t n0) {
    // At or below the support's floor, max(0, n1 + K - N) = max(0, x1 + x0
    // - n0), the upper tail is 1 (Boost refuses those arguments).
    if (x1 <= std::max<int64_t>(0, x1 + x0 - n0)) return 1.0;
    boost::math::hypergeometric_distribution<double> d(
        static_cast<unsigned>(x1 + x0), static_cast<unsigned>(n1),
        static_cast<unsigned>(n1 + n0));
    return boost::math::cdf(
        boost::math::complement(d, static_cast<unsigned>(x1 - 1)));
  };
  auto expect_close = [&](int64_t x1, int64_t n1, int64_t x0, int64_t n0) {
    const double want = boost_upper(x1, n1, x0, n0);
    EXPECT_NEAR(Fisher(x1, n1, x0, n0), want, std::max(1e-14, 1e-9 * want))
        << x1 << "/" << n1 << " vs " << x0 << "/" << n0;
  };
  int cases = 0;
  for (int64_t n1 = 1; n1 <= 12; ++n1) {
    for (int64_t n0 = 1; n0 <= 12; n0 += 3) {
      for (int64_t x1 = 0; x1 <= n1; ++x1) {
        for (int64_t x0 = 0; x0 <= n0; ++x0) {
          expect_close(x1, n1, x0, n0);
          ++cases;
        }
      }
    }
  }
  for (const auto& [n1, n0] : std::vector<std::pair<int64_t, int64_t>>{
           {40, 40}, {2000, 2000}, {10000, 10000}, {10000, 40000}, {6, 9000}}) {
    for (int64_t x0 : {int64_t{0}, int64_t{1}, n0 / 100, n0 / 10}) {
      for (int64_t x1 : {int64_t{1}, int64_t{2}, n1 / 100, n1 / 50, n1 / 10,
                         n1 / 5, n1 / 2}) {
        if (x1 > n1 || x1 < 0) continue;
        expect_close(x1, n1, x0, n0);
        ++cases;
      }
    }
  }
  EXPECT_GT(cases, 1000);
}

TEST(StatsTest, BinomialUpperTailMatchesR) {
  EXPECT_NEAR(*BinomialUpperTail(2, 6, 0.05), 0.032773828124999994, 1e-12);
  EXPECT_NEAR(*BinomialUpperTail(1, 3, 0.0217), 0.063697548313000035, 1e-12);
  EXPECT_NEAR(*BinomialUpperTail(50, 1000, 0.04), 0.066305871231347666, 1e-10);
  EXPECT_EQ(*BinomialUpperTail(0, 5, 0.3), 1);
  EXPECT_FALSE(BinomialUpperTail(1, 5, 0).ok());
  EXPECT_FALSE(BinomialUpperTail(6, 5, 0.5).ok());
}

TEST(StatsTest, PosteriorExceedsMatchesR) {
  EXPECT_NEAR(*PosteriorExceeds(2, 6, 0.05, 0.05, 0.95), 0.97095700570394217,
              1e-10);
  EXPECT_NEAR(*PosteriorExceeds(2, 3, 0.0217391, 0.75, 22.75),
              0.97175925074985392, 1e-10);
  EXPECT_FALSE(PosteriorExceeds(1, 3, 0.5, 0, 1).ok());
}

TEST(StatsTest, TrendZMatchesRAndExactPMatchesEnumeration) {
  auto trend = CochranArmitageIncreasing({0, 1, 3}, {3, 3, 3}, {2.5, 5, 10});
  ASSERT_TRUE(trend.ok());
  EXPECT_NEAR(trend->z * trend->z, 6.3, 1e-9);  // prop.trend.test X-squared
  EXPECT_TRUE(trend->exact);
  // Brute force: all (x1, x2, x3) with sum 4, weight prod C(3, xi) / C(9, 4).
  auto choose = [](int n, int k) {
    return std::tgamma(n + 1) / std::tgamma(k + 1) / std::tgamma(n - k + 1);
  };
  double p = 0;
  for (int a = 0; a <= 3; ++a) {
    for (int b = 0; b <= 3; ++b) {
      const int c = 4 - a - b;
      if (c < 0 || c > 3) continue;
      if (2.5 * a + 5 * b + 10 * c >= 35 - 1e-9) {
        p += choose(3, a) * choose(3, b) * choose(3, c) / choose(9, 4);
      }
    }
  }
  EXPECT_NEAR(trend->p, p, 1e-12);
  // pnorm(-sqrt(6.3)) in R = 0.0060368989...
  EXPECT_NEAR(trend->p_asymptotic, 0.5 * std::erfc(std::sqrt(6.3 / 2)), 1e-12);
  // No events or all events: no evidence either way.
  EXPECT_EQ(CochranArmitageIncreasing({0, 0, 0}, {3, 3, 3}, {1, 2, 3})->p, 1);
  EXPECT_FALSE(CochranArmitageIncreasing({1}, {3, 3}, {1, 2}).ok());
}

TEST(StatsTest, MaxSprtCriticalValueMatchesPublishedValue) {
  // Kulldorff et al. 2011, Table 1: alpha 0.05, T 10, M 1 -> 3.467952.
  auto cv = MaxSprtCriticalValue(0.05, 10, 1);
  ASSERT_TRUE(cv.ok()) << cv.status();
  EXPECT_NEAR(*cv, 3.467952, 1e-5);
  // The exact type-I error at the critical value is alpha, for several T, M.
  for (auto [t, m] : {std::pair{10.0, 1}, {5.0, 2}, {20.0, 3}, {2.0, 1}}) {
    auto c = MaxSprtCriticalValue(0.05, t, m);
    ASSERT_TRUE(c.ok());
    EXPECT_NEAR(*MaxSprtAlpha(*c, t, m), 0.05, 1e-7) << t << " " << m;
  }
  EXPECT_DOUBLE_EQ(PoissonLlr(2, 3), 0);
  EXPECT_NEAR(PoissonLlr(5, 1), 1 - 5 + 5 * std::log(5.0), 1e-12);
}

// The textbook recursion, without MaxSprtAlpha's cuts of negligible mass
// (Poisson weights below 1e-20 past the mode, states below 1e-25): O(T^3).
double UncutMaxSprtAlpha(double cv, double t, int m) {
  auto boundary = [cv](int i) {
    double lo = 0, hi = i;
    for (int iter = 0; iter < 200; ++iter) {
      const double mid = 0.5 * (lo + hi);
      (PoissonLlr(i, mid) >= cv ? lo : hi) = mid;
    }
    return lo;
  };
  auto pmf = [](int k, double mu) {
    return std::exp(k * std::log(mu) - mu - std::lgamma(k + 1.0));
  };
  std::vector<double> surviving = {1.0};
  double mu = 0;
  for (int i = m;; ++i) {
    const double next = std::min(boundary(i), t);
    if (next > mu) {
      std::vector<double> moved(i, 0.0);
      for (size_t j = 0; j < surviving.size(); ++j) {
        for (size_t k = 0; j + k < static_cast<size_t>(i); ++k) {
          moved[j + k] += surviving[j] * pmf(static_cast<int>(k), next - mu);
        }
      }
      surviving = std::move(moved);
      mu = next;
    } else if (static_cast<int>(surviving.size()) > i) {
      surviving.resize(i);
    }
    if (mu >= t) break;
  }
  double survive = 0;
  for (double p : surviving) survive += p;
  return 1 - survive;
}

TEST(StatsTest, MaxSprtAlphaCutsOnlyNegligibleMass) {
  for (auto [cv, t, m] : {std::tuple{3.0, 10.0, 1},
                          {3.5, 40.0, 2},
                          {4.0, 80.0, 3},
                          {2.5, 120.0, 1}}) {
    auto fast = MaxSprtAlpha(cv, t, m);
    ASSERT_TRUE(fast.ok());
    EXPECT_NEAR(*fast, UncutMaxSprtAlpha(cv, t, m), 1e-14)
        << cv << " " << t << " " << m;
  }
  // A long surveillance (T = 1000 took minutes before the cuts) still
  // solves alpha(cv) = 0.05, and cv grows with T as it must.
  auto cv = MaxSprtCriticalValue(0.05, 1000, 2);
  ASSERT_TRUE(cv.ok()) << cv.status();
  EXPECT_NEAR(*MaxSprtAlpha(*cv, 1000, 2), 0.05, 1e-8);
  EXPECT_GT(*cv, *MaxSprtCriticalValue(0.05, 100, 2));
}

TEST(StatsTest, BenjaminiHochbergMatchesR) {
  // p.adjust(p, "BH").
  const std::vector<double> p = {0.001, 0.02, 0.03, 0.2, 0.5, 0.04, 0.9};
  const std::vector<double> bh = {0.007, 0.07, 0.07, 0.28, 0.58333333333333337,
                                  0.07,  0.9};
  auto got = BenjaminiHochberg(p);
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(got[i], bh[i], 1e-12) << i;
}

std::vector<int> Flagged(const DoubleFdrResult& r) {
  std::vector<int> out;
  for (size_t i = 0; i < r.flagged.size(); ++i) {
    if (r.flagged[i]) out.push_back(static_cast<int>(i) + 1);
  }
  return out;
}

TEST(StatsTest, DoubleFdrWorkedExampleOfC212) {
  // The example of c212.DFDR's manual page (17 AEs in 4 body systems,
  // alpha 0.05), worked by hand from Mehrotra & Adewale's definition.
  // Step 1, within-SOC BH minima: SOC1 0.135005; SOC2 {0.001, 0.005, 0.01,
  // 0.153501} -> 0.001 x 4 = 0.004; SOC3 (7 PTs) -> min(0.0013 x 7,
  // 0.0023 x 7/2) = 0.00805; SOC4 (5 PTs, all > 0.3) -> 0.8153. BH across
  // the 4 SOCs: 0.016, 0.0161, 0.18, 0.815: SOCs 2 and 3 are flagged.
  // Step 2, one family of their 11 PTs, BH at 0.05: the largest j with
  // p(j) <= j x 0.05 / 11 is j = 10 (0.023 <= 0.04545; 0.153501 > 0.05), so
  // AE2-AE12 but AE5 (0.153501) are flagged, exactly the ten AEs the manual
  // page lists.
  const std::vector<std::string> soc = {"1", "2", "2", "2", "2", "3",
                                        "3", "3", "3", "3", "3", "3",
                                        "4", "4", "4", "4", "4"};
  const std::vector<double> p = {
      0.135005, 0.010000, 0.001000, 0.005000, 0.153501, 0.020000,
      0.0013,   0.0023,   0.011,    0.023000, 0.016,    0.0109,
      0.559111, 0.751986, 0.308339, 0.837154, 0.325882};
  auto r = DoubleFdr(soc, p, 0.05);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Flagged(*r), (std::vector<int>{2, 3, 4, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_NEAR(r->soc_adjusted[1], 0.016, 1e-12);             // SOC 2
  EXPECT_NEAR(r->soc_adjusted[5], 0.0161, 1e-12);            // SOC 3
  EXPECT_NEAR(r->soc_adjusted[0], 0.135005 * 4 / 3, 1e-12);  // SOC 1
  EXPECT_NEAR(r->adjusted[9], 0.023 * 11 / 10, 1e-12);   // AE10 in the family
  EXPECT_NEAR(r->adjusted[0], 0.135005 * 4 / 3, 1e-12);  // its SOC's value
}

TEST(StatsTest, DoubleFdrPoolsTheFlaggedSocsInsteadOfTestingEachSocAlone) {
  // SOC A {0.001, 0.04}, SOC B {0.002, 0.3, ..., 0.99} (10 PTs). Step 1:
  // A's minimum 0.001 x 2 = 0.002, B's 0.002 x 10 = 0.02; across: 0.004 and
  // 0.02, both flagged at 0.05. Within A alone 0.04 would be flagged (BH
  // adjusted 0.04, the variant of Mehrotra & Heyse 2004); in the pooled
  // family of 12 PTs BH needs p(3) <= 3 x 0.05 / 12 = 0.0125, so only the
  // two smallest are flagged.
  const std::vector<std::string> soc = {"A", "A", "B", "B", "B", "B",
                                        "B", "B", "B", "B", "B", "B"};
  const std::vector<double> p = {0.001, 0.04, 0.002, 0.3, 0.4,  0.5,
                                 0.6,   0.7,  0.8,   0.9, 0.95, 0.99};
  auto r = DoubleFdr(soc, p, 0.05);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Flagged(*r), (std::vector<int>{1, 3}));
  EXPECT_NEAR(r->adjusted[1], 0.04 * 12 / 3, 1e-12);
}

TEST(StatsTest, DoubleFdrRejectsBadInput) {
  EXPECT_FALSE(DoubleFdr({"A"}, {0.1, 0.2}, 0.1).ok());
  EXPECT_FALSE(DoubleFdr({"A"}, {1.5}, 0.1).ok());
  EXPECT_FALSE(DoubleFdr({"A"}, {0.5}, 0).ok());
  EXPECT_FALSE(DoubleFdr({"A"}, {0.5}, 1).ok());
  EXPECT_FALSE(DoubleFdr({"A"}, {0.5}, std::nan("")).ok());
}

TEST(StatsTest, BinomialMaxSprtExactErrorAtTheCriticalValue) {
  // The error is a step function of the CV (discrete counts): at the CV it
  // is at most alpha, and just below the CV it exceeds alpha.
  for (auto [n, m, z] : {std::tuple{20, 1, 1.0}, {50, 3, 2.0}, {100, 2, 4.0}}) {
    auto cv = BinomialMaxSprtCriticalValue(0.05, n, m, z);
    ASSERT_TRUE(cv.ok()) << cv.status();
    EXPECT_LE(*BinomialMaxSprtAlpha(*cv, n, m, z), 0.05);
    EXPECT_GT(*BinomialMaxSprtAlpha(*cv - 1e-6, n, m, z), 0.05);
  }
  EXPECT_DOUBLE_EQ(BinomialLlr(1, 2, 1), 0);  // c/n = 1/(1+z): no excess
  EXPECT_NEAR(BinomialLlr(4, 4, 1), 4 * std::log(2.0), 1e-12);
}

TEST(StatsTest, BernoulliCusumByHand) {
  // OR 2, p0 0.1: up = ln 2, drift = ln(1.1).
  auto cusum = BernoulliCusum({1, 0, 1, 1}, 0.1, 2, 1.5);
  ASSERT_TRUE(cusum.ok());
  const double up = std::log(2.0), d = std::log(1.1);
  ASSERT_EQ(cusum->path.size(), 4u);
  EXPECT_NEAR(cusum->path[0], up - d, 1e-12);
  EXPECT_NEAR(cusum->path[1], up - 2 * d, 1e-12);
  EXPECT_NEAR(cusum->path[3], 3 * up - 4 * d, 1e-12);
  EXPECT_EQ(cusum->signal_at, 4);  // 3 ln 2 - 4 ln 1.1 = 1.698 > 1.5
  EXPECT_FALSE(BernoulliCusum({2}, 0.1, 2, 1).ok());
  EXPECT_FALSE(BernoulliCusum({1}, 0.1, 0.5, 1).ok());
}

TEST(StatsTest, PosteriorBoundaryIsTheSmallestFlaggingCount) {
  auto rows = PosteriorBoundary(0.2, 30, 0.95, 1, 1);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 30u);
  for (const auto& row : *rows) {
    if (row.min_x < 0) {
      EXPECT_LE(*PosteriorExceeds(row.n, row.n, 0.2, 1, 1), 0.95);
      continue;
    }
    EXPECT_GT(*PosteriorExceeds(row.min_x, row.n, 0.2, 1, 1), 0.95);
    if (row.min_x > 0) {
      EXPECT_LE(*PosteriorExceeds(row.min_x - 1, row.n, 0.2, 1, 1), 0.95);
    }
  }
  // n = 1: one event gives Beta(2, 1), P(p > 0.2) = 1 - 0.2^2 = 0.96.
  EXPECT_EQ((*rows)[0].min_x, 1);
  EXPECT_NEAR((*rows)[0].posterior, 0.96, 1e-12);
}

TEST(StatsTest, NoNonFiniteResultForValidInputsAndErrorsForInvalid) {
  for (int64_t n : {1, 2, 3, 7, 40, 1000, 1000000}) {
    for (int64_t x : {int64_t{0}, int64_t{1}, n / 2, n - 1, n}) {
      if (x < 0 || x > n) continue;
      for (double p0 : {1e-9, 0.001, 0.2, 0.5, 0.999, 1 - 1e-9}) {
        for (auto r : {BinomialUpperTail(x, n, p0), BinomialMidP(x, n, p0),
                       PosteriorExceeds(x, n, p0, 0.5, 0.5)}) {
          ASSERT_TRUE(r.ok()) << x << "/" << n << " " << p0 << r.status();
          EXPECT_TRUE(std::isfinite(*r) && *r >= 0 && *r <= 1);
        }
      }
      auto f = FisherGreater(x, n, n - x, n);
      ASSERT_TRUE(f.ok());
      EXPECT_TRUE(std::isfinite(*f));
    }
  }
  EXPECT_FALSE(BinomialUpperTail(-1, 3, 0.5).ok());
  EXPECT_FALSE(BinomialMidP(4, 3, 0.5).ok());
  EXPECT_FALSE(BinomialUpperTail(1, 3, 1).ok());
  EXPECT_FALSE(PoissonRate(1, -2, 0.95).ok());
  EXPECT_FALSE(PoissonRate(-1, 2, 0.95).ok());
  EXPECT_FALSE(NewcombeDifference(1, 0, 0, 3, 0.95).ok());
  EXPECT_FALSE(MaxSprtCriticalValue(1.5, 10, 1).ok());
  EXPECT_FALSE(PosteriorBoundary(0, 10, 0.9, 1, 1).ok());
}

// The probability of a 2x2 table given its margins, from log-gammas (fine
// for the small cohorts it is used on).
double TablePmf(int64_t x1, int64_t n1, int64_t x0, int64_t n0) {
  auto log_choose = [](double n, double k) {
    return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1);
  };
  return std::exp(log_choose(n1, x1) + log_choose(n0, x0) -
                  log_choose(n1 + n0, x1 + x0));
}

// R's fisher.test rule by enumeration: every table with the observed margins.
TEST(StatsTest, FisherThreeDirectionsMatchEnumeration) {
  int cases = 0;
  for (int64_t n1 = 0; n1 <= 9; ++n1) {
    for (int64_t n0 = 0; n0 <= 9; n0 += 2) {
      for (int64_t x1 = 0; x1 <= n1; ++x1) {
        for (int64_t x0 = 0; x0 <= n0; ++x0) {
          const int64_t k = x1 + x0;
          const double observed = TablePmf(x1, n1, x0, n0);
          double greater = 0, less = 0, two = 0;
          for (int64_t a = std::max<int64_t>(0, k - n0); a <= std::min(k, n1);
               ++a) {
            const double d = TablePmf(a, n1, k - a, n0);
            if (a >= x1) greater += d;
            if (a <= x1) less += d;
            if (d <= observed * (1 + 1e-7)) two += d;
          }
          const auto got = [&](Alternative alt) {
            return FisherExact(x1, n1, x0, n0, alt).value_or(-1);
          };
          EXPECT_NEAR(got(Alternative::kGreater), std::min(1.0, greater),
                      1e-12);
          EXPECT_NEAR(got(Alternative::kLess), std::min(1.0, less), 1e-12);
          EXPECT_NEAR(got(Alternative::kTwoSided), std::min(1.0, two), 1e-12)
              << x1 << "/" << n1 << " vs " << x0 << "/" << n0;
          ++cases;
        }
      }
    }
  }
  EXPECT_GT(cases, 1000);
  // fisher.test: the observed table is the most probable (p = 1), and two
  // tables of equal probability on either side of the mode count together.
  EXPECT_EQ(*FisherExact(3, 6, 3, 6, Alternative::kTwoSided), 1);
  EXPECT_NEAR(*FisherExact(1, 10, 5, 7, Alternative::kTwoSided),
              0.0345022624434389, 1e-12);
  EXPECT_FALSE(FisherExact(2, 1, 0, 3, Alternative::kLess).ok());
  EXPECT_FALSE(
      FisherExact(1, 2'000'000'000'000, 0, 3, Alternative::kGreater).ok());
}

TEST(StatsTest, FisherTailsAreComplementaryAtLargeCounts) {
  // P(X >= x) + P(X <= x - 1) = 1 in every regime, including cohorts of
  // 10^12 where a log-gamma pmf would have no correct digit.
  for (const auto& [x1, n1, x0, n0] :
       std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>>{
           {30, 1'000'000'000'000, 10, 1'000'000'000'000},
           {500'000, 1'000'000'000'000, 499'000, 1'000'000'000'000},
           {3, 100, 10, 100},
           {60, 2000, 20, 2000}}) {
    const double up = *FisherExact(x1, n1, x0, n0, Alternative::kGreater);
    const double down =
        *FisherExact(x1 - 1, n1, x0 + 1, n0, Alternative::kLess);
    EXPECT_NEAR(up + down, 1, 1e-12) << x1 << "/" << n1;
  }
}

TEST(StatsTest, LoaderSaddlePointProbabilities) {
  // The tabulated Stirling errors equal their definition.
  for (int n = 1; n <= 15; ++n) {
    EXPECT_NEAR(StirlingError(n),
                std::lgamma(n + 1.0) - (n + 0.5) * std::log(n) + n -
                    0.5 * std::log(2 * std::numbers::pi),
                1e-14)
        << n;
  }
  // Small n: the log-gamma formula is exact enough to compare with.
  for (int n : {1, 2, 7, 30, 200}) {
    for (int x = 0; x <= n; ++x) {
      for (double p : {0.001, 0.3, 0.5, 0.97}) {
        const double want = std::lgamma(n + 1.0) - std::lgamma(x + 1.0) -
                            std::lgamma(n - x + 1.0) + x * std::log(p) +
                            (n - x) * std::log1p(-p);
        EXPECT_NEAR(LogBinomialPmf(x, n, p, 1 - p), want, 1e-11)
            << x << "/" << n << " " << p;
      }
    }
  }
  // A distribution sums to one, and so does a hypergeometric law.
  double total = 0;
  for (int x = 0; x <= 100000; ++x) total += BinomialPmf(x, 100000, 0.01);
  EXPECT_NEAR(total, 1, 1e-12);
  const Hypergeometric h(400, 10000, 20000);
  double mass = 0;
  for (int64_t k = h.lo(); k <= h.hi(); ++k) mass += h.Pmf(k);
  EXPECT_NEAR(mass, 1, 1e-12);
  EXPECT_NEAR(h.UpperTail(210) + h.LowerTail(209), 1, 1e-14);
}

TEST(StatsTest, MiettinenNurminenPublishedExamples) {
  // Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables
  // (CRC 2017), ch. 4 (to the 4 decimals printed there): 0/16 vs 15/72,
  // difference -0.2083 (-0.3164 to -0.0056); 7/34 vs 1/34, ratio 7
  // (1.2086 to 43.0330).
  auto rd = MiettinenNurminenDifference(0, 16, 15, 72, 0.95);
  ASSERT_TRUE(rd.ok());
  EXPECT_NEAR(rd->difference, -0.2083, 5e-5);
  EXPECT_NEAR(rd->lower, -0.3164, 5e-5);
  EXPECT_NEAR(rd->upper, -0.0056, 5e-5);
  auto rr = MiettinenNurminenRatio(7, 34, 1, 34, 0.95);
  ASSERT_TRUE(rr.ok());
  EXPECT_NEAR(rr->ratio, 7, 1e-12);
  EXPECT_NEAR(rr->lower, 1.2086, 5e-5);
  EXPECT_NEAR(rr->upper, 43.0330, 5e-5);
  // A wider level gives a wider interval around the same estimate.
  auto wide = MiettinenNurminenRatio(7, 34, 1, 34, 0.99);
  EXPECT_LT(wide->lower, rr->lower);
  EXPECT_GT(wide->upper, rr->upper);
}

TEST(StatsTest, MiettinenNurminenZeroCellsNeedNoCorrection) {
  auto none_in_control = MiettinenNurminenRatio(3, 10, 0, 10, 0.95);
  ASSERT_TRUE(none_in_control.ok());
  EXPECT_FALSE(none_in_control->ratio_finite);
  EXPECT_FALSE(none_in_control->ratio_undefined);
  EXPECT_TRUE(none_in_control->upper_infinite);
  EXPECT_GT(none_in_control->lower, 0);
  EXPECT_TRUE(std::isfinite(none_in_control->lower));
  auto none = MiettinenNurminenRatio(0, 10, 0, 10, 0.95);
  EXPECT_TRUE(none->ratio_undefined);
  EXPECT_EQ(none->lower, 0);
  auto none_treated = MiettinenNurminenRatio(0, 10, 4, 10, 0.95);
  EXPECT_EQ(none_treated->ratio, 0);
  EXPECT_EQ(none_treated->lower, 0);
  EXPECT_GT(none_treated->upper, 0);
  EXPECT_LT(none_treated->upper, 1);
  // Differences stay within [-1, 1] and contain the estimate.
  for (auto [x1, n1, x0, n0] :
       {std::tuple{6, 6, 0, 6}, {0, 6, 6, 6}, {0, 1, 0, 1}, {1, 1, 0, 1}}) {
    auto d = MiettinenNurminenDifference(x1, n1, x0, n0, 0.95);
    ASSERT_TRUE(d.ok());
    EXPECT_GE(d->lower, -1);
    EXPECT_LE(d->upper, 1);
    EXPECT_LE(d->lower, d->difference);
    EXPECT_GE(d->upper, d->difference);
  }
  EXPECT_FALSE(MiettinenNurminenDifference(1, 0, 0, 3, 0.95).ok());
  EXPECT_FALSE(MiettinenNurminenRatio(1, 3, 0, 3, 1).ok());
  EXPECT_FALSE(MiettinenNurminenRatio(4, 3, 0, 3, 0.95).ok());
}

TEST(StatsTest, BinomialMaxSprtPlansThatCanNeverSignalAreErrors) {
  // 6 cases can never occur among 5 events.
  auto binomial = BinomialMaxSprtCriticalValue(0.05, 5, 6, 1);
  EXPECT_EQ(binomial.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(binomial.status().message().find("never signal"),
            std::string::npos);
  EXPECT_FALSE(MaxSprtCriticalValue(0.05, 2e5, 1).ok());   // T bound
  EXPECT_FALSE(BinomialMaxSprtAlpha(3, 6000, 1, 1).ok());  // N bound
}

// When even reaching M events by T is rarer than alpha, no CV's error can
// exceed alpha: the CV is the search's floor (signal at any excess once M
// events occur), also when that probability underflows to 0 or alpha is tiny.
TEST(StatsTest, MaxSprtPlanWhoseMinimumIsRarerThanAlphaGetsTheFloor) {
  struct Plan {
    double alpha, t;
    int m;
  };
  // The bisection's answer where it is not noise (alpha(cv) < alpha at
  // every cv, so each step lowers its upper end): the floor every such plan
  // gets, as evidence stored by earlier versions holds it.
  double lo = 1e-9, hi = 1;
  while (hi - lo > 1e-10) {
    const double mid = 0.5 * (lo + hi);
    ASSERT_LT(*MaxSprtAlpha(mid, 1, 6), 0.05);
    hi = mid;
  }
  const double floor = 0.5 * (lo + hi);
  EXPECT_NEAR(floor, 1.0291e-9, 1e-13);
  // P(Poisson(T) >= M): 5.9e-4; ~1e-451 (0 in double precision, the fuzz
  // finding); ~1e-5568; 1.4e-33 against alpha 1e-20; 0.037 (the plan of
  // SignalsTest.MaxSprtUsesTheExactCriticalValue).
  for (const Plan& plan :
       {Plan{0.05, 1, 6}, Plan{0.05, 3.6, 301}, Plan{0.05, 0.001, 1000},
        Plan{1e-20, 1, 30}, Plan{0.05, 0.3, 2}}) {
    const double reach = boost::math::gamma_p(plan.m, plan.t);
    ASSERT_LT(reach, plan.alpha);
    auto cv = MaxSprtCriticalValue(plan.alpha, plan.t, plan.m);
    ASSERT_TRUE(cv.ok()) << cv.status() << " T " << plan.t << " M " << plan.m;
    EXPECT_EQ(*cv, floor) << "T " << plan.t << " M " << plan.m;
  }
  // Where alpha(cv) is not noise the recursion agrees: its error at the
  // floor is the probability of M events by T with the LLR above 0, at
  // most the probability of M events by T.
  auto error = MaxSprtAlpha(1e-9, 1, 6);
  ASSERT_TRUE(error.ok());
  EXPECT_GT(*error, 0.9 * boost::math::gamma_p(6, 1.0));
  EXPECT_LE(*error, boost::math::gamma_p(6, 1.0) + 1e-12);
  // With M = 1 the same T reaches M more often than alpha: the bisection's
  // CV, well above the floor.
  auto bound = MaxSprtCriticalValue(0.05, 1, 1);
  ASSERT_TRUE(bound.ok());
  EXPECT_GT(*bound, 1e-3);
}

}  // namespace
}  // namespace aesignal::signal
