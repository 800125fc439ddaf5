// `aesignal import adam|sdtm` end to end (in process) against a real server
// on 127.0.0.1:0, on the public CDISC pilot data (tests/data, see its
// README): the incidence table the server computes after the import must equal,
// cell for cell, an independent count made by tests/import/teae_counts.awk
// from the same CSVs; the SAS transport fixture must give the identical
// table; bad rows are named and not sent.
#include <stdio.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "aesignal/client/client.h"
#include "clients/cli/cli.h"
#include "clients/cli/csv.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "services/server/server.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSource = AESIGNAL_SOURCE_DIR;
const std::string kData = kSource + "/tests/data";
const std::string kAwk = kSource + "/tests/import/teae_counts.awk";

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

// (level, arm label or "" for all arms, soc, pt) -> (subjects, events)
using Key = std::tuple<std::string, std::string, std::string, std::string>;
using Counts = std::map<Key, std::pair<int64_t, int64_t>>;

std::string Show(const Key& k) {
  return absl::StrCat(std::get<0>(k), " | ", std::get<1>(k), " | ",
                      std::get<2>(k), " | ", std::get<3>(k));
}

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server =
        Server::Start({.listen = "127.0.0.1:0", .data_dir = dir_.Sub("data")});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::string Address() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  CliRun Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"aesignal", "--server", Address()});
    std::ostringstream out, err;
    int code = cli::RunCli(args, {.out = out, .err = err});
    return {code, out.str(), err.str()};
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = dir_.Sub(name);
    std::ofstream(path) << text;
    return path;
  }

  CliRun ImportAdam(const std::string& trial, const std::string& adsl,
                    const std::string& adae,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"import", "adam", "--trial", trial,
                                     "--adsl", adsl,   "--adae",  adae};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto start = std::chrono::steady_clock::now();
    CliRun run = Cli(args);
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    std::cout << "import " << trial << " (" << adae << "): " << took.count()
              << " s\n"
              << run.out;
    return run;
  }

  // Last-timepoint cumulative cells of `incidence --by pt|soc|overall
  // --format csv` (of the overall rows, the AESIs: level "AESI", the
  // category in soc), with dose groups shown by label (= the arm text).
  Counts ServerCounts(const std::string& trial_id, int* cells_listed) {
    client::ConnectionOptions options;
    options.target = Address();
    client::Client c(client::MakeClientConnection(options));
    auto trial = c.GetTrial(trial_id);
    EXPECT_TRUE(trial.ok()) << trial.status();
    if (!trial.ok()) return {};
    std::map<std::string, std::string> label{{"", ""}};
    for (const auto& g : trial->dose_groups()) {
      label[g.dose_group_id()] = g.label();
    }
    const std::string last =
        trial->timepoints(trial->timepoints_size() - 1).timepoint_id();
    Counts counts;
    *cells_listed = 0;
    for (const char* by : {"pt", "soc", "overall"}) {
      CliRun run = Cli(
          {"incidence", "--trial", trial_id, "--by", by, "--format", "csv"});
      EXPECT_EQ(run.code, 0) << run.err;
      std::istringstream in(run.out);
      cli::CsvReader reader(in);
      auto header = reader.Next();
      EXPECT_TRUE(header.ok() && header->has_value());
      std::map<std::string, size_t> col;
      for (size_t i = 0; i < (*header)->fields.size(); ++i) {
        col[(*header)->fields[i]] = i;
      }
      while (true) {
        auto rec = reader.Next();
        EXPECT_TRUE(rec.ok()) << rec.status();
        if (!rec.ok() || !rec->has_value()) break;
        const auto& f = (*rec)->fields;
        if (f[col["timepoint_id"]] != last) continue;
        ++*cells_listed;
        int64_t subjects = 0, events = 0;
        EXPECT_TRUE(absl::SimpleAtoi(f[col["cumulative_subjects"]], &subjects));
        EXPECT_TRUE(absl::SimpleAtoi(f[col["cumulative_events"]], &events));
        if (subjects == 0 && events == 0) continue;  // the script lists none
        Key key{f[col["level"]], label[f[col["dose_group_id"]]], f[col["soc"]],
                f[col["pt"]]};
        if (std::get<0>(key) == "OVERALL") {
          absl::string_view category = f[col["overall_key"]];
          if (!absl::ConsumePrefix(&category, "aesi:")) continue;
          key = Key{"AESI", std::get<1>(key), std::string(category), ""};
        }
        EXPECT_TRUE(
            counts.emplace(key, std::make_pair(subjects, events)).second)
            << "cell twice: " << Show(key);
      }
    }
    return counts;
  }

  // The independent count (gawk script) on the same CSVs.
  static Counts ScriptCounts(const std::string& adsl, const std::string& adae) {
    const std::string command =
        absl::StrCat("gawk -f '", kAwk, "' '", adsl, "' '", adae, "'");
    FILE* pipe = popen(command.c_str(), "r");
    EXPECT_NE(pipe, nullptr) << command;
    std::string text;
    char buffer[4096];
    size_t n;
    while (pipe != nullptr && (n = fread(buffer, 1, sizeof buffer, pipe)) > 0) {
      text.append(buffer, n);
    }
    const int status = pipe == nullptr ? -1 : pclose(pipe);
    EXPECT_EQ(status, 0) << command
                         << " failed (is gawk installed? bash deploy/setup.sh)";
    Counts counts;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (line.empty()) continue;
      std::vector<std::string> f = absl::StrSplit(line, '\t');
      EXPECT_EQ(f.size(), 6u) << line;
      if (f.size() != 6) continue;
      int64_t subjects = 0, events = 0;
      EXPECT_TRUE(absl::SimpleAtoi(f[4], &subjects)) << line;
      EXPECT_TRUE(absl::SimpleAtoi(f[5], &events)) << line;
      counts[{f[0], f[1], f[2], f[3]}] = {subjects, events};
    }
    return counts;
  }

  // Every cell equal, none missing on either side. Returns cells compared.
  static int ExpectSameCounts(const Counts& server, const Counts& script) {
    int compared = 0;
    for (const auto& [key, value] : script) {
      auto it = server.find(key);
      if (it == server.end()) {
        ADD_FAILURE() << "missing on the server: " << Show(key) << " = "
                      << value.first << " subjects / " << value.second
                      << " events";
        continue;
      }
      EXPECT_EQ(it->second, value)
          << Show(key) << ": server " << it->second.first << "/"
          << it->second.second << ", script " << value.first << "/"
          << value.second << " (subjects/events)";
      ++compared;
    }
    for (const auto& [key, value] : server) {
      if (!script.count(key)) {
        ADD_FAILURE() << "not in the independent count: " << Show(key);
      }
    }
    return compared;
  }

  void ExpectImportMatchesScript(const std::string& trial,
                                 const std::string& dir) {
    const std::string adsl = kData + "/" + dir + "/adsl.csv";
    const std::string adae = kData + "/" + dir + "/adae.csv";
    CliRun run = ImportAdam(trial, adsl, adae);
    ASSERT_EQ(run.code, 0) << run.err;
    EXPECT_THAT(run.out, HasSubstr("rejected 0"));
    int listed = 0;
    Counts server = ServerCounts(trial, &listed);
    Counts script = ScriptCounts(adsl, adae);
    ASSERT_FALSE(script.empty());
    const int compared = ExpectSameCounts(server, script);
    std::cout << trial << ": " << compared
              << " non-empty cells (arm x SOC x PT and arm x SOC, plus all "
                 "arms; subjects and events) equal the independent count; "
              << listed << " last-timepoint cells listed by the server\n";
    EXPECT_TRUE(server_->monitor().VerifyCounters(trial).ok());
  }

  // A table through the SDK, and how long the server took.
  v1::GetIncidenceResponse Table(v1::GetIncidenceRequest request,
                                 double* millis = nullptr) {
    client::ConnectionOptions options;
    options.target = Address();
    client::Client c(client::MakeClientConnection(options));
    const auto start = std::chrono::steady_clock::now();
    auto table = c.GetIncidence(std::move(request));
    if (millis != nullptr) {
      *millis = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    }
    EXPECT_TRUE(table.ok()) << table.status();
    return table.ok() ? *std::move(table) : v1::GetIncidenceResponse();
  }

  // The count from reports (a max-grade table of every AE) equals the
  // maintained counters cell for cell, and its grades add up; each subset's
  // any-AE row equals the unfiltered row of the same rule. Prints timings.
  void ExpectCountFromReportsEqualsCounters(const std::string& trial_id) {
    for (v1::TermLevel level :
         {v1::TERM_LEVEL_PT, v1::TERM_LEVEL_SOC, v1::TERM_LEVEL_OVERALL}) {
      v1::GetIncidenceRequest request;
      request.set_parent(client::TrialName(trial_id));
      request.set_level(level);
      request.set_page_size(1000);
      double counters_ms = 0, reports_ms = 0;
      const v1::GetIncidenceResponse counters = Table(request, &counters_ms);
      request.set_max_grade(true);
      const v1::GetIncidenceResponse reports = Table(request, &reports_ms);
      std::cout << trial_id << " " << v1::TermLevel_Name(level) << ": "
                << counters.terms_size() << " rows, from counters "
                << counters_ms << " ms, counted from reports with max grades "
                << reports_ms << " ms\n";
      EXPECT_LT(reports_ms, 5000);
      // At a data cut-off after the import (every table is then counted from
      // the report versions and subject history received by it): exactly
      // the counters' answer.
      v1::GetIncidenceRequest at_cut_off = request;
      at_cut_off.set_max_grade(false);
      // absl::Now(), the server's clock: protobuf's GetCurrentTime() has
      // whole seconds, which may precede what the server stored.
      *at_cut_off.mutable_as_of() =
          google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
              absl::ToUnixNanos(absl::Now()));
      double as_of_ms = 0;
      v1::GetIncidenceResponse as_of = Table(at_cut_off, &as_of_ms);
      std::cout << trial_id << " " << v1::TermLevel_Name(level)
                << ": as of now (counted from reports and subject history) "
                << as_of_ms << " ms\n";
      as_of.clear_as_of();
      google::protobuf::util::MessageDifferencer differ;
      std::string differences;
      differ.ReportDifferencesToString(&differences);
      EXPECT_TRUE(differ.Compare(counters, as_of))
          << differences.substr(0, 2000);
      ASSERT_EQ(reports.terms_size(), counters.terms_size());
      for (int t = 0; t < counters.terms_size(); ++t) {
        ASSERT_EQ(reports.terms(t).cells_size(),
                  counters.terms(t).cells_size());
        for (int c = 0; c < counters.terms(t).cells_size(); ++c) {
          v1::IncidenceCell cell = reports.terms(t).cells(c);
          int grades = 0;
          for (int n : cell.max_grade_subjects()) grades += n;
          EXPECT_EQ(grades, cell.cumulative().subjects());
          cell.clear_max_grade_subjects();
          EXPECT_EQ(cell.SerializeAsString(),
                    counters.terms(t).cells(c).SerializeAsString())
              << counters.terms(t).label() << " cell " << c;
        }
      }
    }
    ExpectSubsetsMatchOverallRows(trial_id);
  }

  void ExpectSubsetsMatchOverallRows(const std::string& trial_id) {
    v1::GetIncidenceRequest request;
    request.set_parent(client::TrialName(trial_id));
    request.set_level(v1::TERM_LEVEL_OVERALL);
    const v1::GetIncidenceResponse all = Table(request);
    const std::pair<v1::IncidenceSubset, int> subsets[] = {
        {v1::INCIDENCE_SUBSET_SERIOUS, 1},
        {v1::INCIDENCE_SUBSET_GRADE_3_PLUS, 2},
        {v1::INCIDENCE_SUBSET_RELATED, 3},
        {v1::INCIDENCE_SUBSET_DEATH, 4}};
    for (const auto& [subset, row] : subsets) {
      request.set_subset(subset);
      request.set_overall_key("any_ae");
      const v1::GetIncidenceResponse one = Table(request);
      ASSERT_EQ(one.terms_size(), 1);
      ASSERT_EQ(one.terms(0).cells_size(), all.terms(row).cells_size());
      for (int c = 0; c < one.terms(0).cells_size(); ++c) {
        EXPECT_EQ(one.terms(0).cells(c).SerializeAsString(),
                  all.terms(row).cells(c).SerializeAsString())
            << all.terms(row).overall_key() << " cell " << c;
      }
    }
    EXPECT_GT(all.terms(4)
                  .cells(all.terms(4).cells_size() - 1)
                  .cumulative()
                  .subjects(),
              0)
        << "the pilot's fatal AEs";
  }

  testing::TempDir dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(ImportTest, CdiscPilotMatchesIndependentCount) {
  ExpectImportMatchesScript("CDISCPILOT01", "cdiscpilot01");
  ExpectCountFromReportsEqualsCounters("CDISCPILOT01");
  CliRun subjects =
      Cli({"subjects", "list", "--trial", "CDISCPILOT01", "--format", "csv"});
  // header + 254 subjects (the whole safety population)
  EXPECT_EQ(std::count(subjects.out.begin(), subjects.out.end(), '\n'), 255);
  CliRun trial = Cli({"trial", "get", "--trial", "CDISCPILOT01"});
  EXPECT_THAT(trial.out, HasSubstr("Placebo                  0   [control]"));
  // The id is URL-safe (AIP-122); the label keeps the arm's name.
  EXPECT_THAT(trial.out, HasSubstr("  Xanomeline-High-Dose Xanomeline High "
                                   "Dose     81"));
}

