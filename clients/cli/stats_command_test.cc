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
using ::testing::Not;

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
  EXPECT_THAT(list.err, HasSubstr("--x: must be a whole number"));
  EXPECT_THAT(list.err, HasSubstr("got 'a'"));
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

// A file the double FDR cannot read as meant is refused, naming the line.
TEST(StatsCommandTest, DoubleFdrRefusesAFileItCannotReadAsMeant) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "aesignal_dfdr_bad.csv")
          .string();
  for (const auto& [text, says] :
       std::vector<std::pair<std::string, std::string>>{
           {"soc,pt,p,p\nA,a1,0.1,0.2\n",
            ":1: column p appears more than once"},
           {"soc,pt,p\nA,a1,0.1\nA,a2\n", ":3: 2 fields, but the header has 3"},
           {"soc,pt,p\nA,a1,0.1,x\n", ":2: 4 fields, but the header has 3"},
           {"soc,pt,p\nA,a1,1.5\n", ":2: p: '1.5' is not a p-value"},
           {"soc,pt,p\nA,a1,nan\n", ":2: p: 'nan' is not a p-value"}}) {
    std::ofstream(path) << text;
    Out r = Stats({"dfdr", "--file", path});
    EXPECT_EQ(r.code, 1) << text;
    EXPECT_THAT(r.err, HasSubstr(path + says)) << text;
  }
  std::filesystem::remove(path);
}

// No JSON value is inf or nan (%.17g would print them bare: not JSON).
void ExpectFiniteJson(const std::string& json) {
  for (const char* bad : {": inf", ": -inf", ": nan", ": -nan"}) {
    EXPECT_THAT(json, Not(HasSubstr(bad))) << json;
  }
}

TEST(StatsCommandTest, FisherAlternativesFollowRsFisherTest) {
  // fisher.test(matrix(c(5, 1, 1, 5), 2)): greater 0.0400432900432901,
  // less 0.998917748917749, two.sided 0.08008658008658.
  const std::vector<std::string> table = {"--format", "json", "fisher", "--x1",
                                          "5",        "--n1", "6",      "--x0",
                                          "1",        "--n0", "6"};
  Out greater = Stats(table);  // the default, as before --alternative
  ASSERT_EQ(greater.code, 0) << greater.err;
  EXPECT_THAT(greater.out, HasSubstr("\"alternative\": \"greater\""));
  EXPECT_THAT(greater.out, HasSubstr("\"p_value\": 0.040043290043290"));
  EXPECT_THAT(greater.out,
              HasSubstr("\"p_value_one_sided\": 0.040043290043290"));
  std::vector<std::string> args = table;
  args.insert(args.end(), {"--alternative", "two.sided"});
  Out two = Stats(args);
  ASSERT_EQ(two.code, 0) << two.err;
  EXPECT_THAT(two.out, HasSubstr("\"p_value\": 0.080086580086580"));
  args.back() = "less";
  EXPECT_THAT(Stats(args).out, HasSubstr("\"p_value\": 0.99891774891774"));
  args.back() = "both";
  EXPECT_EQ(Stats(args).code, 1);
}

