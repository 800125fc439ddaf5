// Every function of the signal module against reference values computed by
// base R (services/signal/testdata/make_vectors.R, committed with its
// outputs): agreement to 1e-6 relative (1e-10 absolute near 0).
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
    ExpectClose(*p, D(r, "p"), "Fisher " + what);
    auto rd = NewcombeDifference(x1, n1, x0, n0, 0.95);
    ASSERT_TRUE(rd.ok()) << what;
    ExpectClose(rd->lower, D(r, "rd_lower"), "RD lower " + what);
    ExpectClose(rd->upper, D(r, "rd_upper"), "RD upper " + what);
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

TEST(ReferenceTest, BenjaminiHochbergAndDoubleFdr) {
  auto rows = ReadVectors("fdr.csv");
  std::vector<std::string> soc;
  std::vector<double> p;
  for (const auto& r : rows) {
    soc.push_back(r.at("soc"));
    p.push_back(D(r, "p"));
  }
  std::vector<double> bh = BenjaminiHochberg(p);
  auto dfdr = DoubleFdr(soc, p);
  ASSERT_TRUE(dfdr.ok());
  for (size_t i = 0; i < rows.size(); ++i) {
    ExpectClose(bh[i], D(rows[i], "bh"), "BH " + std::to_string(i));
    ExpectClose((*dfdr)[i], D(rows[i], "dfdr"), "dFDR " + std::to_string(i));
  }
}

}  // namespace
}  // namespace aesignal::signal