TEST_F(ImportTest, PharmaverseMatchesIndependentCount) {
  ExpectImportMatchesScript("PHARMAVERSE", "pharmaverseadam");
}

// The SAS transport fixture (tests/import/make_xpt.R) gives the identical
// incidence tables, and re-importing is a no-op (every report DUPLICATE).
TEST_F(ImportTest, XptGivesTheIdenticalTable) {
  const std::string dir = kData + "/cdiscpilot01";
  CliRun csv = ImportAdam("PILOT-CSV", dir + "/adsl.csv", dir + "/adae.csv");
  ASSERT_EQ(csv.code, 0) << csv.err;
  CliRun xpt = ImportAdam("PILOT-XPT", dir + "/adsl.xpt", dir + "/adae.xpt");
  ASSERT_EQ(xpt.code, 0) << xpt.err;
  EXPECT_THAT(xpt.out, HasSubstr("accepted 1126, duplicate 0"));
  for (const char* by : {"pt", "soc", "overall"}) {
    SCOPED_TRACE(by);
    CliRun a = Cli(
        {"incidence", "--trial", "PILOT-CSV", "--by", by, "--format", "csv"});
    CliRun b = Cli(
        {"incidence", "--trial", "PILOT-XPT", "--by", by, "--format", "csv"});
    ASSERT_EQ(a.code, 0) << a.err;
    EXPECT_GT(a.out.size(), 1000u);
    EXPECT_EQ(a.out, b.out);
  }
  CliRun again = ImportAdam("PILOT-CSV", dir + "/adsl.xpt", dir + "/adae.xpt");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("254 unchanged"));
  EXPECT_THAT(again.out, HasSubstr("accepted 0, duplicate 1126"));
}

