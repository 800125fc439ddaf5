// The exact Cochran-Armitage p-values against brute-force enumeration of
// every table with the observed margins, their invariances, the degenerate
// cases and the budget. (Agreement with R's coin: reference_test.cc.)
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "services/signal/signal_stats.h"

namespace aesignal::signal {
namespace {

struct Enumerated {
  double greater = 0, two_sided = 0;
};

double Choose(int64_t n, int64_t k) {
  return std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) -
                  std::lgamma(n - k + 1.0));
}

// Every table x' with the margins of (x, n), weighted Π C(n_i, x'_i) /
// C(N, m): P(T >= t) and P(|T − E T| >= |t − E T|) with real-valued scores
// (ties to 1e-9 of the largest score).
Enumerated Enumerate(const std::vector<int64_t>& x,
                     const std::vector<int64_t>& n,
                     const std::vector<double>& s) {
  int64_t m = 0, total = 0;
  double t_obs = 0, scale = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    m += x[i];
    total += n[i];
    t_obs += s[i] * x[i];
    scale = std::max(scale, std::fabs(s[i]));
  }
  std::vector<std::pair<double, double>> tables;  // (T, weight)
  std::vector<int64_t> k(x.size(), 0);
  std::function<void(size_t, int64_t, double, double)> walk =
      [&](size_t i, int64_t left, double t, double w) {
        if (i + 1 == x.size()) {
          if (left <= n[i]) {
            tables.push_back({t + s[i] * left, w * Choose(n[i], left)});
          }
          return;
        }
        for (int64_t j = 0; j <= std::min(left, n[i]); ++j) {
          walk(i + 1, left - j, t + s[i] * j, w * Choose(n[i], j));
        }
      };
  walk(0, m, 0, 1 / Choose(total, m));
  double mean = 0;
  for (const auto& [t, w] : tables) mean += t * w;
  const double eps = 1e-9 * std::max(1.0, scale);
  Enumerated out;
  for (const auto& [t, w] : tables) {
    if (t >= t_obs - eps) out.greater += w;
    if (std::fabs(t - mean) >= std::fabs(t_obs - mean) - eps) {
      out.two_sided += w;
    }
  }
  return out;
}

// The same two p-values for integer scores by convolving the groups'
// counts Π C(n_i, k_i) in long double, with no pruning: an independent check
// for designs too large to enumerate table by table (every term is
// positive, so each tail keeps its relative precision).
Enumerated Convolve(const std::vector<int64_t>& x,
                    const std::vector<int64_t>& n,
                    const std::vector<int64_t>& u) {
  int64_t m = 0, total = 0, sum_un = 0, t_obs = 0, u_max = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    m += x[i];
    total += n[i];
    sum_un += u[i] * n[i];
    t_obs += u[i] * x[i];
    u_max = std::max(u_max, u[i]);
  }
  const int64_t t_max = u_max * m;  // no sum of m events can exceed it
  // ways[j][t]: weighted count of the groups so far with j events, sum t.
  std::vector<std::vector<long double>> ways(
      m + 1, std::vector<long double>(t_max + 1, 0));
  ways[0][0] = 1;
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<long double> choose(std::min(n[i], m) + 1, 1);
    for (int64_t k = 1; k < static_cast<int64_t>(choose.size()); ++k) {
      choose[k] = choose[k - 1] * (n[i] - k + 1) / k;
    }
    std::vector<std::vector<long double>> next(
        m + 1, std::vector<long double>(t_max + 1, 0));
    for (int64_t j = 0; j <= m; ++j) {
      for (int64_t t = 0; t <= t_max; ++t) {
        if (ways[j][t] == 0) continue;
        for (int64_t k = 0; k < static_cast<int64_t>(choose.size()) &&
                            j + k <= m && t + u[i] * k <= t_max;
             ++k) {
          next[j + k][t + u[i] * k] += ways[j][t] * choose[k];
        }
      }
    }
    ways = std::move(next);
  }
  // |N T − m S| >= |N t − m S| in integers, as the two-sided region.
  auto deviation = [&](int64_t t) {
    return std::llabs(total * t - m * sum_un);
  };
  long double all = 0, greater = 0, two_sided = 0;
  for (int64_t t = 0; t <= t_max; ++t) all += ways[m][t];
  for (int64_t t = t_max; t >= 0; --t) {
    if (t >= t_obs) greater += ways[m][t];
  }
  for (int64_t t = 0; t <= t_max; ++t) {
    if (deviation(t) >= deviation(t_obs)) two_sided += ways[m][t];
  }
  return {static_cast<double>(greater / all),
          static_cast<double>(two_sided / all)};
}

