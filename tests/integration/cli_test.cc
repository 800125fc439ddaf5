// The aesignal CLI end to end (in process) against a real server on
// 127.0.0.1:0: the bundled example trial, resubmission, bad files.
#include "clients/cli/cli.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "aesignal/v1/safety_service.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "services/domain/signals.h"
#include "services/server/server.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kExample = AESIGNAL_SOURCE_DIR "/deploy/example";

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server =
        Server::Start({.listen = "127.0.0.1:0", .data_dir = dir_.Sub("data")});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  CliRun Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"aesignal", "--server",
                               absl::StrCat("127.0.0.1:", server_->port())});
    std::ostringstream out, err;
    int code = cli::RunCli(args, {.out = out, .err = err});
    return {code, out.str(), err.str()};
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = dir_.Sub(name);
    std::ofstream(path) << text;
    return path;
  }

  void LoadExample() {
    CliRun created =
        Cli({"trial", "create", "--file", kExample + "/trial.json"});
    ASSERT_EQ(created.code, 0) << created.err;
    CliRun enrolled = Cli({"subjects", "enroll", "--trial", "MSC-IPF-EX1",
                           "--file", kExample + "/subjects.csv"});
    ASSERT_EQ(enrolled.code, 0) << enrolled.err;
    EXPECT_THAT(enrolled.out, HasSubstr("9 in file"));
  }

  testing::TempDir dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(CliTest, ExampleTrialLoadsAndResubmittingChangesNothing) {
  LoadExample();
  CliRun first = Cli({"reports", "submit", "--trial", "MSC-IPF-EX1", "--file",
                      kExample + "/reports.csv"});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("16 rows; accepted 16, duplicate 0, "
                                   "superseded 0, rejected 0"));
  CliRun table_before = Cli(
      {"incidence", "--trial", "MSC-IPF-EX1", "--by", "pt", "--format", "csv"});
  ASSERT_EQ(table_before.code, 0) << table_before.err;

  // The whole file again, in small batches: every row a duplicate.
  CliRun again = Cli({"reports", "submit", "--trial", "MSC-IPF-EX1", "--file",
                      kExample + "/reports.csv", "--batch-size", "3"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("accepted 0, duplicate 16"));
  CliRun table_after = Cli(
      {"incidence", "--trial", "MSC-IPF-EX1", "--by", "pt", "--format", "csv"});
  EXPECT_EQ(table_after.out, table_before.out);
  EXPECT_TRUE(server_->monitor().VerifyCounters("MSC-IPF-EX1").ok());

  // Re-creating the trial and re-enrolling are idempotent too.
  CliRun recreated =
      Cli({"trial", "create", "--file", kExample + "/trial.json"});
  EXPECT_EQ(recreated.code, 0) << recreated.err;
  CliRun enrolled = Cli({"subjects", "enroll", "--trial", "MSC-IPF-EX1",
                         "--file", kExample + "/subjects.csv"});
  EXPECT_THAT(enrolled.out, HasSubstr("0 enrolled, 0 updated (new version), "
                                      "9 unchanged"));
}

TEST_F(CliTest, IncidenceFormats) {
  LoadExample();
  ASSERT_EQ(Cli({"reports", "submit", "--trial", "MSC-IPF-EX1", "--file",
                 kExample + "/reports.csv"})
                .code,
            0);
  // Table: the SAE row of the example (AE-0006 is a serious dyspnoea in
  // D100M in month 3, AE-0005 v2 a serious pneumonia by month 6).
  CliRun table = Cli({"incidence", "--trial", "MSC-IPF-EX1"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("Any serious AE"));
  EXPECT_THAT(table.out, HasSubstr("D100M       1/3 33%  2/3 67%"));

  // JSON is the proto's JSON and parses back.
  CliRun json = Cli({"incidence", "--trial", "MSC-IPF-EX1", "--by", "soc",
                     "--format", "json", "--confidence", "0.9"});
  ASSERT_EQ(json.code, 0) << json.err;
  v1::GetIncidenceResponse parsed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &parsed).ok());
  EXPECT_DOUBLE_EQ(parsed.confidence_level(), 0.9);
  EXPECT_GT(parsed.terms_size(), 3);

  // CSV has one line per term x (groups + total) x timepoint, plus header.
  CliRun csv = Cli({"incidence", "--trial", "MSC-IPF-EX1", "--by", "soc",
                    "--format", "csv"});
  ASSERT_EQ(csv.code, 0);
  const int lines = std::count(csv.out.begin(), csv.out.end(), '\n');
  EXPECT_EQ(lines, 1 + parsed.terms_size() * 4 * 7);
  EXPECT_THAT(csv.out, HasSubstr("SOC,Infections and infestations,,,"));
}