TEST_F(ImportTest, BadRowsAreNamedAndNotSent) {
  const std::string adsl =
      WriteFile("adsl.csv",
                "STUDYID,USUBJID,SITEID,TRT01A,TRT01AN,SAFFL,TRTDURD\n"
                "S1,S1-001,01,Placebo,0,Y,30\n"
                "S1,S1-002,01,Drug 5 mg,5,Y,30\n"
                "S1,S1-003,02,Drug 5 mg,5,N,\n");
  const std::string adae = WriteFile(
      "adae.csv",
      "USUBJID,AESEQ,AEDECOD,AEBODSYS,AETERM,AESEV,AESER,AEREL,AEOUT,"
      "TRTEMFL,ASTDY\n"
      "S1-001,1,Headache,Nervous system disorders,hd,MILD,N,NONE,,Y,3\n"
      "S1-001,2,Nausea,Gastrointestinal disorders,n,VERY BAD,N,NONE,,Y,4\n"
      "S1-002,1,Rash,Skin disorders,r,MILD,N,SOMEWHAT,,Y,5\n"
      "S1-002,2,Rash,Skin disorders,r,MILD,N,NONE,,Y,-2\n"
      "S1-002,3,Rash,Skin disorders,r,MILD,N,NONE,,N,-2\n"
      "S1-003,1,Rash,Skin disorders,r,MILD,N,NONE,,Y,2\n"
      "S1-009,1,Rash,Skin disorders,r,MILD,N,NONE,,Y,2\n"
      "S1-002,4,Rash,Skin disorders,r,MILD,N,NONE,,Y,\n"
      "S1-002,4,Rash,Skin disorders,r,MODERATE,N,NONE,,Y,9\n"
      "S1-002,5,Rash,Skin disorders,r,MILD,N,NONE,,Y,400\n");
  CliRun run = ImportAdam("BAD", adsl, adae, {"--timepoints", "D30:30"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr(adae + ":3: AESEV: 'VERY BAD' is not a "
                                        "severity"));
  EXPECT_THAT(run.err, HasSubstr(adae + ":4: AEREL: 'SOMEWHAT' is not a "
                                        "causality term"));
  EXPECT_THAT(run.err, HasSubstr(adae + ":5: ASTDY: onset study day -2 is "
                                        "before the first dose"));
  EXPECT_THAT(run.err, HasSubstr(adae + ":8: USUBJID: subject 'S1-009' is "
                                        "not in"));
  EXPECT_THAT(run.err,
              HasSubstr(adae + ":10: AESEQ: USUBJID + AESEQ "
                               "'S1-002-4' repeats the row at line 9"));
  EXPECT_THAT(run.err, HasSubstr(adae + ":11: ASTDY (onset_study_day): "
                                        "rejected by the server: day 400 is "
                                        "after the last timepoint"));
  // Sent: line 2 and line 9 (missing ASTDY -> day 1) accepted, line 11
  // rejected by the server; 5 rows unmappable; line 6 not TE, line 7 not in
  // the safety population.
  EXPECT_THAT(run.out, HasSubstr("reports: 3 sent; accepted 2, duplicate 0, "
                                 "superseded 0, rejected 1; 5 AE rows not "
                                 "sent"));
  EXPECT_THAT(run.out, HasSubstr("imputed: 1 treatment-emergent AEs without "
                                 "an onset day counted from day 1"));
  CliRun table =
      Cli({"incidence", "--trial", "BAD", "--by", "pt", "--format", "csv"});
  EXPECT_THAT(table.out, HasSubstr("Headache"));
  EXPECT_THAT(table.out, Not(HasSubstr("Nausea")));
}

// Grades from AESEV are recorded as the trial's grading; a trial imported
// before aesignal recorded it gets it when the same data are imported again.
TEST_F(ImportTest, GradesFromSeverityAreRecordedAsTheTrialsGrading) {
  const std::string adsl = WriteFile(
      "adsl.csv",
      "USUBJID,SITEID,TRT01A,SAFFL\nS-1,01,Placebo,Y\nS-2,01,Drug,Y\n");
  const std::string adae =
      WriteFile("adae.csv",
                "USUBJID,AESEQ,AEDECOD,AEBODSYS,AESEV,TRTEMFL,ASTDY\n"
                "S-2,1,Rash,Skin disorders,SEVERE,Y,3\n");
  CliRun first = ImportAdam("GRADED", adsl, adae);
  ASSERT_EQ(first.code, 0) << first.err;
  // The file has no AESER, AEREL or AEOUT: said, not left to be found.
  EXPECT_THAT(first.out,
              HasSubstr("missing: the AE file has no AESER column (AESER), so "
                        "every report is counted as not serious"));
  EXPECT_THAT(first.out, HasSubstr("no AEREL column (AEREL), so every "
                                   "report's relatedness is unknown"));
  EXPECT_THAT(first.out, HasSubstr("no AEOUT column (AEOUT), so every "
                                   "report's outcome is unknown"));
  client::ConnectionOptions options;
  options.target = Address();
  client::Client c(client::MakeClientConnection(options));
  auto trial = c.GetTrial("GRADED");
  ASSERT_TRUE(trial.ok()) << trial.status();
  EXPECT_THAT(trial->grading(), ::testing::StartsWith("severity (AESEV)"));

  // As an earlier aesignal stored it: no grading.
  v1::Trial earlier = *trial;
  earlier.clear_grading();
  ASSERT_TRUE(c.UpdateTrial(earlier, {"grading"}).ok());
  CliRun again = ImportAdam("GRADED", adsl, adae);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("imported earlier without its grading; "
                                   "recorded it (amendment)"));
  EXPECT_EQ(c.GetTrial("GRADED")->grading(), trial->grading());
  // --control with --no-control would drop one of them: a usage error.
  CliRun both = ImportAdam("GRADED", adsl, adae,
                           {"--control", "Placebo", "--no-control"});
  EXPECT_EQ(both.code, 2);
  EXPECT_THAT(both.err, HasSubstr("--control excludes --no-control"));
  // Another design under the id is still refused.
  CliRun other = ImportAdam("GRADED", adsl, adae, {"--timepoints", "D30:30"});
  EXPECT_EQ(other.code, 1);
  EXPECT_THAT(other.err, HasSubstr("with a different design exists"));
}