TrendResult Trend(const std::vector<int64_t>& x, const std::vector<int64_t>& n,
                  const std::vector<double>& s) {
  auto r = CochranArmitage(x, n, s, {.two_sided = true});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.value_or(TrendResult{});
}

// "x/n@score" per group, to name a design in a failure.
std::string Design(const std::vector<int64_t>& x, const std::vector<int64_t>& n,
                   const std::vector<double>& s) {
  std::string what;
  for (size_t i = 0; i < x.size(); ++i) {
    what += std::to_string(x[i]) + "/" + std::to_string(n[i]) + "@" +
            std::to_string(s[i]) + " ";
  }
  return what;
}

void ExpectMatchesEnumeration(const std::vector<int64_t>& x,
                              const std::vector<int64_t>& n,
                              const std::vector<double>& s) {
  const TrendResult r = Trend(x, n, s);
  const Enumerated e = Enumerate(x, n, s);
  const std::string what = Design(x, n, s);
  if (r.degenerate) {
    EXPECT_EQ(r.p, 1) << what;
    return;
  }
  EXPECT_TRUE(r.exact) << what;
  EXPECT_NEAR(r.p, e.greater, 1e-11 * e.greater) << what;
  EXPECT_NEAR(r.p_two_sided, e.two_sided, 1e-11 * e.two_sided) << what;
}

TEST(TrendTest, TheIssueExampleIsExactAndAboveTheAsymptoticP) {
  // 5 groups of 12: the asymptotic p (0.00223) is anti-conservative; coin's
  // exact p is 0.002557240559 (testdata/trend_exact.csv).
  const TrendResult r =
      Trend({0, 0, 1, 2, 4}, {12, 12, 12, 12, 12}, {0, 1, 2, 3, 4});
  EXPECT_TRUE(r.exact);
  EXPECT_NEAR(r.p, 0.00255724055902468, 1e-9 * 0.00256);
  EXPECT_NEAR(r.p_asymptotic, 0.0022301, 1e-6);
  EXPECT_GT(r.p, r.p_asymptotic);
  ExpectMatchesEnumeration({0, 0, 1, 2, 4}, {12, 12, 12, 12, 12},
                           {0, 1, 2, 3, 4});
}

TEST(TrendTest, ExactPMatchesEnumerationOnRandomTables) {
  std::mt19937 rng(20261123);
  int checked = 0;
  for (int rep = 0; rep < 300; ++rep) {
    const int groups = 2 + static_cast<int>(rng() % 4);
    std::vector<int64_t> x, n;
    std::vector<double> s;
    for (int g = 0; g < groups; ++g) {
      n.push_back(static_cast<int64_t>(rng() % 7));  // empty groups too
      x.push_back(n.back() == 0 ? 0
                                : static_cast<int64_t>(rng() % (n.back() + 1)));
      // Integer scores with ties, decimal ones, and irrational ones (no
      // lattice: the rounded path).
      switch (rep % 3) {
        case 0:
          s.push_back(static_cast<double>(rng() % 5));
          break;
        case 1:
          s.push_back(0.5 * static_cast<double>(rng() % 9) - 1);
          break;
        default:
          s.push_back(std::log(1.0 + static_cast<double>(rng() % 50)));
      }
    }
    ExpectMatchesEnumeration(x, n, s);
    ++checked;
  }
  EXPECT_EQ(checked, 300);
}

TEST(TrendTest, MoreEventsThanNonEventsUseTheComplement) {
  // m > N/2: computed on the non-events with reflected scores.
  ExpectMatchesEnumeration({8, 9, 10, 12}, {12, 12, 12, 12}, {0, 1, 2, 3});
  ExpectMatchesEnumeration({5, 2, 6}, {6, 3, 6}, {0, 3, 10});
  ExpectMatchesEnumeration({4, 4, 0}, {4, 4, 5}, {1, 2, 3});
}

