#include "clients/cli/stats_command.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "clients/cli/cli.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aesignal::cli {
namespace {

using ::testing::HasSubstr;

struct Out {
  int code;
  std::string out, err;
};

Out Stats(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = RunStatsCommand(args, out, err);
  return {code, out.str(), err.str()};
}

TEST(StatsCommandTest, EveryMethodRunsWithTheIssueExamples) {
  EXPECT_THAT(Stats({"incidence-ci", "--x", "5", "--n", "6"}).out,
              HasSubstr("lower"));
  EXPECT_THAT(
      Stats({"binom-test", "--x", "3", "--n", "10", "--p0", "0.05", "--mid-p"})
          .out,
      HasSubstr("mid_p"));
  EXPECT_THAT(Stats({"posterior", "--x", "3", "--n", "10", "--p0", "0.2", "--a",
                     "1", "--b", "1"})
                  .out,
              HasSubstr("posterior"));
  EXPECT_THAT(Stats({"boundary", "--p0", "0.2", "--nmax", "30", "--threshold",
                     "0.95", "--a", "1", "--b", "1"})
                  .out,
              HasSubstr("min_x"));
  EXPECT_THAT(
      Stats({"trend", "--x", "0,1,3", "--n", "3,3,3", "--scores", "2.5,5,10"})
          .out,
      HasSubstr("exact conditional"));
  EXPECT_THAT(
      Stats({"fisher", "--x1", "5", "--n1", "6", "--x0", "1", "--n0", "6"}).out,
      HasSubstr("risk_difference"));
  EXPECT_THAT(
      Stats({"eair", "--events", "2", "--py", "200", "--level", "0.9"}).out,
      HasSubstr("rate_per_100py"));
  EXPECT_THAT(Stats({"cusum", "--outcomes", "1,0,1,1", "--p0", "0.1", "--or",
                     "2", "--h", "1.5"})
                  .out,
              HasSubstr("signal_at              4"));
}

TEST(StatsCommandTest, JsonCarriesFullPrecision) {
  Out cv = Stats({"--format", "json", "maxsprt-cv", "--alpha", "0.05", "--T",
                  "10", "--M", "1"});
  ASSERT_EQ(cv.code, 0) << cv.err;
  EXPECT_THAT(cv.out, HasSubstr("\"critical_value\": 3.46795"));
  EXPECT_THAT(cv.out, HasSubstr("\"M\": 1"));
  Out ci = Stats({"--format", "json", "incidence-ci", "--x", "2", "--n", "3"});
  // Clopper-Pearson 2/3: [0.0942993, 0.9915962] to 17 digits.
  EXPECT_THAT(ci.out, HasSubstr("\"lower\": 0.094299"));
  EXPECT_THAT(ci.out, HasSubstr("\"upper\": 0.99159"));
}

TEST(StatsCommandTest, BadInputNamesTheProblem) {
  Out bad = Stats({"binom-test", "--x", "11", "--n", "10", "--p0", "0.05"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("x <= n"));
  Out p0 = Stats({"binom-test", "--x", "1", "--n", "10", "--p0", "1.5"});
  EXPECT_EQ(p0.code, 1);
  EXPECT_THAT(p0.err, HasSubstr("p0"));
  Out list = Stats({"trend", "--x", "0,a,3", "--n", "3,3,3"});
  EXPECT_EQ(list.code, 1);
  EXPECT_THAT(list.err, HasSubstr("--x: 'a'"));
  EXPECT_EQ(Stats({"frobnicate"}).code, 2);
  EXPECT_EQ(Stats({"binom-test", "--x", "1"}).code, 2);  // missing flags
}

TEST(StatsCommandTest, DoubleFdrFromAFile) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "aesignal_dfdr_test.csv")
          .string();
  std::ofstream(path) << "soc,pt,p\nA,a1,0.001\nA,a2,0.02\nA,a3,0.03\n"
                         "B,b1,0.2\nB,b2,0.5\nC,c1,0.04\nC,c2,0.9\n";
  Out r = Stats({"--format", "json", "dfdr", "--file", path, "--fdr", "0.1"});
  std::filesystem::remove(path);
  ASSERT_EQ(r.code, 0) << r.err;
  // Double FDR (checked against R in the signal module): 0.009, 0.03, 0.03,
  // 0.4, 0.5, 0.12, 0.9: three flagged at 0.1.
  EXPECT_THAT(r.out, HasSubstr("\"flagged\": 3"));
  EXPECT_THAT(r.out, HasSubstr("\"double_fdr\": 0.0090000000000000"));
  EXPECT_EQ(Stats({"dfdr", "--file", "/nonexistent.csv"}).code, 1);
}

TEST(StatsCommandTest, ReachableFromTheMainCli) {
  std::ostringstream out, err;
  int code = RunCli({"aesignal", "stats", "binom-test", "--x", "3", "--n", "10",
                     "--p0", "0.05"},
                    {.out = out, .err = err});
  EXPECT_EQ(code, 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("p_value"));
}

}  // namespace
}  // namespace aesignal::cli
