// Every function of the signal module against reference values computed by R
// (services/signal/testdata/make_vectors.R, committed with its outputs):
// agreement to 1e-6 relative (1e-10 absolute near 0), and to 1e-9 relative
// for the exact methods: Fisher's three p-values, the exact trend p-values
// (coin), the Miettinen-Nurminen intervals and probabilities at counts up to
// 10^12.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "services/signal/binomial_ci.h"
#include "services/signal/distributions.h"
#include "services/signal/signal_stats.h"

namespace aesignal::signal {
namespace {

// Rows of a CSV written by R's write.csv, as column -> text.
std::vector<std::map<std::string, std::string>> ReadVectors(
    const std::string& name) {
  std::ifstream in(std::string(AESIGNAL_SIGNAL_TESTDATA) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::string line;
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    for (absl::string_view cell : absl::StrSplit(line, ',')) {
      cells.emplace_back(
          absl::StripSuffix(absl::StripPrefix(cell, "\""), "\""));
    }
    if (header.empty()) {
      header = cells;
      continue;
    }
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) {
      row[header[i]] = cells[i];
    }
    rows.push_back(row);
  }
  EXPECT_FALSE(rows.empty()) << name;
  return rows;
}

double D(const std::map<std::string, std::string>& row, const std::string& c) {
  double v = 0;
  EXPECT_TRUE(absl::SimpleAtod(row.at(c), &v)) << c << "=" << row.at(c);
  return v;
}

std::vector<double> List(const std::string& text) {
  std::vector<double> out;
  for (absl::string_view part : absl::StrSplit(text, ';')) {
    double v = 0;
    EXPECT_TRUE(absl::SimpleAtod(part, &v));
    out.push_back(v);
  }
  return out;
}

void ExpectClose(double got, double want, const std::string& what) {
  EXPECT_TRUE(std::isfinite(got)) << what;
  EXPECT_NEAR(got, want, std::max(1e-10, 1e-6 * std::fabs(want))) << what;
}

// The exact methods: 1e-9 relative, however small the value (the CSVs carry
// 15 significant digits).
void ExpectExact(double got, double want, const std::string& what) {
  EXPECT_TRUE(std::isfinite(got)) << what;
  EXPECT_NEAR(got, want, 1e-9 * std::fabs(want)) << what;
}

// Interval limits: 1e-9 relative, 1e-12 absolute where a limit is near 0.
void ExpectLimit(double got, double want, const std::string& what) {
  EXPECT_TRUE(std::isfinite(got)) << what;
  EXPECT_NEAR(got, want, std::max(1e-12, 1e-9 * std::fabs(want))) << what;
}

std::vector<int64_t> Counts(const std::string& text) {
  std::vector<int64_t> out;
  for (double v : List(text)) out.push_back(static_cast<int64_t>(v));
  return out;
}

// Fisher's three p-values of a row against fisher.test's.
void ExpectFisher(int64_t x1, int64_t n1, int64_t x0, int64_t n0,
                  const std::map<std::string, std::string>& r,
                  const std::string& what) {
  for (const auto& [alternative, column] :
       {std::pair{Alternative::kGreater, "p"},
        {Alternative::kLess, "p_less"},
        {Alternative::kTwoSided, "p_two_sided"}}) {
    auto p = FisherExact(x1, n1, x0, n0, alternative);
    ASSERT_TRUE(p.ok()) << what;
    ExpectExact(
        *p, D(r, column),
        std::string("Fisher ") + AlternativeName(alternative) + " " + what);
  }
}

TEST(ReferenceTest, ClopperPearsonAndWilson) {
  for (const auto& r : ReadVectors("proportion_ci.csv")) {
    const int64_t x = D(r, "x"), n = D(r, "n");
    const double level = D(r, "level");
    const std::string what = r.at("x") + "/" + r.at("n") + " @" + r.at("level");
    auto cp = ClopperPearson(x, n, level);
    ASSERT_TRUE(cp.ok()) << what;
    ExpectClose(cp->lower, D(r, "cp_lower"), "CP lower " + what);
    ExpectClose(cp->upper, D(r, "cp_upper"), "CP upper " + what);
    auto wi = Wilson(x, n, level);
    ASSERT_TRUE(wi.ok()) << what;
    ExpectClose(wi->lower, D(r, "wilson_lower"), "Wilson lower " + what);
    ExpectClose(wi->upper, D(r, "wilson_upper"), "Wilson upper " + what);
  }
}

TEST(ReferenceTest, BinomialTestAndMidP) {
  for (const auto& r : ReadVectors("binomial_test.csv")) {
    const int64_t x = D(r, "x"), n = D(r, "n");
    const double p0 = D(r, "p0");
    const std::string what = r.at("x") + "/" + r.at("n") + " p0=" + r.at("p0");
    auto p = BinomialUpperTail(x, n, p0);
    ASSERT_TRUE(p.ok()) << what;
    ExpectClose(*p, D(r, "p"), "p " + what);
    auto mid = BinomialMidP(x, n, p0);
    ASSERT_TRUE(mid.ok()) << what;
    ExpectClose(*mid, D(r, "midp"), "mid-p " + what);
  }
}

TEST(ReferenceTest, Posterior) {
  for (const auto& r : ReadVectors("posterior.csv")) {
    auto post = PosteriorExceeds(D(r, "x"), D(r, "n"), D(r, "p0"), D(r, "a"),
                                 D(r, "b"));
    ASSERT_TRUE(post.ok());
    ExpectClose(*post, D(r, "posterior"), "posterior " + r.at("x"));
  }
}

TEST(ReferenceTest, PoissonRate) {
  for (const auto& r : ReadVectors("poisson_rate.csv")) {
    auto rate = PoissonRate(D(r, "events"), D(r, "py"), D(r, "level"));
    ASSERT_TRUE(rate.ok());
    ExpectClose(rate->rate, D(r, "rate"), "rate " + r.at("events"));
    ExpectClose(rate->lower, D(r, "lower"), "lower " + r.at("events"));
    ExpectClose(rate->upper, D(r, "upper"), "upper " + r.at("events"));
  }
}

TEST(ReferenceTest, FisherAndNewcombe) {
  for (const auto& r : ReadVectors("two_groups.csv")) {
    const int64_t x1 = D(r, "x1"), n1 = D(r, "n1"), x0 = D(r, "x0"),
                  n0 = D(r, "n0");
    const std::string what =
        r.at("x1") + "/" + r.at("n1") + " vs " + r.at("x0") + "/" + r.at("n0");
    auto p = FisherGreater(x1, n1, x0, n0);
    ASSERT_TRUE(p.ok()) << what;
    ExpectExact(*p, D(r, "p"), "Fisher " + what);
    ExpectFisher(x1, n1, x0, n0, r, what);
    auto rd = NewcombeDifference(x1, n1, x0, n0, 0.95);
    ASSERT_TRUE(rd.ok()) << what;
    ExpectClose(rd->lower, D(r, "rd_lower"), "RD lower " + what);
    ExpectClose(rd->upper, D(r, "rd_upper"), "RD upper " + what);
  }
}

TEST(ReferenceTest, MiettinenNurminenIntervals) {
  for (const auto& r : ReadVectors("two_groups.csv")) {
    const int64_t x1 = D(r, "x1"), n1 = D(r, "n1"), x0 = D(r, "x0"),
                  n0 = D(r, "n0");
    const std::string what =
        r.at("x1") + "/" + r.at("n1") + " vs " + r.at("x0") + "/" + r.at("n0");
    auto rd = MiettinenNurminenDifference(x1, n1, x0, n0, 0.95);
    ASSERT_TRUE(rd.ok()) << what;
    ExpectLimit(rd->lower, D(r, "mn_lower"), "MN RD lower " + what);
    ExpectLimit(rd->upper, D(r, "mn_upper"), "MN RD upper " + what);
    auto rr = MiettinenNurminenRatio(x1, n1, x0, n0, 0.95);
    ASSERT_TRUE(rr.ok()) << what;
    ExpectLimit(rr->lower, D(r, "rr_lower"), "MN RR lower " + what);
    // R writes an unbounded upper limit (x0 = 0) as Inf.
    EXPECT_EQ(rr->upper_infinite, r.at("rr_upper") == "Inf") << what;
    if (!rr->upper_infinite) {
      ExpectLimit(rr->upper, D(r, "rr_upper"), "MN RR upper " + what);
    }
  }
}

TEST(ReferenceTest, FisherAtCountsUpTo1e12) {
  for (const auto& r : ReadVectors("large_fisher.csv")) {
    const int64_t x1 = D(r, "x1"), n1 = D(r, "n1"), x0 = D(r, "x0"),
                  n0 = D(r, "n0");
    ExpectFisher(
        x1, n1, x0, n0, r,
        r.at("x1") + "/" + r.at("n1") + " vs " + r.at("x0") + "/" + r.at("n0"));
  }
}

TEST(ReferenceTest, BinomialAtCountsUpTo1e12) {
  for (const auto& r : ReadVectors("large_binomial.csv")) {
    const double x = D(r, "x"), n = D(r, "n"), p0 = D(r, "p0");
    const std::string what = r.at("x") + "/" + r.at("n") + " p0=" + r.at("p0");
    // Absolute 1e-9 on the log is 1e-9 relative on the probability.
    EXPECT_NEAR(LogBinomialPmf(x, n, p0, 1 - p0), D(r, "log_pmf"), 1e-9)
        << what;
    auto mid =
        BinomialMidP(static_cast<int64_t>(x), static_cast<int64_t>(n), p0);
    ASSERT_TRUE(mid.ok()) << what;
    ExpectExact(*mid, D(r, "midp"), "mid-p " + what);
  }
}

TEST(ReferenceTest, TrendStatistic) {
  for (const auto& r : ReadVectors("trend.csv")) {
    std::vector<int64_t> x, n;
    for (double v : List(r.at("x"))) x.push_back(static_cast<int64_t>(v));
    for (double v : List(r.at("n"))) n.push_back(static_cast<int64_t>(v));
    auto trend = CochranArmitageIncreasing(x, n, List(r.at("scores")));
    ASSERT_TRUE(trend.ok());
    ExpectClose(trend->z * trend->z, D(r, "chisq"), "trend " + r.at("x"));
  }
}

TEST(ReferenceTest, ExactTrendMatchesCoin) {
  for (const auto& r : ReadVectors("trend_exact.csv")) {
    const std::string what =
        r.at("x") + " of " + r.at("n") + " scores " + r.at("scores");
    auto trend = CochranArmitage(Counts(r.at("x")), Counts(r.at("n")),
                                 List(r.at("scores")), {.two_sided = true});
    ASSERT_TRUE(trend.ok()) << what;
    EXPECT_TRUE(trend->exact) << what;
    ExpectExact(trend->p, D(r, "p_greater"), "one-sided " + what);
    ExpectExact(trend->p_two_sided, D(r, "p_two_sided"), "two-sided " + what);
    EXPECT_NEAR(trend->z * trend->z, D(r, "chisq"),
                1e-9 * std::max(1.0, D(r, "chisq")))
        << what;
  }
}

TEST(ReferenceTest, BenjaminiHochbergAndDoubleFdr) {
  auto rows = ReadVectors("fdr.csv");
  std::vector<std::string> soc;
  std::vector<double> p;
  for (const auto& r : rows) {
    soc.push_back(r.at("soc"));
    p.push_back(D(r, "p"));
  }
  std::vector<double> bh = BenjaminiHochberg(p);
  for (size_t i = 0; i < rows.size(); ++i) {
    ExpectClose(bh[i], D(rows[i], "bh"), "BH " + std::to_string(i));
  }
  for (auto [q, column] :
       {std::pair{0.05, "dfdr_05"}, {0.1, "dfdr_10"}, {0.2, "dfdr_20"}}) {
    auto dfdr = DoubleFdr(soc, p, q);
    ASSERT_TRUE(dfdr.ok());
    for (size_t i = 0; i < rows.size(); ++i) {
      ExpectClose(dfdr->adjusted[i], D(rows[i], column),
                  absl::StrCat("dFDR ", column, " ", i));
      EXPECT_EQ(dfdr->flagged[i], D(rows[i], column) <= q) << column << i;
    }
  }
}

}  // namespace
}  // namespace aesignal::signal