TEST(TrendTest, InvariantUnderAffineScoresGroupOrderAndComplement) {
  // Five groups of 600: the exact program with its cuts, checked against
  // itself under transformations that change every intermediate state.
  const std::vector<int64_t> x = {60, 66, 70, 75, 88}, n(5, 600);
  const TrendResult ranks = Trend(x, n, {0, 1, 2, 3, 4});
  ASSERT_TRUE(ranks.exact);
  // Doses in mg: an affine image of the ranks.
  const TrendResult doses = Trend(x, n, {10, 35, 60, 85, 110});
  EXPECT_NEAR(doses.p, ranks.p, 1e-10 * ranks.p);
  EXPECT_NEAR(doses.p_two_sided, ranks.p_two_sided, 1e-10 * ranks.p);
  // The groups listed in another order, with their scores.
  const TrendResult shuffled = Trend({75, 60, 88, 66, 70}, n, {3, 0, 4, 1, 2});
  EXPECT_NEAR(shuffled.p, ranks.p, 1e-10 * ranks.p);
  // Non-events with reversed scores: the same table seen from the other side.
  std::vector<int64_t> complement;
  for (size_t i = 0; i < x.size(); ++i) complement.push_back(n[i] - x[i]);
  const TrendResult other = Trend(complement, n, {4, 3, 2, 1, 0});
  EXPECT_NEAR(other.p, ranks.p, 1e-10 * ranks.p);
  // A p near the asymptotic one at this size, but not equal to it.
  EXPECT_NEAR(ranks.p, ranks.p_asymptotic, 0.1 * ranks.p);
  EXPECT_NE(ranks.p, ranks.p_asymptotic);
}

TEST(TrendTest, DegenerateCasesAreExactOneWithTheReason) {
  struct Case {
    std::vector<int64_t> x, n;
    std::vector<double> s;
    const char* reason;
  };
  for (const Case& c : std::vector<Case>{
           {{0, 0, 0}, {3, 3, 3}, {1, 2, 3}, "no events"},
           {{3, 3, 3}, {3, 3, 3}, {1, 2, 3}, "every subject"},
           {{1, 2, 0}, {3, 3, 3}, {2, 2, 2}, "one score"},
           {{1, 0, 2}, {3, 0, 3}, {2, 7, 2}, "one score"},  // empty group
       }) {
    const TrendResult r = Trend(c.x, c.n, c.s);
    EXPECT_TRUE(r.degenerate) << c.reason;
    EXPECT_TRUE(r.exact) << c.reason;
    EXPECT_EQ(r.p, 1) << c.reason;
    EXPECT_EQ(r.p_two_sided, 1) << c.reason;
    EXPECT_NE(r.note.find(c.reason), std::string::npos) << r.note;
  }
}

TEST(TrendTest, BeyondTheBudgetTheAsymptoticPIsLabelled) {
  auto r = CochranArmitage({60, 66, 70, 75, 88}, std::vector<int64_t>(5, 600),
                           {0, 1, 2, 3, 4}, {.max_work = 1000});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->exact);
  EXPECT_EQ(r->p, r->p_asymptotic);
  EXPECT_NE(r->note.find("budget"), std::string::npos) << r->note;
  auto cells =
      CochranArmitage({60, 66, 70, 75, 88}, std::vector<int64_t>(5, 600),
                      {0, 1, 2, 3, 4}, {.max_cells = 100});
  ASSERT_TRUE(cells.ok());
  EXPECT_FALSE(cells->exact);
}

TEST(TrendTest, ThousandsOfSubjectsStayExactWithinTheDefaultBudget) {
  // 5 groups of 2,000 with half of them events: the hardest shape (no
  // complement saving, central p).
  auto r = CochranArmitage({900, 1000, 1000, 1000, 1100},
                           std::vector<int64_t>(5, 2000), {0, 1, 2, 3, 4},
                           {.two_sided = true});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->exact) << r->note;
  EXPECT_NEAR(r->p_two_sided, 2 * r->p, 1e-6 * r->p);  // symmetric design
  // Three arms of 5,000 (a phase 3 shape) and a tail p of 1 / C(50, 10).
  auto big =
      CochranArmitage({2400, 2500, 2600}, {5000, 5000, 5000}, {0, 1, 2}, {});
  ASSERT_TRUE(big.ok());
  EXPECT_TRUE(big->exact);
  const TrendResult tail =
      Trend({0, 0, 0, 0, 10}, {10, 10, 10, 10, 10}, {0, 1, 2, 3, 4});
  EXPECT_NEAR(tail.p, 1 / Choose(50, 10), 1e-9 / Choose(50, 10));
}

// The exact test on integer scores `u` against Convolve: exact, both
// p-values to 1e-9. Returns the convolution's p-values.
Enumerated ExpectMatchesConvolution(const std::vector<int64_t>& x,
                                    const std::vector<int64_t>& n,
                                    const std::vector<int64_t>& u) {
  const std::vector<double> s(u.begin(), u.end());
  const TrendResult r = Trend(x, n, s);
  const Enumerated e = Convolve(x, n, u);
  const std::string what = Design(x, n, s);
  EXPECT_TRUE(r.exact) << what << r.note;
  EXPECT_NEAR(r.p, e.greater, 1e-9 * e.greater) << what;
  EXPECT_NEAR(r.p_two_sided, e.two_sided, 1e-9 * e.two_sided) << what;
  return e;
}