TEST_F(CliTest, BadRowsAreReportedByLineAndTheRestStored) {
  LoadExample();
  const std::string bad = WriteFile(
      "bad.csv",
      "report_id,version,site_id,subject_id,onset_study_day,pt,soc,grade\n"
      "X1,1,01,EX1-001,9999,Rash,Skin,2\n"  // line 2: onset too late
      "X2,1,01,EX1-001,20,Rash,Skin,2\n"    // line 3: fine
      "X3,one,01,EX1-001,20,Rash,Skin,2\n"  // line 4: unreadable version
      "X4,1,01,EX1-001,20,Rash,Skin,7\n"    // line 5: grade out of range
      "X5,1,01,NOBODY,20,Rash,Skin,1\n");   // line 6: unknown subject
  CliRun run =
      Cli({"reports", "submit", "--trial", "MSC-IPF-EX1", "--file", bad});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("bad.csv:2: onset_study_day:"));
  EXPECT_THAT(run.err, HasSubstr("bad.csv:4: version: 'one'"));
  EXPECT_THAT(run.err, HasSubstr("bad.csv:5: grade:"));
  EXPECT_THAT(run.err, HasSubstr("bad.csv:6: subject_id:"));
  EXPECT_THAT(run.err, Not(HasSubstr("bad.csv:3")));
  EXPECT_THAT(run.out, HasSubstr("5 rows; accepted 1, duplicate 0, "
                                 "superseded 0, rejected 4 (1 unreadable"));
  CliRun table = Cli(
      {"incidence", "--trial", "MSC-IPF-EX1", "--by", "pt", "--format", "csv"});
  EXPECT_THAT(table.out, HasSubstr("PT,Skin,Rash,"));
  EXPECT_TRUE(server_->monitor().VerifyCounters("MSC-IPF-EX1").ok());
}

TEST_F(CliTest, FileLevelErrorsStoreNothing) {
  LoadExample();
  CliRun unknown_column =
      Cli({"reports", "submit", "--trial", "MSC-IPF-EX1", "--file",
           WriteFile("u.csv", "report_id,severity\nX1,mild\n")});
  EXPECT_EQ(unknown_column.code, 1);
  EXPECT_THAT(unknown_column.err,
              HasSubstr("u.csv:1: unknown column 'severity'"));

  CliRun broken_quote =
      Cli({"reports", "submit", "--trial", "MSC-IPF-EX1", "--file",
           WriteFile("q.csv",
                     "report_id,version,site_id,subject_id,"
                     "onset_study_day,pt,soc,grade\n"
                     "Q1,1,01,EX1-001,20,\"Rash,Skin,1\n")});
  EXPECT_EQ(broken_quote.code, 1);
  EXPECT_THAT(broken_quote.err, HasSubstr("q.csv:line 2: quoted field"));

  CliRun missing = Cli({"reports", "submit", "--trial", "MSC-IPF-EX1", "--file",
                        dir_.Sub("nope.csv")});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("cannot open"));

  CliRun table = Cli(
      {"incidence", "--trial", "MSC-IPF-EX1", "--by", "pt", "--format", "csv"});
  EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), 1);
}

TEST_F(CliTest, EnrollmentErrorsNameTheLineAndEnrollNobody) {
  LoadExample();
  CliRun run =
      Cli({"subjects", "enroll", "--trial", "MSC-IPF-EX1", "--file",
           WriteFile("s.csv",
                     "subject_id,site_id,dose_group_id,last_contact_day\n"
                     "N1,01,D20M,10\n"
                     "N2,01,BOGUS,10\n")});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("s.csv:3: dose_group_id:"));
  CliRun list =
      Cli({"subjects", "list", "--trial", "MSC-IPF-EX1", "--format", "csv"});
  EXPECT_THAT(list.out, Not(HasSubstr("N1,")));
}