TEST_F(ImportTest, SubjectErrorsStopEverything) {
  const std::string adsl =
      WriteFile("adsl.csv",
                "USUBJID,SITEID,TRT01A,SAFFL\nS-1,01,Placebo,Y\nS-2,,Drug,Y\n");
  const std::string adae =
      WriteFile("adae.csv",
                "USUBJID,AESEQ,AEDECOD,AEBODSYS,AESEV,TRTEMFL,ASTDY\n"
                "S-1,1,Headache,Nervous system disorders,MILD,Y,3\n");
  CliRun run = ImportAdam("STOPPED", adsl, adae);
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr(adsl + ":3: SITEID: is empty"));
  EXPECT_THAT(run.err, HasSubstr("nothing imported"));
  EXPECT_THAT(Cli({"trial", "get", "--trial", "STOPPED"}).err,
              HasSubstr("NOT_FOUND"));

  // A required column missing is named at line 1.
  const std::string no_pt =
      WriteFile("no_pt.csv",
                "USUBJID,AESEQ,PREFTERM,AEBODSYS,AESEV,TRTEMFL,ASTDY\n"
                "S-1,1,Headache,Nervous system disorders,MILD,Y,3\n");
  const std::string good_adsl =
      WriteFile("adsl2.csv", "USUBJID,SITEID,TRT01A,SAFFL\nS-1,01,Placebo,Y\n");
  run = ImportAdam("MAPPED", good_adsl, no_pt);
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr(no_pt + ":1: required column AEDECOD is "
                                         "missing"));
  // ... and a mapping file names it.
  const std::string map = WriteFile(
      "map.txt", "# our export names the PT differently\nAEDECOD = PREFTERM\n");
  run = ImportAdam("MAPPED", good_adsl, no_pt, {"--mapping", map});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("accepted 1"));
}