TEST(TrendTest, SmallTailsOfLargeGroupsMatchAFullConvolution) {
  // Tails of 1e-10 in groups of hundreds, where a stage's rows hold mass
  // near 1: a tail taken as a row's total less the rest of it (rather than
  // summed cell by cell) is off here by 1e-8 to 7e-8 of p (checked).
  for (const auto& [x, n] :
       {std::pair<std::vector<int64_t>, std::vector<int64_t>>{
            {11, 31, 20, 33, 52}, {459, 611, 352, 360, 429}},
        {{23, 26, 46, 51, 41}, {727, 620, 672, 648, 317}}}) {
    EXPECT_LT(ExpectMatchesConvolution(x, n, {0, 1, 2, 3, 4}).greater, 1e-9);
  }
}

TEST(TrendTest, RandomLargeDesignsMatchAFullConvolution) {
  // Beyond what enumeration (above) and coin (reference_test.cc, ~1,000
  // subjects) reach: 3 to 6 groups of 50 to 800 subjects, rank or dose-like
  // integer scores, a random rise (or none) with the score, p from ~1 to
  // far below 1e-10. Both p-values to 1e-9 of the convolution's.
  std::mt19937 rng(20261201);
  const std::vector<std::vector<int64_t>> ladders = {
      {0, 1, 2, 3, 4, 5}, {0, 1, 2, 4, 8, 16}, {0, 3, 5, 6, 10, 12}};
  int tiny = 0, checked = 0;
  for (int design = 0; design < 40; ++design) {
    const size_t groups = 3 + rng() % 4;
    const std::vector<int64_t>& ladder = ladders[design % ladders.size()];
    std::vector<int64_t> x(groups), n(groups),
        u(ladder.begin(), ladder.begin() + groups);
    const double rise = 0.008 * (rng() % 5);
    for (size_t g = 0; g < groups; ++g) {
      n[g] = 50 + rng() % 751;
      std::binomial_distribution<int64_t> events(n[g], 0.002 + rise * g * g);
      x[g] = events(rng);
    }
    int64_t m = 0;
    for (int64_t v : x) m += v;
    if (m == 0 || m > 120) continue;  // keeps the convolution quick
    tiny += ExpectMatchesConvolution(x, n, u).greater < 1e-10;
    ++checked;
  }
  EXPECT_GE(checked, 20);
  EXPECT_GT(tiny, 0);  // the tails that need the precision are covered
}

TEST(TrendTest, RoundedScoresAreLabelledAndKeepRealTies) {
  // ln 4 = 2 ln 2: the sums 2 ln 2 (two events at ln 2) and ln 4 (one at
  // ln 4) tie in real arithmetic and must stay tied after rounding.
  const std::vector<double> s = {0, std::log(2.0), std::log(3.0),
                                 std::log(4.0)};
  const TrendResult r = Trend({0, 2, 0, 1}, {3, 3, 3, 3}, s);
  EXPECT_TRUE(r.scores_rounded);
  EXPECT_NE(r.note.find("rounded"), std::string::npos);
  ExpectMatchesEnumeration({0, 2, 0, 1}, {3, 3, 3, 3}, s);
  ExpectMatchesEnumeration({0, 1, 0, 2}, {3, 3, 3, 3}, s);
  // Decimal doses form a lattice: no rounding.
  EXPECT_FALSE(Trend({0, 1, 2}, {4, 4, 4}, {0, 0.3, 1.2}).scores_rounded);
}

TEST(TrendTest, InvalidInputIsAnError) {
  EXPECT_FALSE(CochranArmitageIncreasing({1}, {3, 3}, {1, 2}).ok());
  EXPECT_FALSE(CochranArmitageIncreasing({1}, {3}, {1}).ok());
  EXPECT_FALSE(CochranArmitageIncreasing({4, 0}, {3, 3}, {1, 2}).ok());
  EXPECT_FALSE(CochranArmitageIncreasing({-1, 0}, {3, 3}, {1, 2}).ok());
  EXPECT_FALSE(
      CochranArmitageIncreasing({1, 0}, {3, 3}, {1, std::nan("")}).ok());
  EXPECT_FALSE(CochranArmitageIncreasing({1, 0}, {3, 3}, {1, HUGE_VAL}).ok());
  EXPECT_FALSE(
      CochranArmitageIncreasing({1, 0}, {2'000'000'000'000, 3}, {1, 2}).ok());
}

}  // namespace
}  // namespace aesignal::signal
