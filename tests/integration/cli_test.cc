// The aesignal CLI end to end (in process) against a real server on
// 127.0.0.1:0: the bundled example trial, resubmission, bad files, the
// read-back commands (reports list/show, subjects show, baselines show),
// protocol amendments and the baseline libraries (baselines load --library)
// with the example trials of deploy/examples.
#include "clients/cli/cli.h"

#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "aesignal/v1/safety_service.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "services/domain/signals.h"
#include "services/server/server.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using ::testing::Contains;
using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kExample = AESIGNAL_SOURCE_DIR "/deploy/example";
const std::string kExamples = AESIGNAL_SOURCE_DIR "/deploy/examples";
const std::string kLibraries = AESIGNAL_SOURCE_DIR "/deploy/baselines";

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

  // The trial as `trial get --format json` prints it.
  v1::Trial TrialAsPrinted(const std::string& trial_id) {
    v1::Trial trial;
    const CliRun got =
        Cli({"trial", "get", "--trial", trial_id, "--format", "json"});
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(got.out, &trial).ok())
        << got.out << got.err;
    return trial;
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

  // The example trial with its reports, submitted as principal site-01.
  void LoadExampleReports() {
    LoadExample();
    CliRun submitted =
        Cli({"--principal", "site-01", "reports", "submit", "--trial",
             "MSC-IPF-EX1", "--file", kExample + "/reports.csv"});
    ASSERT_EQ(submitted.code, 0) << submitted.err;
  }

  // The example trial with its baselines and reports, evaluated: its
  // signals raised.
  void LoadExampleWithSignals() {
    LoadExample();
    CliRun loaded = Cli({"baselines", "load", "--trial", "MSC-IPF-EX1",
                         "--file", kExample + "/baselines.csv"});
    ASSERT_EQ(loaded.code, 0) << loaded.err;
    CliRun submitted = Cli({"reports", "submit", "--trial", "MSC-IPF-EX1",
                            "--file", kExample + "/reports.csv"});
    ASSERT_EQ(submitted.code, 0) << submitted.err;
    ASSERT_TRUE(server_->monitor().signals().WaitIdle(absl::Seconds(10)).ok());
  }

  // `baselines load --library` (deploy/baselines) into `trial`.
  CliRun LoadLibrary(const std::string& trial, const std::string& library,
                     std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"baselines", "load",      "--trial",
                                     trial,       "--library", library};
    args.insert(args.end(), extra.begin(), extra.end());
    return Cli(args);
  }

  // The stored baselines of `trial` by id, read back with `baselines list`.
  std::map<std::string, v1::Baseline> StoredBaselines(
      const std::string& trial) {
    CliRun list =
        Cli({"baselines", "list", "--trial", trial, "--format", "json"});
    EXPECT_EQ(list.code, 0) << list.err;
    v1::ListBaselinesResponse all;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(list.out, &all).ok())
        << list.out;
    std::map<std::string, v1::Baseline> by_id;
    for (const auto& b : all.baselines()) by_id[b.baseline_id()] = b;
    return by_id;
  }

  // Creates the example trial of deploy/examples/`name`.
  void CreateExample(const std::string& name) {
    CliRun created = Cli(
        {"trial", "create", "--file", kExamples + "/" + name + "/trial.json"});
    ASSERT_EQ(created.code, 0) << created.err;
  }

  testing::TempDir dir_;
  std::unique_ptr<Server> server_;
};

// The report ids of a `reports list` table, in printed order.
std::vector<std::string> ListedReports(const std::string& out) {
  std::vector<std::string> ids;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    std::vector<absl::string_view> cells =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (cells.size() >= 2 && absl::StartsWith(cells[1], "AE-")) {
      ids.emplace_back(cells[1]);
    }
  }
  return ids;
}

// The token of a "next page: --page-token TOKEN ..." line ("" if none).
std::string NextPageToken(const std::string& out) {
  const std::string marker = "next page: --page-token ";
  const size_t at = out.find(marker);
  if (at == std::string::npos) return "";
  const size_t start = at + marker.size();
  return out.substr(start, out.find(' ', start) - start);
}

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