// A later data cut imported into the same trial: unchanged rows are
// duplicates; a subject's shorter follow-up is a correction the import
// cannot make, refused by the server and named by ADSL line; a changed AE is
// a version conflict named by ADAE line (docs/import.md, "A later data cut").
TEST_F(ImportTest, ALaterDataCutNamesWhatItCannotChange) {
  const std::string header =
      "USUBJID,AESEQ,AEDECOD,AEBODSYS,AESEV,TRTEMFL,ASTDY\n";
  const std::string adsl =
      WriteFile("adsl.csv",
                "USUBJID,SITEID,TRT01A,SAFFL,TRTDURD\nS-1,01,Placebo,Y,90\n"
                "S-2,01,Drug,Y,90\n");
  const std::string adae =
      WriteFile("adae.csv",
                header + "S-1,1,Headache,Nervous system disorders,MILD,Y,3\n");
  ASSERT_EQ(ImportAdam("CUT", adsl, adae).code, 0);

  const std::string shorter =
      WriteFile("adsl2.csv",
                "USUBJID,SITEID,TRT01A,SAFFL,TRTDURD\nS-1,01,Placebo,Y,90\n"
                "S-2,01,Drug,Y,60\n");
  CliRun run = ImportAdam("CUT", shorter, adae);
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr(shorter + ":3: last_contact_day: "));

  const std::string changed = WriteFile(
      "adae2.csv",
      header + "S-1,1,Headache,Nervous system disorders,SEVERE,Y,3\n");
  run = ImportAdam("CUT", adsl, changed);
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr(changed + ":2: "));
  EXPECT_THAT(run.err, HasSubstr("already stored with different content"));
  EXPECT_THAT(run.err, HasSubstr("send the change with `aesignal reports "
                                 "submit` as version 2"));
}

