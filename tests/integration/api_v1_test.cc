// The read-back, amendment and convention parts of the v1 API, end to end
// through gRPC against a real in-process server on 127.0.0.1:0: report and
// subject history, the report listing, baseline history and paging, trial
// amendments (counts and signals stay equal to a recount), the effective
// policy, idempotent triage, per-report error statuses and explicit scopes.
#include <grpcpp/grpcpp.h>

#include "aesignal/v1/admin_service.grpc.pb.h"
#include "aesignal/v1/audit_service.grpc.pb.h"
#include "aesignal/v1/ingest_service.grpc.pb.h"
#include "aesignal/v1/safety_service.grpc.pb.h"
#include "aesignal/v1/signal_service.grpc.pb.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "services/domain/monitor.h"
#include "services/server/server.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/temp_dir.h"

namespace aesignal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Report;

constexpr char kParent[] = "trials/T1";

template <typename Detail>
Detail DetailOf(const grpc::Status& s) {
  google::rpc::Status rich;
  Detail detail;
  EXPECT_TRUE(rich.ParseFromString(s.error_details())) << s.error_message();
  for (const auto& any : rich.details()) {
    if (any.UnpackTo(&detail)) return detail;
  }
  ADD_FAILURE() << "no " << Detail::descriptor()->full_name() << " in "
                << s.error_message();
  return detail;
}