TEST_F(CliTest, IncidenceSubsetMaxGradeAndTrend) {
  LoadExample();
  ASSERT_EQ(Cli({"reports", "submit", "--trial", "MSC-IPF-EX1", "--file",
                 kExample + "/reports.csv"})
                .code,
            0);
  // The serious AEs only (pneumonia, dyspnoea, two fatal IPF progressions,
  // a basal cell carcinoma), with their highest grades and the dose trend.
  CliRun csv =
      Cli({"incidence", "--trial", "MSC-IPF-EX1", "--by", "pt", "--subset",
           "serious", "--max-grade", "--trend", "--format", "csv"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_THAT(csv.out, HasSubstr(",max_grade_1,max_grade_2,max_grade_3,"
                                 "max_grade_4,max_grade_5,dose_trend_p\n"));
  EXPECT_THAT(csv.out, HasSubstr("PT,Infections and infestations,Pneumonia,"));
  EXPECT_THAT(csv.out, Not(HasSubstr(",Headache,")));
  // Four PTs x (3 groups + total) x 7 timepoints, plus the header.
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 1 + 4 * 4 * 7);
  CliRun table = Cli({"incidence", "--trial", "MSC-IPF-EX1", "--by", "pt",
                      "--subset", "serious", "--max-grade", "--trend"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("  max grade All "));
  EXPECT_THAT(table.out, HasSubstr("  dose trend M3: one-sided p = "));
  // The example has no control arm; an unknown subset is a usage error.
  CliRun control = Cli({"incidence", "--trial", "MSC-IPF-EX1", "--vs-control"});
  EXPECT_EQ(control.code, 1);
  EXPECT_THAT(control.err, HasSubstr("compare_to_control"));
  EXPECT_EQ(
      Cli({"incidence", "--trial", "MSC-IPF-EX1", "--subset", "mild"}).code, 2);
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

  // A problem that stops reading the file sends nothing, not even the rows
  // before it (batches of 500 would otherwise store a prefix of the file).
  const std::string header =
      "report_id,version,site_id,subject_id,onset_study_day,pt,soc,grade\n";
  CliRun broken_quote =
      Cli({"reports", "submit", "--trial", "MSC-IPF-EX1", "--file",
           WriteFile("q.csv", header + "Q0,1,01,EX1-001,20,Rash,Skin,1\n" +
                                  "Q1,1,01,EX1-001,20,\"Rash,Skin,1\n")});
  EXPECT_EQ(broken_quote.code, 1);
  EXPECT_THAT(broken_quote.err, HasSubstr("q.csv:3: quoted field"));
  EXPECT_THAT(broken_quote.err, HasSubstr("nothing was sent"));
  CliRun latin1 =
      Cli({"reports", "submit", "--trial", "MSC-IPF-EX1", "--batch-size", "1",
           "--file",
           WriteFile("l.csv", header + "L0,1,01,EX1-001,20,Rash,Skin,1\n" +
                                  "L1,1,01,EX1-001,20,Naus\xE9" + "e,Skin,1\n" +
                                  "L2,1,01,EX1-001,20,Rash,Skin,1\n")});
  EXPECT_EQ(latin1.code, 1);
  EXPECT_THAT(latin1.err, HasSubstr("l.csv:3: pt is not UTF-8 text"));
  EXPECT_THAT(latin1.err, HasSubstr("nothing was sent"));
  EXPECT_EQ(latin1.out, "");

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

  // The API takes at most 5000 reports per message: larger batches are a
  // usage error, not a failed upload.
  for (const char* command : {"reports submit", "import adam"}) {
    std::vector<std::string> args = absl::StrSplit(command, ' ');
    for (const char* arg : {"--trial", "X", "--batch-size", "5001"}) {
      args.push_back(arg);
    }
    args.push_back(command[0] == 'r' ? "--file" : "--adsl");
    args.push_back(WriteFile("any.csv", "report_id\n"));
    CliRun too_big = Cli(args);
    EXPECT_EQ(too_big.code, 2) << command;
    EXPECT_THAT(too_big.err,
                HasSubstr("--batch-size: Value 5001 not in range 1 to 5000"))
        << command;
  }

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
  CliRun list = Cli({"signals", "list", "--evidence", "--trial", "MSC-IPF-EX1",
                     "--method", "binomial_exact", "--dose-group", "D100M"});
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

  // The watcher replays the log from the start, the triage last. Its
  // sequence numbers skip the topics' own entries: #1 raised the any-SAE
  // topic and #6 the grade >= 3 one (`topics` commands show them).
  CliRun watch = Cli({"signals", "watch", "--trial", "MSC-IPF-EX1", "--seconds",
                      "5", "--max-changes", "6"});
  ASSERT_EQ(watch.code, 0) << watch.err;
  EXPECT_THAT(watch.out, HasSubstr("#2 raised"));
  // 0 (or less) would mean no limit: a usage error, not a watch forever.
  for (const char* limit : {"--seconds", "--max-changes"}) {
    CliRun unbounded =
        Cli({"signals", "watch", "--trial", "MSC-IPF-EX1", limit, "0"});
    EXPECT_EQ(unbounded.code, 2) << limit;
    EXPECT_THAT(unbounded.err, HasSubstr(limit));
  }
  EXPECT_THAT(watch.out, HasSubstr("#8 triaged validated"));
  EXPECT_THAT(watch.out, Not(HasSubstr("#1 ")));

  // The same changes as topics: two topics, ranked, the SAE one first.
  CliRun topics = Cli({"topics", "list", "--trial", "MSC-IPF-EX1"});
  ASSERT_EQ(topics.code, 0) << topics.err;
  EXPECT_THAT(topics.out, HasSubstr("1     OVERALL~any_sae"));
  EXPECT_THAT(topics.out, HasSubstr("OVERALL~grade_3_plus"));
  CliRun topic = Cli({"topics", "show", "--trial", "MSC-IPF-EX1", "--topic",
                      "OVERALL~any_sae"});
  ASSERT_EQ(topic.code, 0) << topic.err;
  EXPECT_THAT(topic.out, HasSubstr("BINOMIAL~OVERALL~any_sae~D100M~M6"));
  CliRun triaged = Cli({"topics", "triage", "--trial", "MSC-IPF-EX1", "--topic",
                        "OVERALL~any_sae", "--status", "validated", "--comment",
                        "reviewed at the DSMB meeting"});
  ASSERT_EQ(triaged.code, 0) << triaged.err;
  EXPECT_THAT(triaged.out, HasSubstr("is now validated"));

  // The audit trail records the baselines and the triage with who and why.
  CliRun audit = Cli({"--principal", "dsmb-chair", "audit", "list", "--trial",
                      "MSC-IPF-EX1", "--action", "signal.triage"});
  ASSERT_EQ(audit.code, 0) << audit.err;
  EXPECT_THAT(audit.out, HasSubstr("BINOMIAL~OVERALL~any_sae~D100M~M6"));
  EXPECT_THAT(audit.out, HasSubstr("why: DSMB review"));
  EXPECT_THAT(audit.out,
              HasSubstr("by dsmb-chair via SignalService.TriageSignal"));
  EXPECT_THAT(audit.out, HasSubstr("VALIDATED (chair)"));
  EXPECT_THAT(audit.out, HasSubstr("1 record(s)"));
  CliRun baselines = Cli({"audit", "list", "--trial", "MSC-IPF-EX1", "--action",
                          "baseline.put", "--format", "json"});
  EXPECT_THAT(baselines.out, HasSubstr("Ann Rheum Dis 2017"));
}

TEST_F(CliTest, ReportsListFilters) {
  LoadExampleReports();
  CliRun all = Cli({"reports", "list", "--trial", "MSC-IPF-EX1"});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_THAT(all.out, HasSubstr("15 of 15 matching report(s)"));
  EXPECT_THAT(all.out, Not(HasSubstr("next page")));
  // The counted version of AE-0005 is its follow-up, version 2.
  EXPECT_THAT(all.out,
              ContainsRegex("01 +AE-0005 +2 +EX1-004 +D100M +150 +Pneumonia "
                            "+3 +Y +20[0-9-]+T[0-9:]+Z"));

  auto listed = [&](std::vector<std::string> filters) {
    std::vector<std::string> args = {"reports",     "list",    "--trial",
                                     "MSC-IPF-EX1", "--order", "onset"};
    args.insert(args.end(), filters.begin(), filters.end());
    CliRun run = Cli(args);
    EXPECT_EQ(run.code, 0) << run.err;
    return ListedReports(run.out);
  };
  EXPECT_THAT(
      listed({"--serious"}),
      ElementsAre("AE-0006", "AE-0005", "AE-0007", "AE-0013", "AE-0015"));
  EXPECT_THAT(listed({"--pt", "Pneumonia"}), ElementsAre("AE-0005"));
  EXPECT_THAT(listed({"--site", "02", "--min-grade", "3"}),
              ElementsAre("AE-0006", "AE-0007"));
  EXPECT_THAT(listed({"--aesi", "infection"}),
              ElementsAre("AE-0002", "AE-0012", "AE-0005", "AE-0010"));
  EXPECT_THAT(
      listed({"--site", "01", "--onset-from", "100", "--onset-to", "400"}),
      ElementsAre("AE-0005", "AE-0010"));
  EXPECT_THAT(
      listed({"--non-serious", "--dose-group", "D200M"}),
      ElementsAre("AE-0009", "AE-0014", "AE-0012", "AE-0010", "AE-0011"));
  EXPECT_THAT(listed({"--subject", "EX1-007"}),
              ElementsAre("AE-0009", "AE-0010", "AE-0011"));
  // The incidence subsets' rules, as `incidence --subset` counts them.
  EXPECT_THAT(
      listed({"--subset", "related"}),
      ElementsAre("AE-0001", "AE-0004", "AE-0009", "AE-0014", "AE-0008"));
  EXPECT_THAT(listed({"--subset", "death"}), ElementsAre("AE-0007", "AE-0013"));
  EXPECT_THAT(listed({"--subset", "aesi:infection", "--site", "01"}),
              ElementsAre("AE-0002", "AE-0012", "AE-0005", "AE-0010"));
  EXPECT_THAT(listed({"--received-after", "2999-01-01T00:00:00Z"}),
              ElementsAre());

  CliRun unknown_group = Cli(
      {"reports", "list", "--trial", "MSC-IPF-EX1", "--dose-group", "D999M"});
  EXPECT_EQ(unknown_group.code, 1);
  EXPECT_THAT(unknown_group.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(unknown_group.err, HasSubstr("dose_group_id"));
  EXPECT_EQ(Cli({"reports", "list", "--trial", "MSC-IPF-EX1", "--serious",
                 "--non-serious"})
                .code,
            2);
  EXPECT_EQ(Cli({"reports", "list", "--trial", "MSC-IPF-EX1",
                 "--received-after", "yesterday"})
                .code,
            2);
  CliRun fatal =
      Cli({"reports", "list", "--trial", "MSC-IPF-EX1", "--subset", "fatal"});
  EXPECT_EQ(fatal.code, 2);
  EXPECT_THAT(fatal.err, HasSubstr("must be serious, grade3, related, death"));
}

TEST_F(CliTest, ReportsListPages) {
  LoadExampleReports();
  const std::vector<std::string> query = {
      "reports",     "list",        "--trial",
      "MSC-IPF-EX1", "--serious",   "--order",
      "onset",       "--page-size", "2"};
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    std::vector<std::string> args = query;
    if (!token.empty()) args.insert(args.end(), {"--page-token", token});
    CliRun page = Cli(args);
    ASSERT_EQ(page.code, 0) << page.err;
    EXPECT_THAT(page.out, HasSubstr(" of 5 matching report(s)"));
    for (auto& id : ListedReports(page.out)) seen.push_back(id);
    token = NextPageToken(page.out);
    ASSERT_LE(++pages, 3) << page.out;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(
      seen, ElementsAre("AE-0006", "AE-0005", "AE-0007", "AE-0013", "AE-0015"));

  std::vector<std::string> every = query;
  every.push_back("--all");
  CliRun all = Cli(every);
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(ListedReports(all.out), seen);
  EXPECT_THAT(all.out, HasSubstr("5 of 5 matching report(s)"));
  EXPECT_THAT(all.out, Not(HasSubstr("next page")));

  // A token is bound to the filters it was issued for.
  CliRun first = Cli(query);
  CliRun other_filter =
      Cli({"reports", "list", "--trial", "MSC-IPF-EX1", "--page-size", "2",
           "--page-token", NextPageToken(first.out)});
  EXPECT_EQ(other_filter.code, 1);
  EXPECT_THAT(other_filter.err, HasSubstr("page_token"));
}

TEST_F(CliTest, ReportsShowEveryVersionNewestFirst) {
  LoadExampleReports();
  CliRun show = Cli({"reports", "show", "--trial", "MSC-IPF-EX1", "--site",
                     "01", "--report", "AE-0005"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("2 version(s), newest first; the counted "
                                  "one is version 2"));
  const size_t v2 = show.out.find("version 2  received ");
  const size_t v1 = show.out.find("version 1  received ");
  ASSERT_NE(v2, std::string::npos) << show.out;
  ASSERT_NE(v1, std::string::npos) << show.out;
  EXPECT_LT(v2, v1);
  EXPECT_THAT(show.out, ContainsRegex("received 20[0-9-]+T[0-9:]+Z by "
                                      "site-01"));
  EXPECT_THAT(show.out.substr(v2, v1 - v2),
              HasSubstr("grade 3, serious (hospitalization)"));
  EXPECT_THAT(show.out.substr(v1), HasSubstr("grade 2, not serious"));
  EXPECT_THAT(show.out, HasSubstr("onset day 150 (timepoint M6)"));

  CliRun json = Cli({"reports", "show", "--trial", "MSC-IPF-EX1", "--site",
                     "01", "--report", "AE-0005", "--format", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  v1::Report report;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &report).ok());
  ASSERT_EQ(report.versions_size(), 2);
  EXPECT_EQ(report.versions(0).report().version(), 2u);
  EXPECT_EQ(report.versions(1).submitted_by(), "site-01");

  CliRun missing = Cli({"reports", "show", "--trial", "MSC-IPF-EX1", "--site",
                        "01", "--report", "AE-9999"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("NOT_FOUND"));
}

// A report entered in error is withdrawn by a follow-up version: it leaves
// the counts and the listing, stays readable with every version, and
// cannot be withdrawn twice.
TEST_F(CliTest, ReportsWithdrawEnteredInError) {
  LoadExampleReports();
  const std::vector<std::string> withdraw = {
      "--principal", "site-01",  "reports",
      "withdraw",    "--trial",  "MSC-IPF-EX1",
      "--site",      "01",       "--report",
      "AE-0005",     "--reason", "duplicate of AE-0006 (same admission)"};
  CliRun done = Cli(withdraw);
  ASSERT_EQ(done.code, 0) << done.err;
  EXPECT_THAT(done.out, HasSubstr("version 3 is entered in error"));

  // The SAE row: AE-0006 alone now (AE-0005 v2 was the month-6 pneumonia).
  CliRun table = Cli({"incidence", "--trial", "MSC-IPF-EX1"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("D100M       1/3 33%  1/3 33%"));

  CliRun listed = Cli({"reports", "list", "--trial", "MSC-IPF-EX1", "--all"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_THAT(ListedReports(listed.out), Not(Contains("AE-0005")));
  CliRun with = Cli({"reports", "list", "--trial", "MSC-IPF-EX1", "--all",
                     "--include-entered-in-error", "--subject", "EX1-004"});
  ASSERT_EQ(with.code, 0) << with.err;
  EXPECT_THAT(ListedReports(with.out), Contains("AE-0005"));
  EXPECT_THAT(with.out, HasSubstr("entered_in_error"));
  EXPECT_THAT(with.out, ContainsRegex("AE-0005 +3 .* Y\n"));

  CliRun show = Cli({"reports", "show", "--trial", "MSC-IPF-EX1", "--site",
                     "01", "--report", "AE-0005"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("3 version(s), newest first; version 3 "
                                  "withdraws it as entered in error"));
  EXPECT_THAT(show.out, HasSubstr("ENTERED IN ERROR: duplicate of AE-0006"));

  CliRun again = Cli(withdraw);
  EXPECT_EQ(again.code, 1);
  EXPECT_THAT(again.err, HasSubstr("already withdrawn (version 3)"));
  CliRun no_reason = Cli({"reports", "withdraw", "--trial", "MSC-IPF-EX1",
                          "--site", "01", "--report", "AE-0001"});
  EXPECT_EQ(no_reason.code, 2);
  CliRun blank = Cli({"reports", "withdraw", "--trial", "MSC-IPF-EX1", "--site",
                      "01", "--report", "AE-0001", "--reason", ""});
  EXPECT_EQ(blank.code, 1);
  EXPECT_THAT(blank.err, HasSubstr("entered_in_error_reason: is required"));
}

TEST_F(CliTest, SubjectsShowVersionsNewestFirst) {
  LoadExample();
  CliRun update =
      Cli({"subjects", "enroll", "--trial", "MSC-IPF-EX1", "--file",
           WriteFile("s.csv",
                     "subject_id,site_id,dose_group_id,last_contact_day,"
                     "status\nEX1-003,02,D20M,1500,completed\n")});
  ASSERT_EQ(update.code, 0) << update.err;
  CliRun show = Cli(
      {"subjects", "show", "--trial", "MSC-IPF-EX1", "--subject", "EX1-003"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("subject EX1-003 "));
  EXPECT_THAT(show.out, HasSubstr("site 02, dose group D20M; 2 version(s)"));
  EXPECT_THAT(show.out,
              ContainsRegex("\n2 +20[0-9-]+T[0-9:]+Z +D20M +1500 +"
                            "completed\n1 +20[0-9-]+T[0-9:]+Z +D20M +1240 "
                            "+ongoing\n"));
  CliRun missing = Cli(
      {"subjects", "show", "--trial", "MSC-IPF-EX1", "--subject", "NOBODY"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("NOT_FOUND"));
}

// `subjects list --format csv` holds every field `subjects enroll` reads:
// enrolling its output again changes nobody (a withdrawal reason left out
// would be cleared by a new version of each withdrawn subject).
TEST_F(CliTest, SubjectsListCsvEnrollsBackUnchanged) {
  LoadExample();
  CliRun withdrew =
      Cli({"subjects", "enroll", "--trial", "MSC-IPF-EX1", "--file",
           WriteFile("w.csv",
                     "subject_id,site_id,dose_group_id,last_contact_day,"
                     "status,withdrawal_reason\n"
                     "EX1-003,02,D20M,1240,withdrawn,\"ADVERSE EVENT, "
                     "rash\"\n")});
  ASSERT_EQ(withdrew.code, 0) << withdrew.err;
  CliRun list =
      Cli({"subjects", "list", "--trial", "MSC-IPF-EX1", "--format", "csv"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("withdrawn,\"ADVERSE EVENT, rash\","));
  CliRun again = Cli({"subjects", "enroll", "--trial", "MSC-IPF-EX1", "--file",
                      WriteFile("list.csv", list.out)});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("0 enrolled, 0 updated (new version), 9 "
                                   "unchanged"));
  CliRun show = Cli(
      {"subjects", "show", "--trial", "MSC-IPF-EX1", "--subject", "EX1-003"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("withdrawal_reason"));
  EXPECT_THAT(show.out, ContainsRegex("withdrawn +ADVERSE EVENT, rash\n"));
}

// A PT coded under two SOCs (or spelt with a different case) is split
// between rows: `incidence --by pt` says so on stderr, whatever the format.
TEST_F(CliTest, IncidenceNamesTermsCodedMoreThanOneWay) {
  LoadExampleReports();
  CliRun clean = Cli({"incidence", "--trial", "MSC-IPF-EX1", "--by", "pt"});
  ASSERT_EQ(clean.code, 0) << clean.err;
  EXPECT_THAT(clean.err, Not(HasSubstr("coding check")));
  const std::string header =
      "report_id,version,site_id,subject_id,onset_study_day,pt,soc,grade\n";
  CliRun submitted =
      Cli({"--principal", "site-01", "reports", "submit", "--trial",
           "MSC-IPF-EX1", "--file",
           WriteFile("split.csv", header +
                                      "CC-1,1,01,EX1-001,20,Pneumonia,"
                                      "Infections,1\n" +
                                      "CC-2,1,01,EX1-002,20,PNEUMONIA,"
                                      "Infections and infestations,1\n")});
  ASSERT_EQ(submitted.code, 0) << submitted.err;
  for (const char* format : {"table", "csv"}) {
    CliRun split = Cli({"incidence", "--trial", "MSC-IPF-EX1", "--by", "pt",
                        "--format", format});
    ASSERT_EQ(split.code, 0) << split.err;
    EXPECT_THAT(split.err,
                HasSubstr("note: coding check: Pneumonia is counted in 3 rows, "
                          "each understating it: Pneumonia (Infections) 1 "
                          "subjects; PNEUMONIA (Infections and infestations) "
                          "1; Pneumonia (Infections and infestations) 1\n"))
        << split.err;
    EXPECT_THAT(split.out, Not(HasSubstr("coding check")));
  }
}

// `subjects correct`: a dose group correction moves the subject's reports
// (listed, and counted, in the new group); the history and the reason are
// shown; a "correction" that corrects nothing is refused by the server.
TEST_F(CliTest, SubjectsCorrectMovesTheReports) {
  LoadExampleReports();
  const std::vector<std::string> correct = {
      "--principal", "pi",       "subjects",
      "correct",     "--trial",  "MSC-IPF-EX1",
      "--subject",   "EX1-004",  "--dose-group",
      "D200M",       "--reason", "received 200M cells/kg (pharmacy log)"};
  CliRun done = Cli(correct);
  ASSERT_EQ(done.code, 0) << done.err;
  EXPECT_THAT(done.out, HasSubstr("corrected subject EX1-004: version 2, "
                                  "dose group D200M"));
  CliRun listed = Cli({"reports", "list", "--trial", "MSC-IPF-EX1", "--all",
                       "--dose-group", "D200M"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_THAT(ListedReports(listed.out), Contains("AE-0005"));
  CliRun json =
      Cli({"incidence", "--trial", "MSC-IPF-EX1", "--format", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  v1::GetIncidenceResponse incidence;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &incidence).ok())
      << json.out;
  int d200m_dosed = 0;
  for (const auto& term : incidence.terms()) {
    for (const auto& cell : term.cells()) {
      if (cell.dose_group_id() == "D200M") d200m_dosed = cell.n_dosed();
    }
  }
  EXPECT_EQ(d200m_dosed, 4);

  CliRun show = Cli(
      {"subjects", "show", "--trial", "MSC-IPF-EX1", "--subject", "EX1-004"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, ContainsRegex("\n2 +[0-9TZ:-]+ +D200M +1826 +completed "
                                      "+received 200M cells/kg"));
  EXPECT_THAT(show.out,
              ContainsRegex("\n1 +[0-9TZ:-]+ +D100M +1826 +completed\n"));

  // The site's follow-ups still work from copies naming the old group.
  CliRun withdrawn =
      Cli({"reports", "withdraw", "--trial", "MSC-IPF-EX1", "--site", "01",
           "--report", "AE-0005", "--reason", "duplicate"});
  EXPECT_EQ(withdrawn.code, 0) << withdrawn.err;
  // Loading the original file again would undo the correction: refused,
  // naming the line, unless the stored corrections are kept.
  const std::string subjects = kExample + "/subjects.csv";
  CliRun reload =
      Cli({"subjects", "enroll", "--trial", "MSC-IPF-EX1", "--file", subjects});
  EXPECT_EQ(reload.code, 1);
  EXPECT_THAT(reload.err, HasSubstr("subjects.csv:5: dose_group_id"));
  CliRun kept = Cli({"subjects", "enroll", "--trial", "MSC-IPF-EX1",
                     "--keep-corrected", "--file", subjects});
  ASSERT_EQ(kept.code, 0) << kept.err;
  EXPECT_THAT(kept.out, HasSubstr("EX1-004: kept dose group D200M as "
                                  "corrected (the file says D100M)"));
  CliRun again = Cli(correct);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("already so (version 2): nothing changed"));

  CliRun nothing = Cli({"subjects", "correct", "--trial", "MSC-IPF-EX1",
                        "--subject", "EX1-004", "--reason", "x"});
  EXPECT_EQ(nothing.code, 2);
  CliRun raised = Cli({"subjects", "correct", "--trial", "MSC-IPF-EX1",
                       "--subject", "EX1-003", "--last-contact-day", "1300",
                       "--reason", "more follow-up"});
  EXPECT_EQ(raised.code, 1);
  EXPECT_THAT(raised.err, HasSubstr("correction_reason: is only for a version "
                                    "that changes dose_group_id or lowers "
                                    "last_contact_day"));
  CliRun lowered = Cli({"subjects", "correct", "--trial", "MSC-IPF-EX1",
                        "--subject", "EX1-003", "--last-contact-day", "1200",
                        "--reason", "visit date mistyped"});
  EXPECT_EQ(lowered.code, 0) << lowered.err;
}

TEST_F(CliTest, BaselinesShowHistory) {
  LoadExample();
  ASSERT_EQ(Cli({"baselines", "load", "--trial", "MSC-IPF-EX1", "--file",
                 kExample + "/baselines.csv"})
                .code,
            0);
  CliRun revised =
      Cli({"baselines", "load", "--trial", "MSC-IPF-EX1", "--file",
           WriteFile("b.csv",
                     "baseline_id,level,overall_key,timepoint_id,"
                     "expected_proportion,citation\n"
                     "any-ae-6m,overall,any_ae,M6,0.5,Revised source 2026\n")});
  ASSERT_EQ(revised.code, 0) << revised.err;
  CliRun show = Cli({"baselines", "show", "--trial", "MSC-IPF-EX1",
                     "--baseline", "any-ae-6m"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("2 version(s), newest first"));
  const size_t v2 = show.out.find("Revised source 2026");
  const size_t v1 = show.out.find("Ann Rheum Dis 2017");
  ASSERT_NE(v2, std::string::npos) << show.out;
  ASSERT_NE(v1, std::string::npos) << show.out;
  EXPECT_LT(v2, v1);
}

// Run twice, a provisioning script's --add-* flags add nothing the second
// time and succeed; an entry that disagrees with the trial's is refused,
// naming what the trial has.
TEST_F(CliTest, TrialAmendLeavesWhatTheTrialHasAlone) {
  LoadExample();
  const std::vector<std::string> add = {
      "trial",      "amend",      "--trial",         "MSC-IPF-EX1",
      "--add-site", "03:Site 03", "--add-site",      "01",
      "--add-aesi", "infection",  "--add-timepoint", "Y6:Year 6:2191"};
  CliRun first = Cli(add);
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("site 01 is in the trial already"));
  EXPECT_THAT(first.out,
              HasSubstr("AESI category infection is in the trial already"));
  EXPECT_THAT(first.out,
              HasSubstr("amended (timepoints, sites): version 1 -> 2"));
  CliRun again = Cli(add);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("timepoint Y6 is in the trial already"));
  EXPECT_THAT(again.out,
              HasSubstr("unchanged (version 2): nothing new to add"));
  CliRun other = Cli({"trial", "amend", "--trial", "MSC-IPF-EX1", "--add-site",
                      "01:Another name"});
  EXPECT_NE(other.code, 0);
  EXPECT_THAT(other.err, HasSubstr("--add-site 01: the trial has site 01 "
                                   "already, as {site_id: \"01\" name: "
                                   "\"Site 01\"}"));
  EXPECT_THAT(other.err, HasSubstr("unchanged (version 2)"));
}

TEST_F(CliTest, TrialAmendAddsADoseGroup) {
  LoadExample();
  CliRun amend =
      Cli({"--principal", "pi", "trial", "amend", "--trial", "MSC-IPF-EX1",
           "--add-dose-group", "D400M:400 × 10⁶ cells:4e8:cells",
           "--add-timepoint", "Y6:Year 6:2191", "--add-site", "03:Site 03",
           "--add-aesi", "cytokine_release"});
  ASSERT_EQ(amend.code, 0) << amend.err;
  EXPECT_THAT(amend.out, HasSubstr("amended (dose_groups, timepoints, sites, "
                                   "aesi_categories): version 1 -> 2"));
  CliRun json =
      Cli({"trial", "get", "--trial", "MSC-IPF-EX1", "--format", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  v1::Trial trial;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &trial).ok());
  EXPECT_EQ(trial.version(), 2u);
  ASSERT_EQ(trial.dose_groups_size(), 4);
  EXPECT_EQ(trial.dose_groups(3).dose_group_id(), "D400M");
  EXPECT_EQ(trial.dose_groups(3).label(), "400 × 10⁶ cells");
  EXPECT_DOUBLE_EQ(trial.dose_groups(3).dose_value(), 4e8);
  EXPECT_EQ(trial.timepoints(7).study_day(), 2191);
  EXPECT_EQ(trial.sites(2).name(), "Site 03");

  // The new group enrolls; the amendment is in the audit trail.
  EXPECT_EQ(Cli({"subjects", "enroll", "--trial", "MSC-IPF-EX1", "--file",
                 WriteFile("s.csv",
                           "subject_id,site_id,dose_group_id,last_contact_day\n"
                           "EX1-010,03,D400M,10\n")})
                .code,
            0);
  CliRun audit = Cli(
      {"audit", "list", "--trial", "MSC-IPF-EX1", "--action", "trial.amend"});
  EXPECT_THAT(audit.out, HasSubstr("by pi via TrialService.UpdateTrial"));
  EXPECT_THAT(audit.out, HasSubstr("dose group D400M added"));

  CliRun retitled = Cli(
      {"trial", "amend", "--trial", "MSC-IPF-EX1", "--title", "Amended title"});
  ASSERT_EQ(retitled.code, 0) << retitled.err;
  EXPECT_THAT(retitled.out, HasSubstr("(title): version 2 -> 3"));
  EXPECT_THAT(retitled.out, HasSubstr("trial MSC-IPF-EX1: Amended title"));

  // The example's file no longer equals the amended trial: creating it again
  // is refused, saying how to change a trial, unless --keep-existing (what
  // deploy/run.sh does, so it can be run again over the same data).
  CliRun again = Cli({"trial", "create", "--file", kExample + "/trial.json"});
  EXPECT_EQ(again.code, 1);
  EXPECT_THAT(again.err,
              HasSubstr("already exists (version 3) with different content; "
                        "change it with UpdateTrial"));
  CliRun kept = Cli({"trial", "create", "--keep-existing", "--file",
                     kExample + "/trial.json"});
  ASSERT_EQ(kept.code, 0) << kept.err;
  EXPECT_THAT(kept.err, HasSubstr("trial MSC-IPF-EX1 already exists (version "
                                  "3, amended from this file): kept as it "
                                  "is"));
  // Another trial under the same id is not the file's trial amended.
  v1::Trial imposter = testing::ThreeGroupTrial("MSC-IPF-EX1");
  std::string imposter_json;
  ASSERT_TRUE(
      google::protobuf::util::MessageToJsonString(imposter, &imposter_json)
          .ok());
  CliRun refused = Cli({"trial", "create", "--keep-existing", "--file",
                        WriteFile("imposter.json", imposter_json)});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("and is not "));
  CliRun still = Cli({"trial", "get", "--trial", "MSC-IPF-EX1"});
  EXPECT_THAT(still.out, HasSubstr("Amended title"));
  // Without a stored trial, --keep-existing creates it.
  v1::Trial other = testing::ThreeGroupTrial("T-NEW");
  std::string other_json;
  ASSERT_TRUE(
      google::protobuf::util::MessageToJsonString(other, &other_json).ok());
  CliRun created = Cli({"trial", "create", "--keep-existing", "--file",
                        WriteFile("new.json", other_json)});
  ASSERT_EQ(created.code, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr("trial T-NEW stored"));
}

// --from-json with a mask of the printed fields (dictionaries, grading)
// sends the file's values, not the stored ones.
TEST_F(CliTest, TrialAmendTakesTheDictionariesAndGradingFromTheFile) {
  LoadExample();
  v1::Trial trial = TrialAsPrinted("MSC-IPF-EX1");
  trial.set_meddra_version("MedDRA 27.0");
  trial.set_ctcae_version("CTCAE v5.0");
  trial.set_grading("severity: MILD = 1, MODERATE = 2, SEVERE = 3");
  std::string edited;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(trial, &edited).ok());
  CliRun amended = Cli({"trial", "amend", "--trial", "MSC-IPF-EX1",
                        "--from-json", WriteFile("printed.json", edited),
                        "--mask", "meddra_version,ctcae_version,grading"});
  ASSERT_EQ(amended.code, 0) << amended.err;
  const v1::Trial stored = TrialAsPrinted("MSC-IPF-EX1");
  EXPECT_EQ(stored.meddra_version(), "MedDRA 27.0");
  EXPECT_EQ(stored.ctcae_version(), "CTCAE v5.0");
  EXPECT_EQ(stored.grading(), "severity: MILD = 1, MODERATE = 2, SEVERE = 3");
}

TEST_F(CliTest, TrialAmendRefusalPrintsThePreconditions) {
  LoadExample();
  CliRun json =
      Cli({"trial", "get", "--trial", "MSC-IPF-EX1", "--format", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  v1::Trial trial;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &trial).ok());
  trial.mutable_dose_groups()->DeleteSubrange(1, 1);  // drop D100M
  std::string edited;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(trial, &edited).ok());
  const std::string file = WriteFile("amended.json", edited);

  CliRun refused = Cli({"trial", "amend", "--trial", "MSC-IPF-EX1",
                        "--from-json", file, "--mask", "dose_groups"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("error: FAILED_PRECONDITION:"));
  // One line per violation of the google.rpc.PreconditionFailure.
  EXPECT_THAT(refused.err,
              HasSubstr("\n  trial.dose_groups[1]: dose group 'D100M' must "
                        "keep its position"));
  EXPECT_THAT(refused.err, HasSubstr("\n  trial.dose_groups[2]: dose group "
                                     "'D200M' cannot be removed"));
  EXPECT_THAT(refused.err,
              HasSubstr("trial MSC-IPF-EX1 unchanged (version 1)"));
  CliRun after =
      Cli({"trial", "get", "--trial", "MSC-IPF-EX1", "--format", "json"});
  v1::Trial unchanged;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(after.out, &unchanged).ok());
  EXPECT_EQ(unchanged.version(), 1u);
  EXPECT_EQ(unchanged.dose_groups_size(), 3);

  // Usage errors: a file without a mask, nothing to amend, a bad spec.
  EXPECT_EQ(
      Cli({"trial", "amend", "--trial", "MSC-IPF-EX1", "--from-json", file})
          .code,
      2);
  EXPECT_EQ(Cli({"trial", "amend", "--trial", "MSC-IPF-EX1"}).code, 2);
  CliRun bad_spec = Cli({"trial", "amend", "--trial", "MSC-IPF-EX1",
                         "--add-dose-group", "D400M"});
  EXPECT_EQ(bad_spec.code, 2);
  EXPECT_THAT(bad_spec.err, HasSubstr("expected ID:LABEL:DOSE:UNIT"));
}

// --- Baseline libraries (deploy/baselines) ----------------------------------

// Each example trial with the libraries its `libraries` file names: what is
// stored (count, timepoint, p0, source sample, citation), and that loading
// again changes nothing.
TEST_F(CliTest, LibrariesLoadIntoTheirExampleTrials) {
  CreateExample("ra-3x3-5y");
  CliRun ra = LoadLibrary("EX-RA-3X3-5Y", kLibraries + "/ra5y.yaml");
  ASSERT_EQ(ra.code, 0) << ra.err;
  EXPECT_THAT(ra.out, HasSubstr("baselines: 17 sent; 17 new"));
  EXPECT_THAT(ra.out, ContainsRegex("ra5y-nasopharyngitis +PT Nasopharyngitis "
                                    "+4/9 +0.4444 +5 years \\(day 1826\\) "
                                    "+-> Y5 \\(day 1826\\)"));
  EXPECT_THAT(ra.out, Not(HasSubstr("skipped ra5y-death")));
  ASSERT_EQ(LoadLibrary("EX-RA-3X3-5Y", kLibraries + "/cx611.yaml").code, 0);
  std::map<std::string, v1::Baseline> stored = StoredBaselines("EX-RA-3X3-5Y");
  EXPECT_EQ(stored.size(), 17u + 3u);
  const v1::Baseline& naso = stored["ra5y-nasopharyngitis"];
  EXPECT_EQ(naso.soc(), "Infections and infestations");
  EXPECT_EQ(naso.timepoint_id(), "Y5");
  EXPECT_DOUBLE_EQ(naso.expected_proportion(), 4.0 / 9);
  EXPECT_EQ(naso.source_events(), 4);
  EXPECT_EQ(naso.source_subjects(), 9);
  EXPECT_THAT(naso.citation(), HasSubstr("Kim MJ, Park EH, Shin K."));
  EXPECT_THAT(naso.citation(), HasSubstr("\"nasopharyngitis (44.4%)\""));
  EXPECT_EQ(stored["ra5y-sae"].source_events(), 5);
  EXPECT_EQ(stored["ra5y-benign-ovarian-tumour"].timepoint_id(), "Y3");
  EXPECT_EQ(stored["ra5y-benign-tumour"].overall_key(), "aesi:benign_tumour");
  // The published "no death" (0/9) for the fatal-AE row, by Jeffreys.
  EXPECT_EQ(stored["ra5y-death"].overall_key(), "death");
  EXPECT_DOUBLE_EQ(stored["ra5y-death"].expected_proportion(), 0.5 / 10);
  EXPECT_EQ(stored["cx611-any-ae"].timepoint_id(), "M6");  // week 24

  CliRun again = LoadLibrary("EX-RA-3X3-5Y", kLibraries + "/ra5y.yaml");
  EXPECT_THAT(again.out,
              HasSubstr("0 new, 0 revised (new version), 17 unchanged"));

  CreateExample("ctd-ild-10");
  ASSERT_EQ(LoadLibrary("EX-CTD-ILD-10", kLibraries + "/ctdild.yaml").code, 0);
  stored = StoredBaselines("EX-CTD-ILD-10");
  EXPECT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored["ctdild-infusion-reaction"].timepoint_id(), "D1");
  EXPECT_DOUBLE_EQ(stored["ctdild-infusion-reaction"].expected_proportion(),
                   0.5 / 11);  // Jeffreys, 0/10
  EXPECT_EQ(stored["ctdild-related"].timepoint_id(), "D182");
  EXPECT_THAT(stored["ctdild-related"].citation(), HasSubstr("Jeffreys"));

  CreateExample("sle-40");
  ASSERT_EQ(LoadLibrary("EX-SLE-40", kLibraries + "/sle40.yaml").code, 0);
  CliRun sle6 = LoadLibrary("EX-SLE-40", kLibraries + "/sle6.yaml");
  EXPECT_EQ(sle6.code, 0) << sle6.err;
  EXPECT_THAT(sle6.out,
              HasSubstr("no entry applies to trial EX-SLE-40; nothing sent"));
  stored = StoredBaselines("EX-SLE-40");
  EXPECT_EQ(stored.size(), 5u);
  EXPECT_DOUBLE_EQ(stored["sle40-any-ae"].expected_proportion(), 0.5 / 41);
  EXPECT_EQ(stored["sle40-any-ae"].timepoint_id(), "M12");
  EXPECT_EQ(stored["sle40-infusion-reaction"].timepoint_id(), "D8");
  EXPECT_EQ(stored["sle40-relapse-9m"].timepoint_id(), "M9");
}

// The libraries of the two trials deploy/example/baselines.csv cites give the
// example trial the same rows, timepoints and p0 as that file.
TEST_F(CliTest, LibrariesReproduceTheExampleBaselines) {
  LoadExample();
  ASSERT_EQ(LoadLibrary("MSC-IPF-EX1", kLibraries + "/cx611.yaml").code, 0);
  ASSERT_EQ(LoadLibrary("MSC-IPF-EX1", kLibraries + "/aether.yaml").code, 0);
  std::map<std::string, v1::Baseline> stored = StoredBaselines("MSC-IPF-EX1");
  struct Row {
    std::string id, key_or_pt, timepoint;
    double p0;
  };
  for (const Row& row :
       std::vector<Row>{{"cx611-any-ae", "any_ae", "M6", 0.826087},
                        {"cx611-grade3", "grade_3_plus", "M6", 0.108696},
                        {"cx611-sae", "any_sae", "M6", 0.021739},
                        {"aether-sae-4w", "any_sae", "M3", 0.05},
                        {"aether-ipf-progression",
                         "Idiopathic pulmonary fibrosis", "Y2", 0.222222}}) {
    SCOPED_TRACE(row.id);
    const v1::Baseline& b = stored[row.id];
    EXPECT_EQ(b.pt().empty() ? b.overall_key() : b.pt(), row.key_or_pt);
    EXPECT_EQ(b.timepoint_id(), row.timepoint);
    EXPECT_NEAR(b.expected_proportion(), row.p0, 1e-6);
  }
}

// --dry-run prints the plan (the timepoint of each entry, the skipped ones)
// and sends nothing; a trial without an entry's AESI category skips it.
TEST_F(CliTest, LibraryDryRunSendsNothing) {
  LoadExample();
  CliRun dry =
      LoadLibrary("MSC-IPF-EX1", kLibraries + "/ra5y.yaml", {"--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_THAT(dry.out, ContainsRegex("ra5y-osteoarthritis .* -> Y5"));
  EXPECT_THAT(dry.out, ContainsRegex("ra5y-benign-ovarian-tumour .* -> Y3"));
  EXPECT_THAT(dry.out, HasSubstr("skipped ra5y-benign-tumour: trial "
                                 "MSC-IPF-EX1 has no AESI category "
                                 "'benign_tumour'"));
  EXPECT_THAT(dry.out,
              HasSubstr("dry run: 16 baseline(s) checked, nothing sent"));
  EXPECT_TRUE(StoredBaselines("MSC-IPF-EX1").empty());
  CliRun audit = Cli(
      {"audit", "list", "--trial", "MSC-IPF-EX1", "--action", "baseline.put"});
  EXPECT_THAT(audit.out, HasSubstr("0 record(s)"));

  // A 5-year figure in a 6-month trial goes to the last timepoint, marked.
  CreateExample("ctd-ild-10");
  CliRun late =
      LoadLibrary("EX-CTD-ILD-10", kLibraries + "/ra5y.yaml", {"--dry-run"});
  EXPECT_THAT(
      late.out,
      HasSubstr("-> D182 (day 182), the trial's last (ends before day 1826)"));
}

// A bad library is refused with file, line and field before the server is
// asked anything; a bad trial or bad usage likewise sends nothing.
TEST_F(CliTest, LibraryBadInputIsRefusedAndNothingSent) {
  LoadExample();
  std::ifstream in(kLibraries + "/ra5y.yaml");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t at = text.find("    x0: 4\n");  // nasopharyngitis
  ASSERT_NE(at, std::string::npos);
  const int line = 1 + std::count(text.begin(), text.begin() + at, '\n');
  text.replace(at, 10, "    x0: 14\n    bogus: 1\n");
  const std::string bad = WriteFile("ra5y.yaml", text);

  CliRun refused = LoadLibrary("MSC-IPF-EX1", bad);
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(
      refused.err,
      HasSubstr(absl::StrCat(bad, ":", line,
                             ": entries[1].x0: x0 = 14 is more than n0 = 9")));
  EXPECT_THAT(refused.err,
              HasSubstr(absl::StrCat(bad, ":", line + 1,
                                     ": entries[1].bogus: unknown field")));
  EXPECT_THAT(refused.err, HasSubstr("nothing sent"));
  EXPECT_TRUE(StoredBaselines("MSC-IPF-EX1").empty());

  CliRun renamed = LoadLibrary("MSC-IPF-EX1", WriteFile("copy.yaml", text));
  EXPECT_THAT(renamed.err, HasSubstr("copy.yaml:"));
  EXPECT_THAT(renamed.err, HasSubstr("library: 'ra5y' must be the file's"));

  CliRun no_trial = LoadLibrary("NCT000", kLibraries + "/ra5y.yaml");
  EXPECT_EQ(no_trial.code, 1);
  EXPECT_THAT(no_trial.err, HasSubstr("NOT_FOUND"));

  EXPECT_EQ(Cli({"baselines", "load", "--trial", "MSC-IPF-EX1"}).code, 2);
  EXPECT_EQ(
      Cli({"baselines", "load", "--trial", "MSC-IPF-EX1", "--file",
           kExample + "/baselines.csv", "--library", kLibraries + "/ra5y.yaml"})
          .code,
      2);
  EXPECT_TRUE(StoredBaselines("MSC-IPF-EX1").empty());
}

// `out` without its last line (the "how to show one" hint).
std::string WithoutLastLine(const std::string& out) {
  const size_t end = out.rfind('\n', out.size() >= 2 ? out.size() - 2 : 0);
  return end == std::string::npos ? "" : out.substr(0, end + 1);
}

// A topic's history says what each evaluation followed: the report that
// raised it, and the withdrawal after which it stopped crossing.
TEST_F(CliTest, TopicHistorySaysWhatRaisedItAndWhatStoppedIt) {
  LoadExampleWithSignals();
  const std::vector<std::string> show = {
      "topics", "show", "--trial", "MSC-IPF-EX1", "--topic", "OVERALL~any_sae"};
  CliRun raised = Cli(show);
  ASSERT_EQ(raised.code, 0) << raised.err;
  // The report; and the baselines too when the evaluator had not yet
  // caught up with them (one evaluation followed both).
  EXPECT_THAT(raised.out,
              ContainsRegex("  history:\n    [0-9TZ:-]+  raised, by report "
                            "AE-0005 v2( and baseline.put of [^\n]+)?\n"));

  CliRun withdrawn =
      Cli({"reports", "withdraw", "--trial", "MSC-IPF-EX1", "--site", "01",
           "--report", "AE-0005", "--reason", "entered for the wrong subject"});
  ASSERT_EQ(withdrawn.code, 0) << withdrawn.err;
  ASSERT_TRUE(server_->monitor().signals().WaitIdle(absl::Seconds(10)).ok());
  CliRun stopped = Cli(show);
  ASSERT_EQ(stopped.code, 0) << stopped.err;
  EXPECT_THAT(stopped.out, HasSubstr("(no longer crossing)"));
  EXPECT_THAT(stopped.out,
              ContainsRegex("\n    [0-9TZ:-]+  stopped crossing, after "
                            "report AE-0005 v3\n"));
}

// Evidence past its threshold that does not cross says why: once a
// correction moves EX1-004 (serious pneumonia) out of D100M, the any-SAE cell
// there is 1/2, p = 0.043 against alpha 0.05, one case short of the trial's
// minimum.
TEST_F(CliTest, EvidencePastItsThresholdThatDoesNotCrossSaysWhy) {
  LoadExampleWithSignals();
  CliRun corrected =
      Cli({"--principal", "pi", "subjects", "correct", "--trial", "MSC-IPF-EX1",
           "--subject", "EX1-004", "--dose-group", "D200M", "--reason",
           "received 200M cells/kg (pharmacy log)"});
  ASSERT_EQ(corrected.code, 0) << corrected.err;
  ASSERT_TRUE(server_->monitor().signals().WaitIdle(absl::Seconds(10)).ok());
  CliRun show = Cli({"signals", "show", "--trial", "MSC-IPF-EX1", "--evidence",
                     "BINOMIAL~OVERALL~any_sae~D100M~M6"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, ContainsRegex("1/2 = 50.0% .*p=0.043[0-9]*, "
                                      "threshold 0.05, not crossing\n"));
  EXPECT_THAT(show.out, HasSubstr("why not:  the statistic is past the "
                                  "threshold, but a signal also needs at "
                                  "least the trial's minimum number"));
  CliRun list =
      Cli({"signals", "list", "--evidence", "--trial", "MSC-IPF-EX1"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, Not(HasSubstr("below threshold")));
}

// `signals list` is the ranked topic list of `topics list`, `signals show
// TOPIC` the topic with its evidence table of `topics show`; the evidence
// items stay listed and shown one by one with --evidence.
TEST_F(CliTest, SignalsListRanksTopicsAndShowsTheirEvidence) {
  LoadExampleWithSignals();

  // Ranked: the any-SAE topic (2/3 against 1/46, p = 0.0014) above the
  // grade >= 3 one (p = 0.033), each with why it is there.
  CliRun list = Cli({"signals", "list", "--trial", "MSC-IPF-EX1"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, ContainsRegex("rank +topic +status +strength +"
                                      "evidence +why\n"));
  EXPECT_THAT(list.out,
              ContainsRegex("\n1 +OVERALL~any_sae +new +[0-9.]+ +[0-9]+/[0-9]+ "
                            "crossing +100 × 10⁶ cells, Month 6: 2/3 "
                            "\\(66.7%\\) vs expected 2.2% "
                            "\\(sae-6m\\): exact binomial "
                            "P\\(X>=2\\)=0.001397"));
  EXPECT_THAT(list.out, ContainsRegex("\n2 +OVERALL~grade_3_plus +new"));
  EXPECT_LT(list.out.find("OVERALL~any_sae"),
            list.out.find("OVERALL~grade_3_plus"));
  EXPECT_THAT(list.out, HasSubstr("2 topic(s), ranked; one with its evidence: "
                                  "aesignal signals show --trial MSC-IPF-EX1 "
                                  "TOPIC"));
  EXPECT_THAT(list.out, Not(HasSubstr("BINOMIAL~")));
  CliRun topics = Cli({"topics", "list", "--trial", "MSC-IPF-EX1"});
  ASSERT_EQ(topics.code, 0) << topics.err;
  EXPECT_EQ(WithoutLastLine(list.out), WithoutLastLine(topics.out));
  CliRun json =
      Cli({"signals", "list", "--trial", "MSC-IPF-EX1", "--format", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  v1::ListTopicsResponse listed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &listed).ok())
      << json.out;
  ASSERT_EQ(listed.topics_size(), 2);
  EXPECT_EQ(listed.topics(0).topic_id(), "OVERALL~any_sae");

  // One topic: why, and its evidence table, strongest first.
  CliRun show =
      Cli({"signals", "show", "--trial", "MSC-IPF-EX1", "OVERALL~any_sae"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("topic OVERALL~any_sae (any_sae)"));
  // The why line says where: the dose group and timepoint of its lead test.
  EXPECT_THAT(show.out, HasSubstr("why:      100 × 10⁶ cells, Month 6: 2/3 "
                                  "(66.7%)"));
  EXPECT_THAT(show.out, ContainsRegex("  evidence:\nsignal +crosses +x/N +"
                                      "summary\nBINOMIAL~OVERALL~any_sae~"
                                      "D100M~M6 +yes +2/3 +2/3 \\(66.7%\\)"));
  EXPECT_THAT(show.out, Not(HasSubstr("grade_3_plus")));
  CliRun topic = Cli({"topics", "show", "--trial", "MSC-IPF-EX1", "--topic",
                      "OVERALL~any_sae"});
  EXPECT_EQ(show.out, topic.out);
  EXPECT_EQ(
      Cli({"topics", "show", "--trial", "MSC-IPF-EX1", "OVERALL~any_sae"}).out,
      topic.out);
  CliRun no_topic = Cli({"topics", "show", "--trial", "MSC-IPF-EX1"});
  EXPECT_EQ(no_topic.code, 2);
  EXPECT_THAT(no_topic.err, HasSubstr("a topic is required"));
  EXPECT_EQ(Cli({"signals", "show", "--trial", "MSC-IPF-EX1", "--topic",
                 "trials/MSC-IPF-EX1/topics/OVERALL~any_sae"})
                .out,
            topic.out);

  // The evidence items: all of them, or one topic's (the items of its
  // evidence table), newest first.
  v1::SignalTopic sae;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  Cli({"signals", "show", "--trial", "MSC-IPF-EX1",
                       "OVERALL~any_sae", "--format", "json"})
                      .out,
                  &sae)
                  .ok());
  ASSERT_GE(sae.evidence_size(), 1);
  CliRun evidence = Cli({"signals", "list", "--evidence", "--trial",
                         "MSC-IPF-EX1", "--topic", "OVERALL~any_sae"});
  ASSERT_EQ(evidence.code, 0) << evidence.err;
  EXPECT_THAT(evidence.out,
              HasSubstr(absl::StrCat(sae.evidence_size(),
                                     " evidence item(s), newest first")));
  for (const v1::Signal& s : sae.evidence()) {
    EXPECT_THAT(evidence.out, HasSubstr("  " + s.signal_id() + "\n"));
  }
  EXPECT_THAT(evidence.out, Not(HasSubstr("grade_3_plus")));
  CliRun all = Cli({"signals", "list", "--evidence", "--trial", "MSC-IPF-EX1",
                    "--format", "json"});
  ASSERT_EQ(all.code, 0) << all.err;
  v1::ListSignalsResponse items;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(all.out, &items).ok());
  EXPECT_EQ(items.signals_size(), listed.topics(0).evidence_count() +
                                      listed.topics(1).evidence_count());
  CliRun item = Cli({"signals", "show", "--trial", "MSC-IPF-EX1", "--evidence",
                     "BINOMIAL~OVERALL~any_sae~D100M~M6"});
  ASSERT_EQ(item.code, 0) << item.err;
  EXPECT_THAT(item.out, HasSubstr("signal BINOMIAL~OVERALL~any_sae~D100M~M6"));
  EXPECT_THAT(item.out, HasSubstr("p=0.001397"));
  EXPECT_THAT(item.out, HasSubstr("history:"));
  // A signal id is told from a topic id without --evidence too.
  EXPECT_EQ(Cli({"signals", "show", "--trial", "MSC-IPF-EX1",
                 "BINOMIAL~OVERALL~any_sae~D100M~M6"})
                .out,
            item.out);

  // Usage errors: cell filters without --evidence, a topic id as an
  // evidence item, a signal id as a topic, no id.
  CliRun filter = Cli(
      {"signals", "list", "--trial", "MSC-IPF-EX1", "--method", "bayesian"});
  EXPECT_EQ(filter.code, 2);
  EXPECT_THAT(filter.err, HasSubstr("--method requires --evidence"));
  CliRun not_item = Cli({"signals", "show", "--trial", "MSC-IPF-EX1",
                         "--evidence", "OVERALL~any_sae"});
  EXPECT_EQ(not_item.code, 2);
  EXPECT_THAT(not_item.err,
              HasSubstr("signals list --evidence --trial MSC-IPF-EX1 "
                        "--topic OVERALL~any_sae"));
  EXPECT_EQ(Cli({"signals", "show", "--trial", "MSC-IPF-EX1", "--topic",
                 "BINOMIAL~OVERALL~any_sae~D100M~M6"})
                .code,
            2);
  EXPECT_EQ(Cli({"signals", "show", "--trial", "MSC-IPF-EX1"}).code, 2);
  CliRun unknown =
      Cli({"signals", "show", "--trial", "MSC-IPF-EX1", "OVERALL~no_such_row"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND"));
}

// `signals triage TOPIC` moves the topic (TriageTopic); a signal id still
// moves one evidence item (TriageSignal).
TEST_F(CliTest, SignalListsSayWhenRowsAwaitEvaluation) {
  LoadExample();
  ASSERT_EQ(Cli({"baselines", "load", "--trial", "MSC-IPF-EX1", "--file",
                 kExample + "/baselines.csv"})
                .code,
            0);
  ASSERT_TRUE(server_->monitor().signals().WaitIdle(absl::Seconds(10)).ok());
  // Reports acknowledged while the evaluator is held: the lists say their
  // rows are not evaluated yet, on stderr (stdout stays the table) and in
  // the JSON.
  server_->monitor().signals().HoldEvaluationForTesting(true);
  CliRun submitted = Cli({"reports", "submit", "--trial", "MSC-IPF-EX1",
                          "--file", kExample + "/reports.csv"});
  ASSERT_EQ(submitted.code, 0) << submitted.err;
  const std::string note =
      "term rows changed since the signals were last evaluated; the topics "
      "may not yet include the latest reports";
  CliRun held = Cli({"signals", "list", "--trial", "MSC-IPF-EX1"});
  ASSERT_EQ(held.code, 0) << held.err;
  EXPECT_THAT(held.err, ContainsRegex("^note: [1-9][0-9]* " + note));
  EXPECT_THAT(held.out, Not(HasSubstr("note:")));
  CliRun evidence =
      Cli({"signals", "list", "--trial", "MSC-IPF-EX1", "--evidence"});
  ASSERT_EQ(evidence.code, 0) << evidence.err;
  EXPECT_EQ(evidence.err, held.err);
  CliRun json =
      Cli({"topics", "list", "--trial", "MSC-IPF-EX1", "--format", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  v1::ListTopicsResponse listed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &listed).ok())
      << json.out;
  EXPECT_GT(listed.rows_pending_evaluation(), 0);
  EXPECT_THAT(held.err, HasSubstr(absl::StrCat(
                            "note: ", listed.rows_pending_evaluation(), " ")));

  server_->monitor().signals().HoldEvaluationForTesting(false);
  ASSERT_TRUE(server_->monitor().signals().WaitIdle(absl::Seconds(10)).ok());
  CliRun current = Cli({"signals", "list", "--trial", "MSC-IPF-EX1"});
  ASSERT_EQ(current.code, 0) << current.err;
  EXPECT_EQ(current.err, "");
  EXPECT_THAT(current.out, HasSubstr("OVERALL~any_sae"));
}

TEST_F(CliTest, SignalsTriageMovesATopicOrAnEvidenceItem) {
  LoadExampleWithSignals();

  CliRun triaged =
      Cli({"--principal", "dsmb-chair", "signals", "triage", "--trial",
           "MSC-IPF-EX1", "OVERALL~any_sae", "--status", "validated",
           "--comment", "DSMB review 2026-11", "--display-name", "chair"});
  ASSERT_EQ(triaged.code, 0) << triaged.err;
  EXPECT_EQ(triaged.out, "topic OVERALL~any_sae is now validated\n");
  CliRun validated = Cli(
      {"signals", "list", "--trial", "MSC-IPF-EX1", "--status", "validated"});
  ASSERT_EQ(validated.code, 0) << validated.err;
  EXPECT_THAT(validated.out, ContainsRegex("\n1 +OVERALL~any_sae +validated"));
  EXPECT_THAT(validated.out, Not(HasSubstr("grade_3_plus")));
  CliRun still_new =
      Cli({"signals", "list", "--trial", "MSC-IPF-EX1", "--status", "new"});
  EXPECT_THAT(still_new.out, ContainsRegex("\n1 +OVERALL~grade_3_plus +new"));
  EXPECT_THAT(still_new.out, Not(HasSubstr("any_sae")));
  CliRun show =
      Cli({"signals", "show", "--trial", "MSC-IPF-EX1", "OVERALL~any_sae"});
  EXPECT_THAT(show.out, HasSubstr("status:   validated"));
  EXPECT_THAT(show.out, HasSubstr("triaged by dsmb-chair: new -> validated: "
                                  "DSMB review 2026-11"));
  // The same move again is refused, as with `topics triage`.
  CliRun again =
      Cli({"signals", "triage", "--trial", "MSC-IPF-EX1", "--topic",
           "OVERALL~any_sae", "--status", "validated", "--comment", "again"});
  EXPECT_EQ(again.code, 1);
  EXPECT_THAT(again.err, HasSubstr("FAILED_PRECONDITION"));

  // A signal id triages that evidence item alone.
  CliRun item = Cli({"signals", "triage", "--trial", "MSC-IPF-EX1",
                     "--evidence", "BINOMIAL~OVERALL~grade_3_plus~D100M~M6",
                     "--status", "refuted", "--comment", "expected rate"});
  ASSERT_EQ(item.code, 0) << item.err;
  EXPECT_EQ(item.out,
            "signal BINOMIAL~OVERALL~grade_3_plus~D100M~M6 is now refuted\n");
  CliRun legacy =
      Cli({"signals", "triage", "--trial", "MSC-IPF-EX1", "--signal",
           "BINOMIAL~OVERALL~any_sae~D100M~M6", "--status", "validated",
           "--comment", "x", "--actor", "y"});
  ASSERT_EQ(legacy.code, 0) << legacy.err;
  EXPECT_THAT(legacy.out, HasSubstr("is now validated"));
  CliRun refuted = Cli({"signals", "list", "--evidence", "--trial",
                        "MSC-IPF-EX1", "--status", "refuted"});
  EXPECT_THAT(refuted.out, HasSubstr("1 evidence item(s)"));
  EXPECT_THAT(refuted.out,
              HasSubstr("  BINOMIAL~OVERALL~grade_3_plus~D100M~M6\n"));

  CliRun audit = Cli({"--principal", "dsmb-chair", "audit", "list", "--trial",
                      "MSC-IPF-EX1", "--action", "topic.triage"});
  ASSERT_EQ(audit.code, 0) << audit.err;
  EXPECT_THAT(audit.out, HasSubstr("OVERALL~any_sae"));
  EXPECT_THAT(audit.out, HasSubstr("1 record(s)"));
}

}  // namespace
}  // namespace aesignal