TEST_F(ImportTest, SdtmSyntheticFixture) {
  const std::string dir = kData + "/sdtm_synthetic";
  CliRun run =
      Cli({"import", "sdtm", "--trial", "SYN01", "--dm", dir + "/dm.csv",
           "--ex", dir + "/ex.csv", "--ae", dir + "/ae.csv"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("5 subjects, 4 in the safety population"));
  EXPECT_THAT(run.out, HasSubstr("8 AE rows: 6 treatment-emergent in the "
                                 "safety population, 1 not "
                                 "treatment-emergent (skipped), 1 of subjects "
                                 "outside the safety population (skipped)"));
  EXPECT_THAT(run.out,
              HasSubstr("Placebo [control] < Drug-10-mg < Drug-20-mg"));
  EXPECT_THAT(run.out, HasSubstr("accepted 6"));
  // Follow-up from RFENDTC (or the last EX end date), CDISC study days.
  CliRun subjects =
      Cli({"subjects", "list", "--trial", "SYN01", "--format", "csv"});
  EXPECT_THAT(subjects.out, HasSubstr("SYN01-101-001,101,Placebo,90,"));
  EXPECT_THAT(subjects.out, HasSubstr("SYN01-101-002,101,Drug-10-mg,87,"));
  EXPECT_THAT(subjects.out, HasSubstr("SYN01-102-003,102,Drug-20-mg,31,"));
  EXPECT_THAT(subjects.out, HasSubstr("SYN01-102-004,102,Drug-20-mg,40,"));
  // Onsets: Rash "2024-04" (first dose 2024-03-12) -> 2024-04-01 = day 21,
  // in W4 (days 15-28), not in W2.
  CliRun pt =
      Cli({"incidence", "--trial", "SYN01", "--by", "pt", "--format", "csv"});
  EXPECT_THAT(pt.out, HasSubstr("PT,Skin and subcutaneous tissue disorders,"
                                "Rash,,Rash,Drug-20-mg,W2,2,2,0,0,2,"));
  EXPECT_THAT(pt.out, HasSubstr("PT,Skin and subcutaneous tissue disorders,"
                                "Rash,,Rash,Drug-20-mg,W4,2,2,1,1,2,"));
  // Placebo headache: day -3 not treatment-emergent, day 1 counted once.
  EXPECT_THAT(pt.out, HasSubstr("PT,Nervous system disorders,Headache,,"
                                "Headache,Placebo,W2,1,1,1,1,1,"));
  // Nausea for Drug 10 mg: days 11 and 47 -> 1 subject, 2 events by D90.
  EXPECT_THAT(pt.out, HasSubstr("PT,Gastrointestinal disorders,Nausea,,Nausea,"
                                "Drug-10-mg,D90,1,1,1,2,1,"));
}

}  // namespace
}  // namespace aesignal