class ApiV1Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.data_dir = dir_.Sub("data");
    auto server = Server::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                            grpc::InsecureChannelCredentials());
    trials_ = v1::TrialService::NewStub(channel);
    ingest_ = v1::IngestService::NewStub(channel);
    safety_ = v1::SafetyService::NewStub(channel);
    signals_ = v1::SignalService::NewStub(channel);
    audit_ = v1::AuditService::NewStub(channel);
    admin_ = v1::AdminService::NewStub(channel);
    v1::CreateTrialRequest create;
    *create.mutable_trial() = testing::ThreeGroupTrial("T1");
    v1::Trial trial;
    ASSERT_TRUE(
        Call(&v1::TrialService::Stub::CreateTrial, trials_, create, &trial)
            .ok());
  }

  // One unary call with a fresh context.
  template <typename Stub, typename Rpc, typename Request, typename Response>
  grpc::Status Call(Rpc rpc, const std::unique_ptr<Stub>& stub,
                    const Request& request, Response* response) {
    grpc::ClientContext context;
    return ((*stub).*rpc)(&context, request, response);
  }

  void Enroll(std::vector<v1::Subject> subjects) {
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent(kParent);
    for (auto& s : subjects) *enroll.add_subjects() = std::move(s);
    v1::EnrollSubjectsResponse response;
    const grpc::Status s = Call(&v1::TrialService::Stub::EnrollSubjects,
                                trials_, enroll, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  v1::SubmitReportsResponse Submit(
      std::vector<v1::AdverseEventReport> reports) {
    v1::SubmitReportsRequest request;
    request.set_parent(kParent);
    for (auto& r : reports) *request.add_reports() = std::move(r);
    v1::SubmitReportsResponse response;
    const grpc::Status s = Call(&v1::IngestService::Stub::SubmitReports,
                                ingest_, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  // VerifyTrial: counters equal a recount, and signals a re-evaluation.
  void ExpectVerified() {
    ASSERT_TRUE(server_->monitor().signals().WaitIdle(absl::Seconds(20)).ok());
    v1::VerifyTrialRequest verify;
    verify.set_name(kParent);
    v1::VerifyTrialResponse verified;
    const grpc::Status s =
        Call(&v1::AdminService::Stub::VerifyTrial, admin_, verify, &verified);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  // Two serious AEs among HIGH's subjects against the 2 % baseline raise
  // BINOMIAL~OVERALL~any_sae~HIGH~M3; returns once evaluated and verified.
  void RaiseSeriousAeSignal() {
    Enroll({testing::SubjectNumber(3), testing::SubjectNumber(6)});
    v1::PutBaselinesRequest put;
    put.set_parent(kParent);
    *put.add_baselines() = testing::SeriousAeBaseline();
    v1::PutBaselinesResponse put_response;
    ASSERT_TRUE(Call(&v1::SignalService::Stub::PutBaselines, signals_, put,
                     &put_response)
                    .ok());
    Submit({Report("R1", 1, "S3", 20, "Pneumonia", 3, true),
            Report("R2", 1, "S6", 30, "Sepsis", 4, true)});
    ExpectVerified();
  }

  v1::ListReportsResponse ListReports(v1::ListReportsRequest request) {
    request.set_parent(kParent);
    v1::ListReportsResponse response;
    const grpc::Status s = Call(&v1::SafetyService::Stub::ListReports, safety_,
                                request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  static std::vector<std::string> Ids(const v1::ListReportsResponse& page) {
    std::vector<std::string> ids;
    for (const auto& r : page.reports()) ids.push_back(r.report_id());
    return ids;
  }

  testing::TempDir dir_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::TrialService::Stub> trials_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::unique_ptr<v1::SafetyService::Stub> safety_;
  std::unique_ptr<v1::SignalService::Stub> signals_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

TEST_F(ApiV1Test, GetReportReturnsEveryVersionNewestFirst) {
  Enroll({testing::SubjectNumber(1)});
  Submit({Report("R1", 1, "S1", 10, "Headache", 1)});
  Submit({Report("R1", 3, "S1", 10, "Headache", 3)});
  Submit({Report("R1", 2, "S1", 10, "Headache", 2)});  // arrives late
  v1::GetReportRequest get;
  get.set_name("trials/T1/sites/01/reports/R1");
  v1::Report report;
  grpc::Status s =
      Call(&v1::SafetyService::Stub::GetReport, safety_, get, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(report.name(), "trials/T1/sites/01/reports/R1");
  EXPECT_EQ(report.current().report().version(), 3u);
  ASSERT_EQ(report.versions_size(), 3);
  EXPECT_EQ(report.versions(0).report().version(), 3u);
  EXPECT_EQ(report.versions(1).report().version(), 2u);
  EXPECT_TRUE(report.versions(1).superseded_on_arrival());
  EXPECT_EQ(report.versions(2).report().grade(), 1);
  EXPECT_EQ(report.versions(0).timepoint_id(), "M3");
  EXPECT_EQ(report.versions(0).dose_group_id(), "LOW");
  EXPECT_FALSE(report.versions(0).submitted_by().empty());
  EXPECT_GT(report.versions(1).receive_time(),
            report.versions(0).receive_time());

  // The audit trail's older name form still finds it.
  get.set_name("trials/T1/reports/01/R1");
  s = Call(&v1::SafetyService::Stub::GetReport, safety_, get, &report);
  EXPECT_TRUE(s.ok()) << s.error_message();
  get.set_name("trials/T1/sites/01/reports/NOPE");
  s = Call(&v1::SafetyService::Stub::GetReport, safety_, get, &report);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(DetailOf<google::rpc::ResourceInfo>(s).resource_type(), "report");
  get.set_name("trials/T1/R1");
  s = Call(&v1::SafetyService::Stub::GetReport, safety_, get, &report);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ApiV1Test, ListReportsFiltersOrdersAndPages) {
  std::vector<v1::Subject> subjects;
  for (int i = 1; i <= 6; ++i) subjects.push_back(testing::SubjectNumber(i));
  Enroll(subjects);
  // S3 and S6 are HIGH.
  Submit({Report("A", 1, "S1", 50, "Headache", 1)});
  Submit({Report("B", 1, "S3", 20, "Pneumonia", 3, true)});
  Submit({Report("C", 1, "S6", 80, "Pneumonia", 2)});
  Submit({Report("D", 1, "S2", 5, "Rash", 4, true)});
  Submit({Report("A", 2, "S1", 40, "Headache", 2)});  // A's newest

  v1::ListReportsRequest all;
  auto page = ListReports(all);
  EXPECT_EQ(page.total_size(), 4);
  EXPECT_THAT(Ids(page), ElementsAre("A", "D", "C", "B"));  // newest first
  EXPECT_EQ(page.reports(0).current().report().version(), 2u);
  EXPECT_EQ(page.reports(0).versions_size(), 0);

  v1::ListReportsRequest onset;
  onset.set_order_by("onset_study_day");
  EXPECT_THAT(Ids(ListReports(onset)), ElementsAre("D", "B", "A", "C"));

  v1::ListReportsRequest serious;
  serious.set_serious(true);
  EXPECT_THAT(Ids(ListReports(serious)), ElementsAre("D", "B"));
  v1::ListReportsRequest high;
  high.set_dose_group_id("HIGH");
  high.set_pt("Pneumonia");
  high.set_min_grade(3);
  EXPECT_THAT(Ids(ListReports(high)), ElementsAre("B"));
  v1::ListReportsRequest days;
  days.set_onset_day_min(10);
  days.set_onset_day_max(50);
  days.set_order_by("onset_study_day");
  EXPECT_THAT(Ids(ListReports(days)), ElementsAre("B", "A"));
  v1::ListReportsRequest subject;
  subject.set_subject_id("S1");
  EXPECT_THAT(Ids(ListReports(subject)), ElementsAre("A"));

  // Pages of 3 then 1, with the total on each; a token is bound to its
  // filters.
  onset.set_page_size(3);
  page = ListReports(onset);
  EXPECT_THAT(Ids(page), ElementsAre("D", "B", "A"));
  EXPECT_EQ(page.total_size(), 4);
  ASSERT_FALSE(page.next_page_token().empty());
  onset.set_page_token(page.next_page_token());
  page = ListReports(onset);
  EXPECT_THAT(Ids(page), ElementsAre("C"));
  EXPECT_TRUE(page.next_page_token().empty());
  onset.set_pt("Rash");
  onset.set_parent(kParent);
  v1::ListReportsResponse refused;
  grpc::Status s =
      Call(&v1::SafetyService::Stub::ListReports, safety_, onset, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListReportsRequest bad;
  bad.set_parent(kParent);
  bad.set_min_grade(7);
  bad.set_dose_group_id("NOPE");
  bad.set_order_by("grade");
  s = Call(&v1::SafetyService::Stub::ListReports, safety_, bad, &refused);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(DetailOf<google::rpc::BadRequest>(s).field_violations_size(), 3);
}

// The reports behind a subset table's cell are listed with the subset: the
// same rule, so the listing's size equals the table's events.
TEST_F(ApiV1Test, ListReportsBySubsetListsTheSubsetTablesEvents) {
  std::vector<v1::Subject> subjects;
  for (int i = 1; i <= 5; ++i) subjects.push_back(testing::SubjectNumber(i));
  Enroll(subjects);
  auto with = [](v1::AdverseEventReport r, v1::Relatedness relatedness) {
    r.set_relatedness(relatedness);
    return r;
  };
  v1::AdverseEventReport died = with(
      Report("D", 1, "S4", 30, "Sepsis", 5, true), v1::RELATEDNESS_UNLIKELY);
  died.set_death(true);
  v1::AdverseEventReport fatal = with(
      Report("F", 1, "S5", 40, "Sepsis", 5, true), v1::RELATEDNESS_NOT_RELATED);
  fatal.set_outcome(v1::OUTCOME_FATAL);
  v1::AdverseEventReport withdrawn =
      with(Report("E", 1, "S1", 12, "Rash", 1), v1::RELATEDNESS_DEFINITE);
  withdrawn.set_entered_in_error(true);
  withdrawn.set_entered_in_error_reason("duplicate of A");
  Submit(
      {with(Report("A", 1, "S1", 10, "Rash", 1), v1::RELATEDNESS_POSSIBLE),
       Report("B", 1, "S2", 20, "Rash", 2),  // relatedness not given
       with(Report("C", 1, "S3", 25, "Rash", 1), v1::RELATEDNESS_NOT_RELATED),
       died, fatal, withdrawn});

  v1::ListReportsRequest related;
  related.set_subset(v1::INCIDENCE_SUBSET_RELATED);
  related.set_order_by("onset_study_day");
  EXPECT_THAT(Ids(ListReports(related)), ElementsAre("A", "B"));
  related.set_include_entered_in_error(true);
  EXPECT_THAT(Ids(ListReports(related)), ElementsAre("A", "E", "B"));
  v1::ListReportsRequest fatal_only;
  fatal_only.set_subset(v1::INCIDENCE_SUBSET_DEATH);
  fatal_only.set_order_by("onset_study_day");
  EXPECT_THAT(Ids(ListReports(fatal_only)), ElementsAre("D", "F"));
  v1::ListReportsRequest related_rash = related;
  related_rash.set_include_entered_in_error(false);
  related_rash.set_pt("Rash");

  // The related subset's PT table counts the same reports as events.
  v1::GetIncidenceRequest table;
  table.set_parent(kParent);
  table.set_level(v1::TERM_LEVEL_PT);
  table.set_subset(v1::INCIDENCE_SUBSET_RELATED);
  table.set_timepoint_id("M12");
  v1::GetIncidenceResponse response;
  grpc::Status s =
      Call(&v1::SafetyService::Stub::GetIncidence, safety_, table, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  int rash_events = -1;
  for (const v1::TermIncidence& term : response.terms()) {
    if (term.pt() != "Rash") continue;
    for (const v1::IncidenceCell& cell : term.cells()) {
      if (cell.scope() == v1::DOSE_GROUP_SCOPE_ALL_GROUPS) {
        rash_events = cell.cumulative().events();
      }
    }
  }
  EXPECT_EQ(rash_events, ListReports(related_rash).total_size());
  EXPECT_EQ(rash_events, 2);

  v1::ListReportsRequest bad;
  bad.set_parent(kParent);
  bad.set_subset(v1::INCIDENCE_SUBSET_AESI);  // without `aesi`
  v1::ListReportsResponse refused;
  s = Call(&v1::SafetyService::Stub::ListReports, safety_, bad, &refused);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(DetailOf<google::rpc::BadRequest>(s).field_violations(0).field(),
            "aesi");
  bad.set_subset(static_cast<v1::IncidenceSubset>(42));
  s = Call(&v1::SafetyService::Stub::ListReports, safety_, bad, &refused);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(DetailOf<google::rpc::BadRequest>(s).field_violations(0).field(),
            "subset");
}

TEST_F(ApiV1Test, GetSubjectReturnsItsVersions) {
  v1::Subject s1 = testing::SubjectNumber(1);
  s1.set_last_contact_day(30);
  Enroll({s1});
  s1.set_last_contact_day(91);
  Enroll({s1});
  v1::GetSubjectRequest get;
  get.set_name("trials/T1/subjects/S1");
  v1::Subject subject;
  grpc::Status s =
      Call(&v1::TrialService::Stub::GetSubject, trials_, get, &subject);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(subject.version(), 2u);
  ASSERT_EQ(subject.history_size(), 2);
  EXPECT_EQ(subject.history(0).last_contact_day(), 91);
  EXPECT_EQ(subject.history(1).last_contact_day(), 30);
  get.set_name("trials/T1/subjects/S9");
  s = Call(&v1::TrialService::Stub::GetSubject, trials_, get, &subject);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ApiV1Test, BaselinesArePagedAndKeepTheirHistory) {
  v1::PutBaselinesRequest put;
  put.set_parent(kParent);
  for (const char* id : {"b1", "b2", "b3"}) {
    v1::Baseline b = testing::SeriousAeBaseline();
    b.set_baseline_id(id);
    *put.add_baselines() = b;
  }
  v1::PutBaselinesResponse put_response;
  ASSERT_TRUE(
      Call(&v1::SignalService::Stub::PutBaselines, signals_, put, &put_response)
          .ok());
  put.mutable_baselines()->DeleteSubrange(1, 2);
  put.mutable_baselines(0)->set_expected_proportion(0.05);
  ASSERT_TRUE(
      Call(&v1::SignalService::Stub::PutBaselines, signals_, put, &put_response)
          .ok());

  v1::ListBaselinesRequest list;
  list.set_parent(kParent);
  list.set_page_size(2);
  v1::ListBaselinesResponse page;
  ASSERT_TRUE(
      Call(&v1::SignalService::Stub::ListBaselines, signals_, list, &page)
          .ok());
  ASSERT_EQ(page.baselines_size(), 2);
  EXPECT_EQ(page.baselines(0).baseline_id(), "b1");
  ASSERT_FALSE(page.next_page_token().empty());
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(
      Call(&v1::SignalService::Stub::ListBaselines, signals_, list, &page)
          .ok());
  ASSERT_EQ(page.baselines_size(), 1);
  EXPECT_EQ(page.baselines(0).baseline_id(), "b3");
  EXPECT_TRUE(page.next_page_token().empty());

  v1::GetBaselineRequest get;
  get.set_name("trials/T1/baselines/b1");
  v1::Baseline b1;
  ASSERT_TRUE(
      Call(&v1::SignalService::Stub::GetBaseline, signals_, get, &b1).ok());
  EXPECT_EQ(b1.version(), 2u);
  ASSERT_EQ(b1.history_size(), 2);
  EXPECT_DOUBLE_EQ(b1.history(0).expected_proportion(), 0.05);
  EXPECT_DOUBLE_EQ(b1.history(1).expected_proportion(), 0.02);
}

TEST_F(ApiV1Test, TrialReturnsItsEffectivePolicy) {
  v1::GetTrialRequest get;
  get.set_name(kParent);
  v1::Trial trial;
  ASSERT_TRUE(
      Call(&v1::TrialService::Stub::GetTrial, trials_, get, &trial).ok());
  EXPECT_DOUBLE_EQ(trial.signal_policy().alpha(), 0.05);
  EXPECT_DOUBLE_EQ(trial.signal_policy().posterior_threshold(), 0.95);
  EXPECT_EQ(trial.signal_policy().min_cases(), 2);
  EXPECT_DOUBLE_EQ(trial.signal_policy().fdr(), 0.05);
  // The fixture asks for per-test decisions; the server's default is
  // trial-wide (EffectivePolicy, services/domain/signals_test.cc).
  EXPECT_EQ(trial.signal_policy().error_control(), v1::ERROR_CONTROL_PER_TEST);
  EXPECT_EQ(trial.version(), 1u);
  // Sending back what GetTrial returned is the same trial (idempotent).
  v1::CreateTrialRequest again;
  *again.mutable_trial() = trial;
  v1::Trial created;
  const grpc::Status s =
      Call(&v1::TrialService::Stub::CreateTrial, trials_, again, &created);
  EXPECT_TRUE(s.ok()) << s.error_message();

  // An amendment identical to the stored trial, as GetTrial returned it, is
  // no change: no new version, no audit record (UpdateTrial is idempotent).
  v1::UpdateTrialRequest same;
  *same.mutable_trial() = trial;
  same.mutable_update_mask()->add_paths("*");
  v1::Trial unchanged;
  const grpc::Status amended =
      Call(&v1::TrialService::Stub::UpdateTrial, trials_, same, &unchanged);
  ASSERT_TRUE(amended.ok()) << amended.error_message();
  EXPECT_EQ(unchanged.version(), 1u);
  v1::ListAuditRecordsRequest audit;
  audit.set_parent(kParent);
  audit.set_action("trial.amend");
  v1::ListAuditRecordsResponse records;
  ASSERT_TRUE(
      Call(&v1::AuditService::Stub::ListAuditRecords, audit_, audit, &records)
          .ok());
  EXPECT_EQ(records.audit_records_size(), 0);
}

TEST_F(ApiV1Test, AmendmentAddsACohortAndCountsStayEqualToARecount) {
  // Cohort 1 (LOW, MID, HIGH) enrolled and reporting.
  Enroll({testing::SubjectNumber(1), testing::SubjectNumber(2),
          testing::SubjectNumber(3)});
  Submit({Report("R1", 1, "S1", 10, "Headache"),
          Report("R2", 1, "S3", 200, "Pneumonia", 3, true)});
  ExpectVerified();

  // The amendment opens a higher dose, a 24-month visit and a second site.
  v1::UpdateTrialRequest amend;
  v1::Trial& t = *amend.mutable_trial();
  t.set_name(kParent);
  t = testing::ThreeGroupTrial("T1");
  auto* top = t.add_dose_groups();
  top->set_dose_group_id("TOP");
  top->set_label("2e8 cells");
  top->set_dose_value(2e8);
  top->set_dose_unit("cells");
  auto* m24 = t.add_timepoints();
  m24->set_timepoint_id("M24");
  m24->set_study_day(730);
  t.add_sites()->set_site_id("02");
  t.set_title("Amended title");
  for (const char* path : {"dose_groups", "timepoints", "sites", "title"}) {
    amend.mutable_update_mask()->add_paths(path);
  }
  v1::Trial amended;
  grpc::Status s =
      Call(&v1::TrialService::Stub::UpdateTrial, trials_, amend, &amended);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(amended.version(), 2u);
  EXPECT_EQ(amended.dose_groups_size(), 4);
  EXPECT_EQ(amended.timepoints_size(), 4);
  EXPECT_EQ(amended.title(), "Amended title");

  // Cohort 2 in the new group and site, reports in the new window, and a
  // follow-up of a cohort 1 report moved into it.
  v1::Subject top1;
  top1.set_subject_id("S10");
  top1.set_site_id("02");
  top1.set_dose_group_id("TOP");
  top1.set_last_contact_day(700);
  Enroll({top1});
  v1::AdverseEventReport late = Report("R3", 1, "S10", 400, "Pneumonia", 3);
  late.set_site_id("02");
  auto result = Submit({late, Report("R4", 1, "S1", 600, "Rash"),
                        Report("R1", 2, "S1", 500, "Headache")});
  EXPECT_EQ(result.accepted_count(), 3);
  ExpectVerified();

  v1::GetIncidenceRequest incidence;
  incidence.set_parent(kParent);
  incidence.set_level(v1::TERM_LEVEL_PT);
  incidence.set_soc("SOC P");
  incidence.set_pt("Pneumonia");
  incidence.set_dose_group_id("TOP");
  incidence.set_timepoint_id("M24");
  v1::GetIncidenceResponse cell;
  s = Call(&v1::SafetyService::Stub::GetIncidence, safety_, incidence, &cell);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(cell.terms(0).cells_size(), 1);
  EXPECT_EQ(cell.terms(0).cells(0).cumulative().subjects(), 1);
  EXPECT_EQ(cell.terms(0).cells(0).n_dosed(), 1);

  // The audit trail records the amendment with what it changed.
  v1::ListAuditRecordsRequest audit;
  audit.set_parent(kParent);
  audit.set_action("trial.amend");
  v1::ListAuditRecordsResponse records;
  s = Call(&v1::AuditService::Stub::ListAuditRecords, audit_, audit, &records);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(records.audit_records_size(), 1);
  EXPECT_THAT(records.audit_records(0).details(),
              HasSubstr("dose group TOP added"));
  EXPECT_THAT(records.audit_records(0).details(),
              HasSubstr("title 'Test MSC dose escalation' -> 'Amended title'"));
}

TEST_F(ApiV1Test, AmendmentThatWouldInvalidateCountsIsRefused) {
  v1::UpdateTrialRequest amend;
  *amend.mutable_trial() = testing::ThreeGroupTrial("T1");
  amend.mutable_trial()->mutable_dose_groups()->RemoveLast();       // drop HIGH
  amend.mutable_trial()->mutable_timepoints(0)->set_study_day(90);  // move M3
  amend.mutable_update_mask()->add_paths("dose_groups");
  amend.mutable_update_mask()->add_paths("timepoints");
  v1::Trial trial;
  grpc::Status s =
      Call(&v1::TrialService::Stub::UpdateTrial, trials_, amend, &trial);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << s.error_message();
  const auto failure = DetailOf<google::rpc::PreconditionFailure>(s);
  ASSERT_EQ(failure.violations_size(), 2);
  EXPECT_EQ(failure.violations(0).type(), "TRIAL_AMENDMENT");
  EXPECT_EQ(failure.violations(0).subject(), "trial.dose_groups[2]");
  EXPECT_EQ(failure.violations(1).subject(), "trial.timepoints[0]");

  amend.mutable_update_mask()->Clear();
  s = Call(&v1::TrialService::Stub::UpdateTrial, trials_, amend, &trial);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  amend.mutable_update_mask()->add_paths("trial_id");
  s = Call(&v1::TrialService::Stub::UpdateTrial, trials_, amend, &trial);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::GetTrialRequest get;
  get.set_name(kParent);
  ASSERT_TRUE(
      Call(&v1::TrialService::Stub::GetTrial, trials_, get, &trial).ok());
  EXPECT_EQ(trial.version(), 1u);  // nothing changed
  EXPECT_EQ(trial.dose_groups_size(), 3);
}

TEST_F(ApiV1Test, PolicyAmendmentReevaluatesSignals) {
  RaiseSeriousAeSignal();
  v1::GetSignalRequest get;
  get.set_name("trials/T1/signals/BINOMIAL~OVERALL~any_sae~HIGH~M3");
  v1::Signal before;
  ASSERT_TRUE(
      Call(&v1::SignalService::Stub::GetSignal, signals_, get, &before).ok());
  EXPECT_TRUE(before.evidence().crosses());

  // A stricter alpha: the evidence is re-evaluated under it.
  v1::UpdateTrialRequest amend;
  amend.mutable_trial()->set_name(kParent);
  amend.mutable_trial()->mutable_signal_policy()->set_alpha(0.0001);
  amend.mutable_update_mask()->add_paths("signal_policy");
  v1::Trial trial;
  ASSERT_TRUE(
      Call(&v1::TrialService::Stub::UpdateTrial, trials_, amend, &trial).ok());
  EXPECT_DOUBLE_EQ(trial.signal_policy().alpha(), 0.0001);
  ExpectVerified();
  v1::Signal after;
  ASSERT_TRUE(
      Call(&v1::SignalService::Stub::GetSignal, signals_, get, &after).ok());
  EXPECT_DOUBLE_EQ(after.evidence().threshold(), 0.0001);
  EXPECT_FALSE(after.evidence().crosses());
}

TEST_F(ApiV1Test, TriageRetriedWithItsRequestIdChangesNothing) {
  RaiseSeriousAeSignal();

  v1::TriageSignalRequest triage;
  triage.set_name("trials/T1/signals/BINOMIAL~OVERALL~any_sae~HIGH~M3");
  triage.set_status(v1::SIGNAL_STATUS_VALIDATED);
  triage.set_comment("two SAEs in HIGH");
  triage.set_display_name("Dr. A. Smith");
  triage.set_request_id("5b0c2f0e-1");
  v1::Signal first, retry;
  grpc::Status s =
      Call(&v1::SignalService::Stub::TriageSignal, signals_, triage, &first);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Call(&v1::SignalService::Stub::TriageSignal, signals_, triage, &retry);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(retry.history_size(), first.history_size());
  EXPECT_EQ(retry.change_sequence(), first.change_sequence());
  const v1::SignalEvent& event = first.history(first.history_size() - 1);
  EXPECT_EQ(event.kind(), v1::SignalEvent::KIND_TRIAGED);
  EXPECT_EQ(event.display_name(), "Dr. A. Smith");
  // Who is the caller the server identified (here the loopback peer, no
  // principals configured), the same one the audit trail records.
  v1::ListAuditRecordsRequest audit;
  audit.set_parent(kParent);
  audit.set_action("signal.triage");
  v1::ListAuditRecordsResponse records;
  ASSERT_TRUE(
      Call(&v1::AuditService::Stub::ListAuditRecords, audit_, audit, &records)
          .ok());
  ASSERT_EQ(records.audit_records_size(), 1);
  EXPECT_EQ(event.actor(), records.audit_records(0).principal());
  EXPECT_FALSE(event.actor().empty());

  triage.set_comment("another change under the same id");
  triage.set_status(v1::SIGNAL_STATUS_UNDER_ASSESSMENT);
  s = Call(&v1::SignalService::Stub::TriageSignal, signals_, triage, &retry);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(DetailOf<google::rpc::ErrorInfo>(s).reason(), "REQUEST_ID_REUSED");
}

TEST_F(ApiV1Test, TopicsGroupSignalsByTermAndStreamTheirChanges) {
  // A watcher from the start of the log sees the topic raised, its evidence
  // and its triage.
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(30));
  v1::WatchTopicsRequest watch;
  watch.set_parent(kParent);
  auto reader = signals_->WatchTopics(&watch_context, watch);
  RaiseSeriousAeSignal();

  v1::ListTopicsRequest list;
  list.set_parent(kParent);
  v1::ListTopicsResponse topics;
  ASSERT_TRUE(
      Call(&v1::SignalService::Stub::ListTopics, signals_, list, &topics).ok());
  ASSERT_GE(topics.topics_size(), 1);
  EXPECT_EQ(topics.total_size(), topics.topics_size());
  const v1::SignalTopic* sae = nullptr;
  for (const auto& t : topics.topics()) {
    if (t.topic_id() == "OVERALL~any_sae") sae = &t;
  }
  ASSERT_NE(sae, nullptr);
  EXPECT_EQ(sae->name(), "trials/T1/topics/OVERALL~any_sae");
  EXPECT_TRUE(sae->crossing());
  // Its strongest evidence leads (both HIGH M3 items cross).
  EXPECT_THAT(sae->lead_signal_id(), HasSubstr("~OVERALL~any_sae~HIGH~M3"));

  v1::TriageTopicRequest triage;
  triage.set_name(sae->name());
  triage.set_status(v1::SIGNAL_STATUS_UNDER_ASSESSMENT);
  triage.set_comment("not allowed from NEW");
  v1::SignalTopic topic;
  grpc::Status s =
      Call(&v1::SignalService::Stub::TriageTopic, signals_, triage, &topic);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(DetailOf<google::rpc::PreconditionFailure>(s).violations(0).type(),
            "SIGNAL_STATUS");
  triage.set_status(v1::SIGNAL_STATUS_VALIDATED);
  triage.set_comment("two SAEs in HIGH");
  s = Call(&v1::SignalService::Stub::TriageTopic, signals_, triage, &topic);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(topic.status(), v1::SIGNAL_STATUS_VALIDATED);
  EXPECT_GE(topic.evidence_size(), 1);

  v1::GetTopicRequest get;
  get.set_name(sae->name());
  ASSERT_TRUE(
      Call(&v1::SignalService::Stub::GetTopic, signals_, get, &topic).ok());
  ASSERT_EQ(topic.history_size(), 2);
  EXPECT_EQ(topic.history(1).comment(), "two SAEs in HIGH");

  v1::WatchTopicsResponse change;
  bool raised = false, evidence = false, triaged = false;
  while (!(raised && evidence && triaged) && reader->Read(&change)) {
    if (change.topic().topic_id() != "OVERALL~any_sae") continue;
    raised |= change.event().kind() == v1::SignalEvent::KIND_RAISED;
    evidence |= change.event().kind() == v1::SignalEvent::KIND_EVIDENCE_UPDATED;
    triaged |= change.event().kind() == v1::SignalEvent::KIND_TRIAGED;
  }
  EXPECT_TRUE(raised && evidence && triaged);
  watch_context.TryCancel();
}

TEST_F(ApiV1Test, RejectedReportsCarryARichStatus) {
  Enroll({testing::SubjectNumber(1)});
  Submit({Report("R1", 1, "S1", 10, "Headache")});
  v1::AdverseEventReport changed = Report("R1", 1, "S1", 10, "Migraine");
  v1::AdverseEventReport bad_grade = Report("R2", 1, "S1", 10, "Rash", 9);
  v1::AdverseEventReport stranger = Report("R3", 1, "S77", 10, "Rash");
  auto response = Submit({changed, bad_grade, stranger});
  ASSERT_EQ(response.rejected_count(), 3);
  const std::pair<int, const char*> expected[] = {
      {6, "REPORT_VERSION_CONFLICT"},
      {3, "FIELD_VIOLATIONS"},
      {5, "REFERENCE_NOT_FOUND"}};
  for (int i = 0; i < 3; ++i) {
    const v1::ReportResult& r = response.results(i);
    EXPECT_EQ(r.error().code(), expected[i].first) << i;
    EXPECT_EQ(r.code(), expected[i].first) << i;
    google::rpc::BadRequest bad;
    google::rpc::ErrorInfo info;
    for (const auto& any : r.error().details()) {
      any.UnpackTo(&bad) || any.UnpackTo(&info);
    }
    ASSERT_EQ(bad.field_violations_size(), 1) << i;
    EXPECT_EQ(bad.field_violations(0).field(), r.field()) << i;
    EXPECT_EQ(info.reason(), expected[i].second) << i;
    EXPECT_EQ(info.domain(), "aesignal.dev") << i;
  }
  // Several problems: `field` is the first, the BadRequest names each.
  v1::AdverseEventReport many = Report("R4", 1, "S1", 0, "", 9);
  response = Submit({many});
  ASSERT_EQ(response.rejected_count(), 1);
  const v1::ReportResult& r = response.results(0);
  EXPECT_EQ(r.field(), "reports[0].onset_study_day");
  google::rpc::BadRequest bad;
  for (const auto& any : r.error().details()) any.UnpackTo(&bad);
  std::vector<std::string> fields;
  for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  EXPECT_THAT(fields,
              ::testing::ElementsAre("reports[0].onset_study_day",
                                     "reports[0].pt", "reports[0].grade"));
}

TEST_F(ApiV1Test, TheAllGroupsTotalIsExplicit) {
  Enroll({testing::SubjectNumber(1)});
  Submit({Report("R1", 1, "S1", 10, "Headache")});
  v1::GetIncidenceRequest request;
  request.set_parent(kParent);
  request.set_level(v1::TERM_LEVEL_OVERALL);
  request.set_overall_key("any_ae");
  request.set_timepoint_id("M3");
  v1::GetIncidenceResponse response;
  ASSERT_TRUE(
      Call(&v1::SafetyService::Stub::GetIncidence, safety_, request, &response)
          .ok());
  ASSERT_EQ(response.terms(0).cells_size(), 4);
  for (int g = 0; g < 3; ++g) {
    EXPECT_EQ(response.terms(0).cells(g).scope(), v1::DOSE_GROUP_SCOPE_GROUP);
  }
  EXPECT_EQ(response.terms(0).cells(3).scope(),
            v1::DOSE_GROUP_SCOPE_ALL_GROUPS);
  EXPECT_EQ(response.terms(0).cells(3).dose_group_id(), "");
}

// A trial with a control arm: PBO (control), LOW, HIGH; two subjects each.
class DashboardTest : public ApiV1Test {
 protected:
  void SetUp() override {
    ApiV1Test::SetUp();
    v1::Trial trial = testing::ThreeGroupTrial("T2");
    trial.mutable_dose_groups(0)->set_dose_group_id("PBO");
    trial.mutable_dose_groups(0)->set_control(true);
    trial.mutable_dose_groups(0)->set_dose_value(0);
    v1::CreateTrialRequest create;
    *create.mutable_trial() = trial;
    v1::Trial created;
    ASSERT_TRUE(
        Call(&v1::TrialService::Stub::CreateTrial, trials_, create, &created)
            .ok());
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent("trials/T2");
    for (const char* group : {"PBO", "MID", "HIGH"}) {
      for (int i = 1; i <= 2; ++i) {
        v1::Subject* s = enroll.add_subjects();
        s->set_subject_id(absl::StrCat(group, "-", i));
        s->set_site_id("01");
        s->set_dose_group_id(group);
        s->set_last_contact_day(365);
      }
    }
    v1::EnrollSubjectsResponse enrolled;
    ASSERT_TRUE(Call(&v1::TrialService::Stub::EnrollSubjects, trials_, enroll,
                     &enrolled)
                    .ok());
  }

  v1::SubmitReportsResponse SubmitT2(
      std::vector<v1::AdverseEventReport> reports) {
    v1::SubmitReportsRequest request;
    request.set_parent("trials/T2");
    for (auto& r : reports) *request.add_reports() = std::move(r);
    v1::SubmitReportsResponse response;
    EXPECT_TRUE(Call(&v1::IngestService::Stub::SubmitReports, ingest_, request,
                     &response)
                    .ok());
    return response;
  }

  grpc::Status Incidence(v1::GetIncidenceRequest request,
                         v1::GetIncidenceResponse* response) {
    request.set_parent("trials/T2");
    return Call(&v1::SafetyService::Stub::GetIncidence, safety_, request,
                response);
  }
};

// The M12 cell of `group` in a term.
const v1::IncidenceCell& CellAtM12(const v1::TermIncidence& term,
                                   const std::string& group) {
  for (const auto& cell : term.cells()) {
    if (cell.dose_group_id() == group && cell.timepoint_id() == "M12") {
      return cell;
    }
  }
  ADD_FAILURE() << "no M12 cell of " << group;
  return term.cells(0);
}

TEST_F(DashboardTest, SubsetMaxGradeComparisonsAndTrendOverGrpc) {
  v1::AdverseEventReport fatal = Report("R4", 1, "HIGH-2", 200, "Headache", 5);
  fatal.set_death(true);
  fatal.set_serious(true);
  v1::AdverseEventReport rash = Report("R5", 1, "HIGH-2", 30, "Rash", 1);
  ASSERT_EQ(
      SubmitT2({Report("R1", 1, "PBO-1", 10, "Headache", 1),
                Report("R2", 1, "MID-1", 100, "Headache", 3, true),
                Report("R3", 1, "HIGH-1", 20, "Headache", 2), fatal, rash})
          .accepted_count(),
      5);
  // A follow-up raises R3 to grade 4.
  ASSERT_EQ(
      SubmitT2({Report("R3", 2, "HIGH-1", 20, "Headache", 4)}).accepted_count(),
      1);
  v1::GetIncidenceRequest request;
  request.set_level(v1::TERM_LEVEL_PT);
  request.set_subset(v1::INCIDENCE_SUBSET_GRADE_3_PLUS);
  request.set_max_grade(true);
  request.set_compare_to_control(true);
  request.set_dose_trend(true);
  v1::GetIncidenceResponse table;
  const grpc::Status s = Incidence(request, &table);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(table.terms_size(), 1);  // the grade-1 rash is not in the subset
  const v1::TermIncidence& headache = table.terms(0);
  EXPECT_EQ(headache.pt(), "Headache");
  const v1::IncidenceCell& high = CellAtM12(headache, "HIGH");
  EXPECT_EQ(high.cumulative().subjects(), 2);
  EXPECT_EQ(high.cumulative().events(), 2);
  EXPECT_THAT(high.max_grade_subjects(), ElementsAre(0, 0, 0, 1, 1));
  EXPECT_THAT(CellAtM12(headache, "MID").max_grade_subjects(),
              ElementsAre(0, 0, 1, 0, 0));
  EXPECT_EQ(CellAtM12(headache, "PBO").cumulative().subjects(), 0);
  EXPECT_FALSE(CellAtM12(headache, "PBO").has_cumulative_vs_control());
  // HIGH 2/2 against PBO 0/2: RD 100 %, no finite relative risk.
  const v1::ControlComparison& vs = high.cumulative_vs_control();
  EXPECT_EQ(vs.control_dose_group_id(), "PBO");
  EXPECT_EQ(vs.control_subjects(), 0);
  EXPECT_EQ(vs.control_denominator(), 2);
  EXPECT_DOUBLE_EQ(vs.risk_difference(), 1.0);
  EXPECT_LT(vs.risk_difference_lower(), 1.0);
  EXPECT_FALSE(vs.has_relative_risk());
  EXPECT_FALSE(vs.has_relative_risk_upper());
  ASSERT_EQ(headache.dose_trends_size(), 3);
  EXPECT_EQ(headache.dose_trends(2).timepoint_id(), "M12");
  EXPECT_GT(headache.dose_trends(2).p_value(), 0);
  EXPECT_LT(headache.dose_trends(2).p_value(),
            headache.dose_trends(0).p_value());
  EXPECT_EQ(headache.dose_trends(2).scores(), "dose scores");

  // The death row, among the overall rows after `related`.
  v1::GetIncidenceRequest overall;
  overall.set_level(v1::TERM_LEVEL_OVERALL);
  overall.set_overall_key("death");
  ASSERT_TRUE(Incidence(overall, &table).ok());
  EXPECT_EQ(CellAtM12(table.terms(0), "HIGH").cumulative().subjects(), 1);
  EXPECT_EQ(CellAtM12(table.terms(0), "").cumulative().subjects(), 1);
}

TEST_F(DashboardTest, RefusesComparisonsTheTrialCannotHave) {
  v1::GetIncidenceRequest request;
  request.set_parent(kParent);  // T1 has no control arm
  request.set_level(v1::TERM_LEVEL_OVERALL);
  request.set_compare_to_control(true);
  v1::GetIncidenceResponse table;
  const grpc::Status s =
      Call(&v1::SafetyService::Stub::GetIncidence, safety_, request, &table);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const auto bad = DetailOf<google::rpc::BadRequest>(s);
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "compare_to_control");
}

TEST_F(DashboardTest, SubjectsHaveATotalAndReportsAnEndDay) {
  v1::ListSubjectsRequest list;
  list.set_parent("trials/T2");
  list.set_page_size(4);
  v1::ListSubjectsResponse page;
  ASSERT_TRUE(
      Call(&v1::TrialService::Stub::ListSubjects, trials_, list, &page).ok());
  EXPECT_EQ(page.subjects_size(), 4);
  EXPECT_EQ(page.total_size(), 6);
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(
      Call(&v1::TrialService::Stub::ListSubjects, trials_, list, &page).ok());
  EXPECT_EQ(page.subjects_size(), 2);
  EXPECT_EQ(page.total_size(), 6);

  v1::AdverseEventReport ended = Report("E1", 1, "MID-2", 40, "Rash");
  ended.set_end_study_day(55);
  v1::AdverseEventReport backwards = Report("E2", 1, "MID-2", 40, "Rash");
  backwards.set_end_study_day(39);
  const v1::SubmitReportsResponse response = SubmitT2({ended, backwards});
  EXPECT_EQ(response.results(0).status(), v1::REPORT_STATUS_ACCEPTED);
  EXPECT_EQ(response.results(1).status(), v1::REPORT_STATUS_REJECTED);
  EXPECT_EQ(response.results(1).field(), "reports[1].end_study_day");
  v1::GetReportRequest get;
  get.set_name("trials/T2/sites/01/reports/E1");
  v1::Report stored;
  ASSERT_TRUE(
      Call(&v1::SafetyService::Stub::GetReport, safety_, get, &stored).ok());
  EXPECT_EQ(stored.current().report().end_study_day(), 55);
}

}  // namespace
}  // namespace aesignal
