// The DSMB report end to end (a real in-process server, gRPC and the CLI):
// every number the report prints is the API's at the same cut-off; a report
// at an old cut-off is the same report, hash and all, after new reports,
// follow-ups, subject updates, triage and a baseline revision; open, closed
// and coded sessions differ as specified; the CLI writes HTML and CSV and
// verifies the content hash; bad requests name their field.
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "aesignal/v1/ingest_service.grpc.pb.h"
#include "aesignal/v1/safety_service.grpc.pb.h"
#include "aesignal/v1/signal_service.grpc.pb.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "clients/cli/cli.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "services/server/server.h"
#include "tests/testing/api_helpers.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Report;

constexpr char kParent[] = "trials/T1";

using testing::CutOffNow;
using testing::ViolatedField;

// One RFC 4180 CSV, parsed independently of the writer: rows of fields.
std::vector<std::vector<std::string>> ParseCsv(const std::string& csv) {
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (size_t i = 0; i < csv.size(); ++i) {
    const char c = csv[i];
    if (quoted) {
      if (c == '"' && i + 1 < csv.size() && csv[i + 1] == '"') {
        rows.back().back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        rows.back().back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().emplace_back();
    } else if (c == '\r' && i + 1 < csv.size() && csv[i + 1] == '\n') {
      ++i;
      rows.emplace_back(1);
    } else {
      rows.back().back() += c;
    }
  }
  if (rows.back().size() == 1 && rows.back()[0].empty()) rows.pop_back();
  return rows;
}

// Table `id` of the report as parsed CSV: header, then rows.
std::vector<std::vector<std::string>> Rows(const v1::DsmbReport& report,
                                           const std::string& id) {
  for (const auto& table : report.tables()) {
    if (table.id() == id) return ParseCsv(table.csv());
  }
  ADD_FAILURE() << "no table " << id;
  return {};
}

// "n (p) [e]" -> {n, e}; "n (p)" -> {n, -1}; "n" -> {n, -1}.
std::pair<int, int> Counts(const std::string& cell) {
  std::smatch m;
  static const std::regex kCell(R"(^(\d+)(?: \([\d.]+\))?(?: \[(\d+)\])?$)");
  if (!std::regex_match(cell, m, kCell)) return {-1, -1};
  return {std::stoi(m[1]), m[2].matched ? std::stoi(m[2]) : -1};
}

class DsmbReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server =
        Server::Start({.listen = "127.0.0.1:0", .data_dir = dir_.Sub("data")});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    target_ = absl::StrCat("127.0.0.1:", server_->port());
    auto channel =
        grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
    trials_ = v1::TrialService::NewStub(channel);
    ingest_ = v1::IngestService::NewStub(channel);
    safety_ = v1::SafetyService::NewStub(channel);
    signals_ = v1::SignalService::NewStub(channel);
    v1::CreateTrialRequest create;
    *create.mutable_trial() = testing::ThreeGroupTrial("T1");
    create.mutable_trial()->mutable_dose_groups(0)->set_control(true);
    create.mutable_trial()->add_aesi_categories("infection");
    create.mutable_trial()->set_meddra_version("MedDRA 26.1");
    create.mutable_trial()->set_ctcae_version("CTCAE v5.0");
    v1::Trial trial;
    grpc::ClientContext context;
    const grpc::Status s = trials_->CreateTrial(&context, create, &trial);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void Enroll(std::vector<v1::Subject> subjects) {
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent(kParent);
    for (auto& s : subjects) *enroll.add_subjects() = std::move(s);
    v1::EnrollSubjectsResponse response;
    grpc::ClientContext context;
    const grpc::Status s = trials_->EnrollSubjects(&context, enroll, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void Submit(std::vector<v1::AdverseEventReport> reports) {
    v1::SubmitReportsRequest request;
    request.set_parent(kParent);
    for (auto& r : reports) *request.add_reports() = std::move(r);
    v1::SubmitReportsResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(ingest_->SubmitReports(&context, request, &response).ok());
    ASSERT_EQ(response.rejected_count(), 0);
    ASSERT_TRUE(server_->monitor().signals().WaitIdle(absl::Seconds(20)).ok());
  }

  // Twelve subjects (four per group, LOW the control), one withdrawn; AEs
  // including SAEs, a grade 4, a related AE, an AESI, a death and an AE
  // leading to discontinuation; a baseline the HIGH group's SAEs cross.
  void FirstData() {
    std::vector<v1::Subject> subjects;
    for (int i = 1; i <= 12; ++i) subjects.push_back(testing::SubjectNumber(i));
    subjects[2].set_status(v1::FOLLOW_UP_STATUS_WITHDRAWN);
    subjects[2].set_withdrawal_reason("ADVERSE EVENT");
    Enroll(subjects);
    v1::PutBaselinesRequest put;
    put.set_parent(kParent);
    *put.add_baselines() = testing::SeriousAeBaseline();
    v1::PutBaselinesResponse put_response;
    grpc::ClientContext context;
    ASSERT_TRUE(signals_->PutBaselines(&context, put, &put_response).ok());
    v1::AdverseEventReport infection =
        Report("R3", 1, "S2", 40, "Pneumonia", 2);
    infection.add_aesi("infection");
    infection.set_relatedness(v1::RELATEDNESS_PROBABLE);
    v1::AdverseEventReport fatal = Report("R4", 1, "S6", 60, "Sepsis", 5, true);
    fatal.set_death(true);
    fatal.set_outcome(v1::OUTCOME_FATAL);
    v1::AdverseEventReport stopped = Report("R5", 1, "S9", 10, "Rash", 2);
    stopped.set_action_taken(v1::ACTION_TAKEN_DRUG_WITHDRAWN);
    Submit({Report("R1", 1, "S3", 20, "Pneumonia", 3, true),
            Report("R2", 1, "S1", 25, "Headache", 1), infection, fatal, stopped,
            Report("R6", 1, "S12", 30, "Headache", 4, true)});
  }

  // R6 (S12's grade 4 serious headache) withdrawn as entered in error.
  static v1::AdverseEventReport R6Withdrawn() {
    v1::AdverseEventReport r = Report("R6", 2, "S12", 30, "Headache", 4, true);
    r.set_entered_in_error(true);
    r.set_entered_in_error_reason("duplicate of R2 (wrong subject)");
    return r;
  }

  // Everything after the cut-off: a follow-up making R2 serious, a new
  // report, a report withdrawn, a subject withdrawn, a new subject, the
  // topic triaged and the baseline revised.
  void EverythingLater() {
    Submit({Report("R2", 2, "S1", 25, "Headache", 3, true),
            Report("R7", 1, "S4", 35, "Pneumonia", 2, true), R6Withdrawn()});
    v1::Subject withdrawn = testing::SubjectNumber(4);
    withdrawn.set_status(v1::FOLLOW_UP_STATUS_WITHDRAWN);
    withdrawn.set_withdrawal_reason("WITHDRAWAL BY SUBJECT");
    Enroll({withdrawn, testing::SubjectNumber(13)});
    v1::TriageTopicRequest triage;
    triage.set_name("trials/T1/topics/OVERALL~any_sae");
    triage.set_status(v1::SIGNAL_STATUS_VALIDATED);
    triage.set_comment("after the cut-off");
    v1::SignalTopic topic;
    grpc::ClientContext c1;
    ASSERT_TRUE(signals_->TriageTopic(&c1, triage, &topic).ok());
    v1::PutBaselinesRequest put;
    put.set_parent(kParent);
    *put.add_baselines() = testing::SeriousAeBaseline();
    put.mutable_baselines(0)->set_expected_proportion(0.01);
    v1::PutBaselinesResponse put_response;
    grpc::ClientContext c2;
    ASSERT_TRUE(signals_->PutBaselines(&c2, put, &put_response).ok());
    ASSERT_TRUE(server_->monitor().signals().WaitIdle(absl::Seconds(20)).ok());
  }

  grpc::Status Generate(const v1::GenerateDsmbReportRequest& request,
                        v1::DsmbReport* report) {
    grpc::ClientContext context;
    return safety_->GenerateDsmbReport(&context, request, report);
  }

  v1::DsmbReport MustGenerate(const google::protobuf::Timestamp& cutoff,
                              v1::DsmbSession session, bool coded = false) {
    v1::GenerateDsmbReportRequest request;
    request.set_parent(kParent);
    *request.mutable_cutoff() = cutoff;
    request.set_session(session);
    request.set_coded(coded);
    v1::DsmbReport report;
    const grpc::Status s = Generate(request, &report);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return report;
  }

  v1::GetIncidenceResponse Incidence(v1::TermLevel level,
                                     const google::protobuf::Timestamp& as_of,
                                     v1::IncidenceSubset subset = {}) {
    v1::GetIncidenceRequest request;
    request.set_parent(kParent);
    request.set_level(level);
    request.set_subset(subset);
    *request.mutable_as_of() = as_of;
    v1::GetIncidenceResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(safety_->GetIncidence(&context, request, &response).ok());
    return response;
  }

  int Cli(std::vector<std::string> args, std::string* out = nullptr) {
    args.insert(args.begin(), {"aesignal", "--server", target_});
    std::ostringstream o, e;
    const int code = cli::RunCli(args, {.out = o, .err = e});
    if (out != nullptr) *out = o.str() + e.str();
    return code;
  }

  testing::TempDir dir_;
  std::unique_ptr<Server> server_;
  std::string target_;
  std::unique_ptr<v1::TrialService::Stub> trials_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::unique_ptr<v1::SafetyService::Stub> safety_;
  std::unique_ptr<v1::SignalService::Stub> signals_;
};

// The total column's cell of `term` at the last timepoint (M12).
const v1::IncidenceCell& TotalCell(const v1::TermIncidence& term) {
  for (const auto& cell : term.cells()) {
    if (cell.scope() == v1::DOSE_GROUP_SCOPE_ALL_GROUPS &&
        cell.timepoint_id() == "M12") {
      return cell;
    }
  }
  ADD_FAILURE() << "no total cell";
  return term.cells(0);
}

TEST_F(DsmbReportTest, EveryNumberIsTheApisAtTheCutOff) {
  FirstData();
  const auto cut = CutOffNow();
  EverythingLater();
  const v1::DsmbReport report = MustGenerate(cut, v1::DSMB_SESSION_CLOSED);
  // Headers: N per group and total from the API's n_dosed.
  const auto overall = Incidence(v1::TERM_LEVEL_OVERALL, cut);
  const auto overview = Rows(report, "t05_ae_overview");
  ASSERT_GE(overview.size(), 2u);
  EXPECT_THAT(overview[0],
              ::testing::ElementsAre("Subjects with", "LOW (N=4)", "MID (N=4)",
                                     "HIGH (N=4)", "Total (N=12)"));
  // Every overall row: the total column's n and events are the API's.
  int checked = 0;
  for (const auto& term : overall.terms()) {
    for (const auto& row : overview) {
      if (row[0] != term.label()) continue;
      const auto [n, events] = Counts(row.back());
      EXPECT_EQ(n, TotalCell(term).cumulative().subjects()) << row[0];
      EXPECT_EQ(events, TotalCell(term).cumulative().events()) << row[0];
      ++checked;
    }
  }
  EXPECT_EQ(checked, overall.terms_size());
  // Every PT row of the all-AE and SAE tables.
  for (const auto& [id, subset] :
       {std::pair{"t06_ae_soc_pt", v1::INCIDENCE_SUBSET_UNSPECIFIED},
        std::pair{"t07_sae_soc_pt", v1::INCIDENCE_SUBSET_SERIOUS}}) {
    const auto pt = Incidence(v1::TERM_LEVEL_PT, cut, subset);
    const auto rows = Rows(report, id);
    ASSERT_GT(pt.terms_size(), 0);
    for (const auto& term : pt.terms()) {
      bool found = false;
      for (const auto& row : rows) {
        if (row[0] != term.pt()) continue;
        found = true;
        EXPECT_EQ(Counts(row.back()).first,
                  TotalCell(term).cumulative().subjects())
            << id << " " << term.pt();
      }
      EXPECT_TRUE(found) << id << " " << term.pt();
    }
  }
  // At the cut-off: R2 was not serious yet, R7 had not arrived.
  EXPECT_EQ(Rows(report, "l01_sae_listing").size(), 1u + 3u);  // R1 R4 R6
  EXPECT_EQ(Rows(report, "l02_death_listing").size(), 1u + 1u);
  EXPECT_EQ(Rows(report, "l03_aesi_listing").size(), 1u + 1u);
  EXPECT_EQ(Rows(report, "l04_withdrawn_listing").size(), 1u);  // R6 later
  EXPECT_THAT(report.html(), HasSubstr("No report withdrawn."));
  EXPECT_THAT(report.html(), HasSubstr("ADVERSE EVENT"));
  EXPECT_THAT(report.html(), Not(HasSubstr("WITHDRAWAL BY SUBJECT")));
  EXPECT_THAT(report.html(), Not(HasSubstr("after the cut-off")));
  EXPECT_THAT(report.html(), HasSubstr("MedDRA 26.1"));
  EXPECT_THAT(report.html(), HasSubstr("CTCAE v5.0"));
  // Each topic's figure notes the API's dose trend at the last timepoint.
  v1::ListTopicsRequest list;
  list.set_parent(kParent);
  *list.mutable_as_of() = cut;
  v1::ListTopicsResponse topics;
  grpc::ClientContext list_context;
  ASSERT_TRUE(signals_->ListTopics(&list_context, list, &topics).ok());
  ASSERT_GT(topics.topics_size(), 0);
  for (const v1::SignalTopic& topic : topics.topics()) {
    v1::GetIncidenceRequest request;
    request.set_parent(kParent);
    request.set_level(topic.level());
    request.set_soc(topic.soc());
    request.set_pt(topic.pt());
    request.set_overall_key(topic.overall_key());
    request.set_dose_trend(true);
    *request.mutable_as_of() = cut;
    v1::GetIncidenceResponse term;
    grpc::ClientContext context;
    ASSERT_TRUE(safety_->GetIncidence(&context, request, &term).ok());
    ASSERT_EQ(term.terms_size(), 1) << topic.topic_id();
    ASSERT_GT(term.terms(0).dose_trends_size(), 0);
    const double p = term.terms(0).dose_trends().rbegin()->p_value();
    EXPECT_THAT(report.html(),
                HasSubstr(absl::StrFormat("one-sided p = %.3g", p)))
        << topic.topic_id();
  }
  // The pre-specified rows (every overall row, and the SAE baseline's is
  // one of them) recounted at the cut-off cross in as many tests as the
  // evaluator's topics then did.
  const auto prespecified = Rows(report, "t15_prespecified_tests");
  ASSERT_EQ(prespecified.size(), 1u + overall.terms_size());
  int overall_topics = 0;
  for (const v1::SignalTopic& topic : topics.topics()) {
    if (topic.level() != v1::TERM_LEVEL_OVERALL) continue;
    ++overall_topics;
    std::string label;  // as the overview table prints the row
    for (const auto& term : overall.terms()) {
      if (term.overall_key() == topic.overall_key()) label = term.label();
    }
    bool found = false;
    for (const auto& row : prespecified) {
      if (row[0] != label) continue;
      found = true;
      EXPECT_THAT(row.back(), ::testing::StartsWith(
                                  absl::StrCat(topic.crossing_count(), " of ")))
          << topic.topic_id();
    }
    EXPECT_TRUE(found) << topic.topic_id();
  }
  EXPECT_GT(overall_topics, 0);
}

TEST_F(DsmbReportTest, AnOldCutOffGivesTheSameReportAfterLaterData) {
  FirstData();
  const auto cut = CutOffNow();
  const v1::DsmbReport before = MustGenerate(cut, v1::DSMB_SESSION_CLOSED);
  EverythingLater();
  const v1::DsmbReport after = MustGenerate(cut, v1::DSMB_SESSION_CLOSED);
  EXPECT_EQ(before.content_hash(), after.content_hash());
  // The any-SAE figure draws the baseline as it stood at the cut-off (2%,
  // revised to 1% since), at its timepoint, with its source.
  EXPECT_THAT(after.html(), HasSubstr("Expected 2.0% for HIGH (sae): 2.0%"));
  EXPECT_THAT(after.html(), Not(HasSubstr("Expected 1.0% for HIGH")));
  EXPECT_THAT(after.html(), HasSubstr("at the timepoint it applies to (a "
                                      "line across: every timepoint). sae: "
                                      "test."));
  ASSERT_EQ(before.tables_size(), after.tables_size());
  for (int i = 0; i < before.tables_size(); ++i) {
    EXPECT_EQ(before.tables(i).csv(), after.tables(i).csv())
        << before.tables(i).id();
  }
  // ... and a report now differs (the check can fail).
  const v1::DsmbReport now = MustGenerate(CutOffNow(), v1::DSMB_SESSION_CLOSED);
  EXPECT_NE(now.content_hash(), before.content_hash());
}

// With the previous cut-off, each listing row says whether its report is
// new since then, a follow-up (with both versions), or unchanged.
TEST_F(DsmbReportTest, ListingsMarkWhatIsNewSinceThePreviousCutOff) {
  FirstData();
  const auto previous = CutOffNow();
  EverythingLater();
  v1::GenerateDsmbReportRequest request;
  request.set_parent(kParent);
  *request.mutable_cutoff() = CutOffNow();
  *request.mutable_since() = previous;
  request.set_session(v1::DSMB_SESSION_CLOSED);
  v1::DsmbReport report;
  const grpc::Status status = Generate(request, &report);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::map<std::string, std::string> marks;  // "R1 (v1)" -> mark
  for (const char* listing : {"l01_sae_listing", "l04_withdrawn_listing"}) {
    const auto rows = Rows(report, listing);
    ASSERT_GE(rows.size(), 2u) << listing;
    ASSERT_EQ(rows[0].back(), "Since the previous cut-off") << listing;
    for (size_t i = 1; i < rows.size(); ++i) {
      marks[rows[i][rows[i].size() - 2]] = rows[i].back();
    }
  }
  EXPECT_EQ(marks["R1 (v1)"], "-");
  EXPECT_EQ(marks["R4 (v1)"], "-");
  EXPECT_EQ(marks["R2 (v2)"], "v1 \xE2\x86\x92 v2");  // serious since
  EXPECT_EQ(marks["R7 (v1)"], "new");
  EXPECT_EQ(marks["R6 (v2)"], "v1 \xE2\x86\x92 v2");  // withdrawn since
  // Without the previous cut-off there is no such column.
  const v1::DsmbReport plain =
      MustGenerate(request.cutoff(), v1::DSMB_SESSION_CLOSED);
  EXPECT_NE(Rows(plain, "l01_sae_listing")[0].back(),
            "Since the previous cut-off");
}

// A report withdrawn by the cut-off counts in no table and is listed, with
// its reason, in its own listing.
TEST_F(DsmbReportTest, AWithdrawnReportIsListedApartAndCountsNowhere) {
  FirstData();
  Submit({R6Withdrawn()});
  ASSERT_TRUE(server_->monitor().signals().WaitIdle(absl::Seconds(20)).ok());
  const auto cut = CutOffNow();
  const v1::DsmbReport report = MustGenerate(cut, v1::DSMB_SESSION_CLOSED);
  EXPECT_EQ(Rows(report, "l01_sae_listing").size(), 1u + 2u);  // R1 R4
  const auto withdrawn = Rows(report, "l04_withdrawn_listing");
  ASSERT_EQ(withdrawn.size(), 1u + 1u);
  EXPECT_THAT(withdrawn[1],
              ::testing::ElementsAre(
                  "S12", "HIGH", "01", "30", "Headache", "4", "serious",
                  "duplicate of R2 (wrong subject)", "R6 (v2)"));
  const auto overview = Rows(report, "t05_ae_overview");
  const auto overall = Incidence(v1::TERM_LEVEL_OVERALL, cut);
  for (const auto& term : overall.terms()) {
    for (const auto& row : overview) {
      if (row[0] == term.label()) {
        EXPECT_EQ(Counts(row.back()).first,
                  TotalCell(term).cumulative().subjects())
            << row[0];
      }
    }
  }
  const v1::GetIncidenceResponse pt = Incidence(v1::TERM_LEVEL_PT, cut);
  for (const auto& term : pt.terms()) {
    if (term.pt() == "Headache") {
      EXPECT_EQ(TotalCell(term).cumulative().subjects(), 1);  // S1's R2 only
    }
  }
}

TEST_F(DsmbReportTest, OpenClosedAndCodedSessionsDiffer) {
  FirstData();
  const auto cut = CutOffNow();
  const auto open = MustGenerate(cut, v1::DSMB_SESSION_OPEN);
  const auto closed = MustGenerate(cut, v1::DSMB_SESSION_CLOSED);
  const auto coded = MustGenerate(cut, v1::DSMB_SESSION_CLOSED, true);
  EXPECT_THAT(Rows(open, "t05_ae_overview")[0],
              ::testing::ElementsAre("Subjects with", "Total (N=12)"));
  EXPECT_THAT(open.html(), HasSubstr("OPEN SESSION"));
  EXPECT_THAT(open.html(), Not(HasSubstr("CONFIDENTIAL")));
  EXPECT_THAT(open.html(), Not(HasSubstr("Risk difference")));
  EXPECT_THAT(closed.html(), HasSubstr("CLOSED SESSION"));
  EXPECT_THAT(closed.html(), HasSubstr("Risk difference"));
  EXPECT_THAT(
      Rows(coded, "t05_ae_overview")[0],
      ::testing::ElementsAre("Subjects with", "Group A (N=4)", "Group B (N=4)",
                             "Group C (N=4)", "Total (N=12)"));
  // Cells may break after an underscore (<wbr>): read the text without.
  const std::string coded_text =
      absl::StrReplaceAll(coded.html(), {{"<wbr>", ""}});
  for (const char* key : {"LOW", "MID", "HIGH"}) {
    EXPECT_THAT(coded_text, Not(HasSubstr(absl::StrCat(">", key, "<"))));
    for (const auto& table : coded.tables()) {
      EXPECT_THAT(table.csv(), Not(HasSubstr(key))) << table.id();
    }
  }
}

// t16's rates per 100 patient-years at risk: each subject is at risk from
// day 1 to their first AE of the row (a report without an onset day: the
// first day of its timepoint's window) or else to their last contact day
// (365 here). Expected cells worked by hand, their exact Poisson intervals
// by bisection on the Poisson CDF (Python), independently of the server.
TEST_F(DsmbReportTest, RatesPerPatientYearCountTimeToTheFirstEvent) {
  FirstData();
  // S5 (MID): an AE known only by its timepoint, M6 (days 92..182).
  v1::AdverseEventReport by_timepoint = Report("R8", 1, "S5", 1, "Cough");
  by_timepoint.clear_onset_study_day();
  by_timepoint.set_timepoint_id("M6");
  // S1 (LOW), after its grade 1 headache at day 25, a serious grade 3 AE at
  // day 100: its first AE stays day 25, its first serious AE is day 100.
  Submit({by_timepoint, Report("R9", 1, "S1", 100, "Pneumonia", 3, true)});
  const auto rows =
      Rows(MustGenerate(CutOffNow(), v1::DSMB_SESSION_CLOSED), "t16_ae_rates");
  ASSERT_GE(rows.size(), 5u);
  EXPECT_EQ(rows[0],
            (std::vector<std::string>{"Subjects with", "LOW (N=4)", "MID (N=4)",
                                      "HIGH (N=4)", "Total (N=12)"}));
  // Any AE. LOW: S1 at day 25, three subjects to 365 (1,120 days); MID: S2
  // at 40, S5 at 92, two to 365 (862); HIGH: days 20, 60, 10, 30 (120).
  EXPECT_EQ(rows[1], (std::vector<std::string>{
                         "Any AE", "32.6 [0.8, 181.7]", "84.7 [10.3, 306.1]",
                         "1217.5 [331.7, 3117.3]", "121.6 [48.9, 250.6]"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"n / PY", "1 / 3.07", "2 / 2.36",
                                               "4 / 0.33", "7 / 5.75"}));
  // Any serious AE in LOW: S1 at day 100, three to 365 (1,195 days).
  EXPECT_EQ(rows[3][0], "Any serious AE");
  EXPECT_EQ(rows[3][1], "30.6 [0.8, 170.3]");
  EXPECT_EQ(rows[4][1], "1 / 3.27");
}

// The generation time as the report's title page prints it ("Generated
// 2026-11-03T09:14:02Z by …"), read from the HTML.
std::string PrintedGenerated(const v1::DsmbReport& report) {
  std::smatch match;
  static const std::regex kGenerated(
      "<span class=\"generated\">([0-9T:-]+Z) by ");
  EXPECT_TRUE(std::regex_search(report.html(), match, kGenerated));
  return match.empty() ? "" : match[1].str();
}

// Who was given which report (session, cut-off, content hash, generation
// time) is in the trial's audit trail; a refused request records nothing,
// and the coding key is never written.
TEST_F(DsmbReportTest, EachReportGivenIsInTheAuditTrail) {
  FirstData();
  const auto cut = CutOffNow();
  const v1::DsmbReport open = MustGenerate(cut, v1::DSMB_SESSION_OPEN);
  v1::GenerateDsmbReportRequest keyed;
  keyed.set_parent(kParent);
  *keyed.mutable_cutoff() = cut;
  keyed.set_session(v1::DSMB_SESSION_CLOSED);
  keyed.set_coded(true);
  keyed.set_coding_key("key-of-the-statistician-0123");
  v1::DsmbReport coded;
  ASSERT_TRUE(Generate(keyed, &coded).ok());
  v1::GenerateDsmbReportRequest decoding = keyed;  // the key, uncoded
  decoding.set_coded(false);
  v1::DsmbReport decoded;
  ASSERT_TRUE(Generate(decoding, &decoded).ok());
  keyed.set_session(v1::DSMB_SESSION_OPEN);  // refused: a key needs closed
  v1::DsmbReport refused;
  ASSERT_FALSE(Generate(keyed, &refused).ok());

  v1::GetAuditTrailRequest request;
  request.set_parent(kParent);
  request.set_action("dsmb_report.generate");
  auto trail = server_->monitor().GetAuditTrail(request);
  ASSERT_TRUE(trail.ok()) << trail.status();
  ASSERT_EQ(trail->records_size(), 3);
  const std::string at = TimeUtil::ToString(cut);
  for (const v1::AuditRecord& record : trail->records()) {
    EXPECT_EQ(record.rpc(), "SafetyService.GenerateDsmbReport");
    EXPECT_EQ(record.resource(), "trials/T1/dsmbReport");
    EXPECT_FALSE(record.principal().empty());
    EXPECT_THAT(record.details(), Not(HasSubstr("statistician")));
  }
  EXPECT_EQ(trail->records(0).details(),
            absl::StrCat("open session; cut-off ", at, "; generated ",
                         PrintedGenerated(open), "; ", open.content_hash()));
  EXPECT_EQ(trail->records(1).details(),
            absl::StrCat("closed session, coded with a key; cut-off ", at,
                         "; generated ", PrintedGenerated(coded), "; ",
                         coded.content_hash()));
  EXPECT_EQ(trail->records(2).details(),
            absl::StrCat("closed session, with the decoding of a coding key; "
                         "cut-off ",
                         at, "; generated ", PrintedGenerated(decoded), "; ",
                         decoded.content_hash()));
  // The CLI lists them without a version (a read wrote none).
  std::string listed;
  ASSERT_EQ(Cli({"audit", "list", "--trial", "T1", "--action",
                 "dsmb_report.generate"},
                &listed),
            0);
  EXPECT_THAT(listed, HasSubstr("trials/T1/dsmbReport\n"));
  EXPECT_THAT(listed, HasSubstr(coded.content_hash()));
}

TEST_F(DsmbReportTest, BadRequestsNameTheirField) {
  v1::DsmbReport report;
  v1::GenerateDsmbReportRequest request;
  request.set_parent(kParent);
  request.set_session(v1::DSMB_SESSION_OPEN);
  EXPECT_EQ(ViolatedField(Generate(request, &report)), "cutoff");
  *request.mutable_cutoff() = TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(absl::Now() + absl::Hours(1)));
  EXPECT_EQ(ViolatedField(Generate(request, &report)), "cutoff");
  *request.mutable_cutoff() = CutOffNow();
  request.set_coded(true);
  EXPECT_EQ(ViolatedField(Generate(request, &report)), "coded");
  request.set_coded(false);
  // A coding key belongs to the closed session, and must not be guessable;
  // its refusals never quote it.
  request.set_coding_key("0123456789abcdef");
  EXPECT_EQ(ViolatedField(Generate(request, &report)), "coding_key");
  request.set_session(v1::DSMB_SESSION_CLOSED);
  request.set_coding_key("secret-ab");
  grpc::Status short_key = Generate(request, &report);
  EXPECT_EQ(ViolatedField(short_key), "coding_key");
  EXPECT_THAT(short_key.error_message(), HasSubstr("got 9"));
  EXPECT_THAT(short_key.error_message(), Not(HasSubstr("secret-ab")));
  request.set_coding_key(" 0123456789abcdef");
  EXPECT_EQ(ViolatedField(Generate(request, &report)), "coding_key");
  request.set_coding_key(std::string(257, 'k'));
  EXPECT_EQ(ViolatedField(Generate(request, &report)), "coding_key");
  request.clear_coding_key();
  request.set_session(v1::DSMB_SESSION_OPEN);
  request.set_session(v1::DSMB_SESSION_UNSPECIFIED);
  EXPECT_EQ(ViolatedField(Generate(request, &report)), "session");
  request.set_session(v1::DSMB_SESSION_OPEN);
  *request.mutable_since() = request.cutoff();
  EXPECT_EQ(ViolatedField(Generate(request, &report)), "since");
  request.clear_since();
  // A cut-off before the trial was created (a mistyped year) would give a
  // report of zeros that looks official: refused, naming the field.
  *request.mutable_cutoff() = TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(absl::Now() - absl::Hours(24 * 365)));
  grpc::Status early = Generate(request, &report);
  EXPECT_EQ(ViolatedField(early), "cutoff");
  EXPECT_THAT(early.error_message(), HasSubstr("before the trial was created"));
  *request.mutable_cutoff() = CutOffNow();
  request.set_parent("trials/NOPE");
  EXPECT_EQ(Generate(request, &report).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(DsmbReportTest, TheCliWritesHtmlAndCsvAndVerifiesTheHash) {
  FirstData();
  const std::string cut = TimeUtil::ToString(CutOffNow());
  const std::string html = dir_.Sub("report.html");
  std::string out;
  ASSERT_EQ(Cli({"report", "--trial", "T1", "--cutoff", cut, "--session",
                 "closed", "--out", html},
                &out),
            0)
      << out;
  EXPECT_EQ(Cli({"report", "verify", html}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("ok sha256:"));
  // One changed number breaks the hash.
  std::ifstream in(html);
  std::stringstream text;
  text << in.rdbuf();
  std::string tampered = text.str();
  const size_t at = tampered.find("Total (N=12)");
  ASSERT_NE(at, std::string::npos);
  tampered.replace(at, 12, "Total (N=13)");
  std::ofstream(dir_.Sub("tampered.html")) << tampered;
  EXPECT_NE(Cli({"report", "verify", dir_.Sub("tampered.html")}, &out), 0);
  EXPECT_THAT(out, HasSubstr("mismatch"));
  // A PDF (its bytes are Chromium's) is named as such, with what to do.
  std::ofstream(dir_.Sub("report.pdf")) << "%PDF-1.7\n% rendered\n";
  EXPECT_NE(Cli({"report", "verify", dir_.Sub("report.pdf")}, &out), 0);
  EXPECT_THAT(out, HasSubstr("is a PDF: only the HTML report can be verified"));
  // A print that writes nothing fails, and leaves an earlier PDF of the same
  // name as it was (it used to be taken for this run's output).
  ASSERT_EQ(Cli({"report", "--trial", "T1", "--cutoff", cut, "--session",
                 "closed", "--format", "pdf", "--chromium", "/bin/true",
                 "--out", dir_.Sub("report.pdf")},
                &out),
            1)
      << out;
  EXPECT_THAT(out, HasSubstr("could not print"));
  std::ifstream earlier(dir_.Sub("report.pdf"));
  std::stringstream earlier_text;
  earlier_text << earlier.rdbuf();
  EXPECT_EQ(earlier_text.str(), "%PDF-1.7\n% rendered\n");
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("report.pdf.partial")));
  EXPECT_FALSE(std::filesystem::exists(html + ".partial"));

  const std::string csv = dir_.Sub("csv");
  ASSERT_EQ(Cli({"report", "--trial", "T1", "--cutoff", cut, "--session",
                 "open", "--format", "csv", "--out", csv},
                &out),
            0)
      << out;
  EXPECT_TRUE(std::filesystem::exists(csv + "/t05_ae_overview.csv"));
  EXPECT_TRUE(std::filesystem::exists(csv + "/l01_sae_listing.csv"));
  EXPECT_EQ(Cli({"report", "--trial", "T1", "--cutoff", "yesterday",
                 "--session", "open", "--out", html},
                &out),
            2);
  EXPECT_THAT(out, HasSubstr("--cutoff"));

  // A coding key from a file: the coded report shows its fingerprint, not
  // the key; the uncoded one lists the codes. No file: a usage error.
  const std::string key_file = dir_.Sub("dsmb.key");
  std::ofstream(key_file) << "0123456789abcdef\n";
  const std::string keyed = dir_.Sub("keyed.html");
  ASSERT_EQ(
      Cli({"report", "--trial", "T1", "--cutoff", cut, "--session", "closed",
           "--coded", "--coding-key-file", key_file, "--out", keyed},
          &out),
      0)
      << out;
  std::stringstream keyed_text;
  keyed_text << std::ifstream(keyed).rdbuf();
  EXPECT_THAT(keyed_text.str(),
              HasSubstr("coded by the key with fingerprint 57c7176e"));
  EXPECT_THAT(keyed_text.str(), Not(HasSubstr("0123456789abcdef")));
  const std::string sheet = dir_.Sub("sheet.html");
  ASSERT_EQ(Cli({"report", "--trial", "T1", "--cutoff", cut, "--session",
                 "closed", "--coding-key-file", key_file, "--out", sheet},
                &out),
            0)
      << out;
  std::stringstream sheet_text;
  sheet_text << std::ifstream(sheet).rdbuf();
  EXPECT_THAT(sheet_text.str(),
              HasSubstr("Key of the coded report</dt><dd>fingerprint 57c7176e: "
                        "Group A = "));
  EXPECT_EQ(Cli({"report", "--trial", "T1", "--cutoff", cut, "--session",
                 "closed", "--coded", "--coding-key-file",
                 dir_.Sub("missing.key"), "--out", keyed},
                &out),
            2);
  EXPECT_THAT(out, HasSubstr("--coding-key-file"));
}

}  // namespace
}  // namespace aesignal