TEST(StatsCommandTest, CompareGivesBothIntervalsAndNoInfinityInJson) {
  // Fagerland et al. 2017, ch. 4: 7/34 vs 1/34, MN ratio 1.2086 to 43.0330.
  Out rr = Stats({"--format", "json", "compare", "--x1", "7", "--n1", "34",
                  "--x2", "1", "--n2", "34"});
  ASSERT_EQ(rr.code, 0) << rr.err;
  EXPECT_THAT(rr.out, HasSubstr("\"relative_risk\": 7,"));
  EXPECT_THAT(rr.out, HasSubstr("\"rr_lower\": 1.2085"));
  EXPECT_THAT(rr.out, HasSubstr("\"rr_upper\": 43.03"));
  EXPECT_THAT(rr.out, HasSubstr("\"fisher_two_sided\": 0.05440013049506"));
  // No events in the control group: an infinite ratio and an unbounded
  // upper limit are null in JSON, words in the table.
  Out zero = Stats({"--format", "json", "compare", "--x1", "3", "--n1", "10",
                    "--x0", "0", "--n0", "10"});
  ASSERT_EQ(zero.code, 0) << zero.err;
  EXPECT_THAT(zero.out, HasSubstr("\"relative_risk\": null"));
  EXPECT_THAT(zero.out, HasSubstr("\"rr_upper\": null"));
  ExpectFiniteJson(zero.out);
  Out table =
      Stats({"compare", "--x1", "0", "--n1", "10", "--x0", "0", "--n0", "10"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("relative_risk          undefined"));
  EXPECT_THAT(table.out, HasSubstr("rr_upper               unbounded"));
}

TEST(StatsCommandTest, TrendIsExactForTheIssueExample) {
  Out r = Stats({"--format", "json", "trend", "--x", "0,0,1,2,4", "--n",
                 "12,12,12,12,12"});
  ASSERT_EQ(r.code, 0) << r.err;
  // coin's exact p (testdata/trend_exact.csv); asymptotic 0.00223.
  EXPECT_THAT(r.out, HasSubstr("\"p_value_one_sided\": 0.00255724055902"));
  EXPECT_THAT(r.out, HasSubstr("\"p_value_two_sided\": 0.00511448111804"));
  EXPECT_THAT(r.out, HasSubstr("\"method\": \"exact conditional\""));
  Out none = Stats({"trend", "--x", "0,0,0", "--n", "3,3,3"});
  ASSERT_EQ(none.code, 0) << none.err;
  EXPECT_THAT(none.out, HasSubstr("no events"));
}

TEST(StatsCommandTest, EveryMethodRejectsNonFiniteAndOutOfRangeValues) {
  // Each case: a valid invocation with one value replaced.
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"incidence-ci", "--x", "3.5", "--n", "6"}, "--x"},
      {{"incidence-ci", "--x", "1", "--n", "inf"}, "--n"},
      {{"incidence-ci", "--x", "1", "--n", "6", "--level", "nan"}, "--level"},
      {{"binom-test", "--x", "-1", "--n", "10", "--p0", "0.05"}, "--x"},
      {{"binom-test", "--x", "1", "--n", "1e13", "--p0", "0.05"}, "--n"},
      {{"binom-test", "--x", "1", "--n", "10", "--p0", "NaN"}, "--p0"},
      {{"posterior", "--x", "1", "--n", "3", "--p0", "0.2", "--a", "inf"},
       "--a"},
      {{"posterior", "--x", "1", "--n", "3", "--p0", "0.2", "--weight", "-1"},
       "--weight"},
      {{"boundary", "--p0", "0.2", "--nmax", "1000000"}, "--nmax"},
      {{"maxsprt-cv", "--T", "1e9"}, "--T"},
      {{"maxsprt-cv", "--T", "10", "--M", "2.5"}, "--M"},
      {{"maxsprt-cv", "--T", "10", "--alpha", "1"}, "--alpha"},
      {{"maxsprt-binomial-cv", "--N", "100000"}, "--N"},
      {{"maxsprt-binomial-cv", "--N", "50", "--z", "-inf"}, "--z"},
      {{"cusum", "--outcomes", "1,0.5", "--p0", "0.1", "--h", "1"},
       "--outcomes"},
      {{"cusum", "--outcomes", "1,0", "--p0", "0.1", "--h", "inf"}, "--h"},
      {{"trend", "--x", "1,2", "--n", "3,3", "--scores", "0,nan"}, "--scores"},
      {{"trend", "--x", "1,2", "--n", "3,1e13"}, "--n"},
      {{"fisher", "--x1", "1", "--n1", "3", "--x0", "0", "--n0", "3.25"},
       "--n0"},
      {{"compare", "--x1", "1", "--n1", "3", "--x0", "0", "--n0", "3",
        "--level", "1.5"},
       "--level"},
      {{"eair", "--events", "2", "--py", "inf"}, "--py"},
      {{"dfdr", "--file", "x.csv", "--fdr", "0"}, "--fdr"},
      {{"dfdr", "--file", "x.csv", "--fdr", "1"}, "--fdr"},
  };
  for (const auto& [args, flag] : bad) {
    Out r = Stats(args);
    EXPECT_EQ(r.code, 1) << args[0] << " " << flag << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(flag)) << args[0];
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