TEST_F(CliTest, UsageAndServerErrors) {
  EXPECT_EQ(Cli({"incidence", "--trial", "X", "--by", "hlt"}).code, 2);
  EXPECT_EQ(Cli({"frobnicate"}).code, 2);
  EXPECT_EQ(Cli({}).code, 2);
  CliRun help = Cli({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("incidence"));

  CliRun unknown_trial = Cli({"trial", "get", "--trial", "NCT000"});
  EXPECT_EQ(unknown_trial.code, 1);
  EXPECT_THAT(unknown_trial.err, HasSubstr("NOT_FOUND"));

  CliRun bad_json =
      Cli({"trial", "create", "--file",
           WriteFile("t.json", "{\"trial_id\": 5, \"bogus\": 1}")});
  EXPECT_EQ(bad_json.code, 1);
  EXPECT_THAT(bad_json.err, HasSubstr("t.json: not a valid aesignal.v1.Trial"));

  std::ostringstream out, err;
  EXPECT_EQ(cli::RunCli({"aesignal", "--server", "127.0.0.1:1", "--timeout",
                         "2", "trial", "list"},
                        {.out = out, .err = err}),
            1);
  EXPECT_THAT(err.str(), HasSubstr("UNAVAILABLE"));
}

TEST_F(CliTest, BaselinesSignalsWatchAndTriage) {
  LoadExample();
  CliRun loaded = Cli({"baselines", "load", "--trial", "MSC-IPF-EX1", "--file",
                       kExample + "/baselines.csv"});
  ASSERT_EQ(loaded.code, 0) << loaded.err;
  EXPECT_THAT(loaded.out, HasSubstr("5 new"));
  ASSERT_EQ(Cli({"reports", "submit", "--trial", "MSC-IPF-EX1", "--file",
                 kExample + "/reports.csv"})
                .code,
            0);
  ASSERT_TRUE(server_->monitor().signals().WaitIdle(absl::Seconds(10)).ok());

  // The example raises, against the Cx611 serious-AE baseline (1/46), the
  // D100M cell at month 6: 2/3, P(X >= 2 | 3, 1/46).
  CliRun list = Cli({"signals", "list", "--trial", "MSC-IPF-EX1", "--method",
                     "binomial_exact", "--dose-group", "D100M"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("BINOMIAL~OVERALL~any_sae~D100M~M6"));
  CliRun show = Cli({"signals", "show", "--trial", "MSC-IPF-EX1", "--signal",
                     "BINOMIAL~OVERALL~any_sae~D100M~M6"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("p=0.001397"));
  EXPECT_THAT(show.out, HasSubstr("Ann Rheum Dis 2017"));
  EXPECT_THAT(show.out, HasSubstr("by report AE-0005 v2"));

  CliRun triage =
      Cli({"--principal", "dsmb-chair", "signals", "triage", "--trial",
           "MSC-IPF-EX1", "--signal", "BINOMIAL~OVERALL~any_sae~D100M~M6",
           "--status", "validated", "--comment", "DSMB review", "--actor",
           "chair"});
  ASSERT_EQ(triage.code, 0) << triage.err;
  EXPECT_THAT(triage.out, HasSubstr("is now validated"));
  CliRun bad = Cli({"signals", "triage", "--trial", "MSC-IPF-EX1", "--signal",
                    "BINOMIAL~OVERALL~any_sae~D100M~M6", "--status", "new",
                    "--comment", "x", "--actor", "y"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("FAILED_PRECONDITION"));

  // The watcher replays the log from the start, the triage last.
  CliRun watch = Cli({"signals", "watch", "--trial", "MSC-IPF-EX1", "--seconds",
                      "5", "--max-changes", "6"});
  ASSERT_EQ(watch.code, 0) << watch.err;
  EXPECT_THAT(watch.out, HasSubstr("#1 raised"));
  EXPECT_THAT(watch.out, HasSubstr("#6 triaged validated"));

  // The audit trail records the baselines and the triage with who and why.
  CliRun audit = Cli({"--principal", "dsmb-chair", "audit", "list", "--trial",
                      "MSC-IPF-EX1", "--action", "signal.triage"});
  ASSERT_EQ(audit.code, 0) << audit.err;
  EXPECT_THAT(audit.out, HasSubstr("BINOMIAL~OVERALL~any_sae~D100M~M6"));
  EXPECT_THAT(audit.out, HasSubstr("why: DSMB review"));
  EXPECT_THAT(audit.out,
              HasSubstr("by dsmb-chair via SignalService.UpdateSignal"));
  EXPECT_THAT(audit.out, HasSubstr("1 record(s)"));
  CliRun baselines = Cli({"audit", "list", "--trial", "MSC-IPF-EX1", "--action",
                          "baseline.put", "--format", "json"});
  EXPECT_THAT(baselines.out, HasSubstr("Ann Rheum Dis 2017"));
}

}  // namespace
}  // namespace aesignal