// A source sample's events or weight without its size would be ignored:
// a usage error (exit 2) naming --n0.
TEST(StatsCommandTest, APosteriorsSourceSampleNeedsItsSize) {
  for (const char* flag : {"--x0", "--weight"}) {
    Out r =
        Stats({"posterior", "--x", "1", "--n", "3", "--p0", "0.2", flag, "2"});
    EXPECT_EQ(r.code, 2) << flag << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(std::string(flag) + " requires --n0"));
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  EXPECT_EQ(Stats({"posterior", "--x", "1", "--n", "3", "--p0", "0.2", "--x0",
                   "2", "--n0", "10", "--weight", "0.5"})
                .code,
            0);
}

TEST(StatsCommandTest, AMaxSprtPlanThatCanNeverSignalIsAnError) {
  Out r = Stats({"maxsprt-binomial-cv", "--N", "5", "--M", "6"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("never signal"));
}

// 1000 events when 0.001 are expected: P ~ 1e-5568, 0 in double precision,
// yet a plan that signals at any excess once they occur (its error is far
// below alpha).
TEST(StatsCommandTest, APoissonMaxSprtPlanRarerThanAlphaGetsTheFloor) {
  Out p =
      Stats({"--format", "json", "maxsprt-cv", "--T", "0.001", "--M", "1000"});
  EXPECT_EQ(p.code, 0) << p.err;
  EXPECT_THAT(p.out, HasSubstr("\"critical_value\": 1.0291038"));
  EXPECT_THAT(p.out, HasSubstr("\"type_i_error\": 0}"));
}

TEST(StatsCommandTest, ExtremeValidInputsGiveFiniteJson) {
  const std::vector<std::vector<std::string>> runs = {
      {"binom-test", "--x", "1000000000000", "--n", "1000000000000", "--p0",
       "0.999999999", "--mid-p"},
      {"binom-test", "--x", "0", "--n", "1000000000000", "--p0", "1e-300",
       "--mid-p"},
      {"incidence-ci", "--x", "0", "--n", "1000000000000", "--level",
       "0.999999"},
      {"fisher", "--x1", "1000000000000", "--n1", "1000000000000", "--x0", "0",
       "--n0", "1000000000000", "--alternative", "two.sided"},
      {"compare", "--x1", "1", "--n1", "1", "--x0", "0", "--n0", "1"},
      {"compare", "--x1", "999999999999", "--n1", "1000000000000", "--x0", "1",
       "--n0", "1000000000000"},
      {"eair", "--events", "1000000000", "--py", "1e-6", "--level", "0.999999"},
      {"posterior", "--x", "0", "--n", "1000000000000", "--p0", "1e-12"},
      {"trend", "--x", "0,0,5", "--n", "5,5,5", "--scores", "0,1e-15,1e15"},
  };
  for (auto args : runs) {
    args.insert(args.begin(), {"--format", "json"});
    Out r = Stats(args);
    ASSERT_EQ(r.code, 0) << args[2] << ": " << r.err;
    ExpectFiniteJson(r.out);
  }
}

TEST(StatsCommandTest, BoundaryWithoutTypeKeepsTheUncalibratedTable) {
  // docs/statistics.md's example, byte for byte.
  Out r = Stats({"boundary", "--p0", "0.2", "--nmax", "6", "--threshold",
                 "0.95", "--a", "1", "--b", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "p0                     0.2\n"
            "threshold              0.95\n"
            "prior_a                1\n"
            "prior_b                1\n"
            "             n         min_x     posterior\n"
            "             1             1          0.96\n"
            "             2             2         0.992\n"
            "             3             2        0.9728\n"
            "             4             3       0.99328\n"
            "             5             3       0.98304\n"
            "             6             3      0.966656\n");
}

TEST(StatsCommandTest, BoundaryCalibratesAPocockRule) {
  // testdata/boundary_reference.R (base R): p0 0.2, N 30, alpha 0.1.
  Out r = Stats({"--format", "json", "boundary", "--type", "pocock", "--p0",
                 "0.2", "--nmax", "30", "--alpha", "0.1", "--p1", "0.4"});
  ASSERT_EQ(r.code, 0) << r.err;
  ExpectFiniteJson(r.out);
  EXPECT_THAT(r.out, HasSubstr("\"type\": \"pocock\""));
  EXPECT_THAT(r.out, HasSubstr("\"looks\": 30"));
  EXPECT_THAT(r.out, HasSubstr("\"type_i_error\": 0.099152625085651"));
  EXPECT_THAT(r.out, HasSubstr("\"next_type_i_error\": 0.10173636401469"));
  EXPECT_THAT(r.out, HasSubstr("\"parameter\": 0.03617498802883"));
  EXPECT_THAT(r.out, HasSubstr("\"parameter_limit\": 0.03766344290533"));
  EXPECT_THAT(r.out, HasSubstr("\"expected_subjects_p0\": 28.16703166657"));
  EXPECT_THAT(r.out, HasSubstr("\"power_p1\": 0.80576733112688"));
  EXPECT_THAT(r.out, HasSubstr("\"expected_subjects_p1\": 15.75016998373"));
  // n = 7: stop at 4 events, P(Bin(7, 0.2) >= 4) = 0.033344.
  EXPECT_THAT(r.out, HasSubstr("{\"n\": 7, \"boundary\": 4, \"nominal\": "
                               "0.0333439999999"));
  // n = 1, 2: no count stops (boundary n + 1).
  EXPECT_THAT(r.out, HasSubstr("{\"n\": 1, \"boundary\": 2, \"nominal\": 0, "
                               "\"cum_p0\": 0, \"cum_p1\": 0}"));
  Out table = Stats({"boundary", "--type", "pocock", "--p0", "0.2", "--nmax",
                     "30", "--alpha", "0.1"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("type_i_error           0.0991526\n"));
  EXPECT_THAT(table.out,
              HasSubstr("             n      boundary       nominal        "
                        "cum_p0\n"));
  EXPECT_THAT(table.out, HasSubstr("            30            11     0.0256163"
                                   "     0.0991526\n"));
}

TEST(StatsCommandTest, BoundaryOtherFamiliesAndCohorts) {
  // stoppingrule's README (version 0.6): BB, Beta(0.6, 2.4), p0 0.2, N 30,
  // alpha 0.1: error 0.09957367, b(30) = 11.
  Out bb =
      Stats({"--format", "json", "boundary", "--type", "bayes", "--p0", "0.2",
             "--nmax", "30", "--alpha", "0.1", "--a", "0.6", "--b", "2.4"});
  ASSERT_EQ(bb.code, 0) << bb.err;
  EXPECT_THAT(bb.out, HasSubstr("\"type_i_error\": 0.0995736689200"));
  EXPECT_THAT(bb.out, HasSubstr("\"parameter\": 0.96308269167"));
  EXPECT_THAT(bb.out, HasSubstr("{\"n\": 30, \"boundary\": 11, \"posterior\""));
  // Cohorts of 3 up to 31: looks 3, 6, ..., 30 and 31.
  Out obf = Stats({"--format", "json", "boundary", "--type", "obf", "--p0",
                   "0.1", "--nmax", "31", "--cohort", "3", "--alpha", "0.05"});
  ASSERT_EQ(obf.code, 0) << obf.err;
  EXPECT_THAT(obf.out, HasSubstr("\"looks\": 11"));
  EXPECT_THAT(obf.out, HasSubstr("\"type_i_error\": 0.04400784235940"));
  EXPECT_THAT(obf.out, HasSubstr("{\"n\": 31, \"boundary\": 7, \"z\""));
  Out wt = Stats({"boundary", "--type", "wt", "--delta", "0.25", "--p0", "0.2",
                  "--nmax", "50", "--alpha", "0.1"});
  ASSERT_EQ(wt.code, 0) << wt.err;
  EXPECT_THAT(wt.out, HasSubstr("type_i_error           0.0999362\n"));
  // A given rule evaluated: the Bayesian table at tau = 0.95, with its error.
  Out given = Stats({"--format", "json", "boundary", "--type", "bayes",
                     "--parameter", "0.95", "--p0", "0.2", "--nmax", "6"});
  ASSERT_EQ(given.code, 0) << given.err;
  EXPECT_THAT(given.out, HasSubstr("\"parameter\": 0.94999999999999996"));
  EXPECT_THAT(given.out, Not(HasSubstr("parameter_limit")));
  for (const char* row :
       {"{\"n\": 1, \"boundary\": 1,", "{\"n\": 3, \"boundary\": 2,",
        "{\"n\": 6, \"boundary\": 3,"}) {
    EXPECT_THAT(given.out, HasSubstr(row));
  }
  // P(X_1 >= 1) = 0.2: stopped at the first look already.
  EXPECT_THAT(given.out, HasSubstr("\"cum_p0\": 0.20000000000000001"));
}

TEST(StatsCommandTest, BoundaryRejectsConflictingAndOutOfRangeFlags) {
  // Each case: the flags after "boundary --p0 0.2" (and "--nmax 30" unless
  // it gives its own).
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--threshold", "0.9", "--type", "pocock"}, "--threshold gives"},
      {{"--alpha", "0.1"}, "need --type"},
      {{"--cohort", "5"}, "need --type"},
      {{"--type", "pocock", "--alpha", "0.1", "--parameter", "0.01"},
       "exclude each other"},
      {{"--type", "obf", "--delta", "0.1"}, "--delta applies to --type wt"},
      {{"--type", "pocock", "--a", "2"}, "--a and --b apply"},
      {{"--type", "pocock", "--cohort", "31"}, "--cohort: must be at most"},
      {{"--type", "bogus"}, "--type"},
      {{"--type", "wt", "--delta", "0.7"}, "--delta"},
      {{"--type", "pocock", "--alpha", "1"}, "--alpha"},
      {{"--type", "pocock", "--p1", "nan"}, "--p1"},
      {{"--type", "pocock", "--parameter", "1"}, "nominal level c must be"},
  };
  for (const auto& [extra, message] : bad) {
    std::vector<std::string> args = {"boundary", "--p0", "0.2", "--nmax", "30"};
    args.insert(args.end(), extra.begin(), extra.end());
    Out r = Stats(args);
    EXPECT_EQ(r.code, 1) << message << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(message));
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  Out big =
      Stats({"boundary", "--type", "pocock", "--p0", "0.2", "--nmax", "20000"});
  EXPECT_EQ(big.code, 1);
  EXPECT_THAT(big.err, HasSubstr("--nmax: must be at most 10000 with --type"));
  // 5 of 5 at p0 = 0.9 has probability 0.59: no rule within alpha can stop.
  Out never = Stats({"boundary", "--type", "pocock", "--p0", "0.9", "--nmax",
                     "5", "--alpha", "0.1"});
  EXPECT_EQ(never.code, 1);
  EXPECT_THAT(never.err, HasSubstr("raise alpha or N"));
  EXPECT_TRUE(never.out.empty());
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
