// Data cut-off reads end to end through gRPC against a real in-process
// server: GetIncidence, ListReports, ListSubjects and ListTopics at a
// cut-off answer exactly what they answered then, whatever arrived since
// (follow-ups, new reports and subjects, subject updates, triage); a cut-off
// in the future is refused on `as_of`. Also the new Subject and Trial fields
// (withdrawal_reason, meddra_version, ctcae_version) and their checks.
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "aesignal/v1/ingest_service.grpc.pb.h"
#include "aesignal/v1/safety_service.grpc.pb.h"
#include "aesignal/v1/signal_service.grpc.pb.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
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

using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;
using testing::Report;

constexpr char kParent[] = "trials/T1";

// The field of the one violation of an INVALID_ARGUMENT status.
std::string ViolatedField(const grpc::Status& s) {
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
  return testing::ViolatedField(s);
}

using testing::CutOffNow;

// What the four reads answer, live or at one cut-off.
struct Reads {
  v1::GetIncidenceResponse incidence;
  v1::ListReportsResponse reports;
  v1::ListSubjectsResponse subjects;
  v1::ListTopicsResponse topics;
};

class AsOfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server =
        Server::Start({.listen = "127.0.0.1:0", .data_dir = dir_.Sub("data")});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                            grpc::InsecureChannelCredentials());
    trials_ = v1::TrialService::NewStub(channel);
    ingest_ = v1::IngestService::NewStub(channel);
    safety_ = v1::SafetyService::NewStub(channel);
    signals_ = v1::SignalService::NewStub(channel);
    v1::CreateTrialRequest create;
    *create.mutable_trial() = testing::ThreeGroupTrial("T1");
    create.mutable_trial()->set_meddra_version("MedDRA 26.1");
    v1::Trial trial;
    grpc::ClientContext context;
    ASSERT_TRUE(trials_->CreateTrial(&context, create, &trial).ok());
    EXPECT_EQ(trial.meddra_version(), "MedDRA 26.1");
  }

  grpc::Status Enroll(std::vector<v1::Subject> subjects) {
    v1::EnrollSubjectsRequest enroll;
    enroll.set_parent(kParent);
    for (auto& s : subjects) *enroll.add_subjects() = std::move(s);
    v1::EnrollSubjectsResponse response;
    grpc::ClientContext context;
    return trials_->EnrollSubjects(&context, enroll, &response);
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

  // The four reads, live (`as_of` null) or at *as_of; each must succeed.
  Reads Read(const google::protobuf::Timestamp* as_of) {
    Reads r;
    v1::GetIncidenceRequest incidence;
    incidence.set_parent(kParent);
    incidence.set_level(v1::TERM_LEVEL_PT);
    incidence.set_compare_to_control(false);
    v1::ListReportsRequest reports;
    reports.set_parent(kParent);
    v1::ListSubjectsRequest subjects;
    subjects.set_parent(kParent);
    v1::ListTopicsRequest topics;
    topics.set_parent(kParent);
    if (as_of != nullptr) {
      *incidence.mutable_as_of() = *as_of;
      *reports.mutable_as_of() = *as_of;
      *subjects.mutable_as_of() = *as_of;
      *topics.mutable_as_of() = *as_of;
    }
    grpc::ClientContext c1, c2, c3, c4;
    EXPECT_TRUE(safety_->GetIncidence(&c1, incidence, &r.incidence).ok());
    EXPECT_TRUE(safety_->ListReports(&c2, reports, &r.reports).ok());
    EXPECT_TRUE(trials_->ListSubjects(&c3, subjects, &r.subjects).ok());
    EXPECT_TRUE(signals_->ListTopics(&c4, topics, &r.topics).ok());
    r.incidence.clear_as_of();  // echoed; compared apart
    return r;
  }

  // Everything after the cut-off: the topic triaged, a follow-up that makes
  // an SAE non-serious, a new report, a new subject, and a subject followed
  // further and then withdrawn.
  void EverythingLater() {
    v1::TriageTopicRequest triage;
    triage.set_name("trials/T1/topics/OVERALL~any_sae");
    triage.set_status(v1::SIGNAL_STATUS_VALIDATED);
    triage.set_comment("after the cut-off");
    v1::SignalTopic topic;
    grpc::ClientContext context;
    const grpc::Status s = signals_->TriageTopic(&context, triage, &topic);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::Subject withdrawn = testing::SubjectNumber(1);
    withdrawn.set_status(v1::FOLLOW_UP_STATUS_WITHDRAWN);
    withdrawn.set_withdrawal_reason("WITHDRAWAL BY SUBJECT");
    ASSERT_TRUE(Enroll({withdrawn, testing::SubjectNumber(9)}).ok());
    Submit({Report("R1", 2, "S3", 20, "Pneumonia", 1, false),
            Report("R4", 1, "S9", 40, "Headache"),
            Report("R5", 1, "S1", 50, "Rash")});
  }

  testing::TempDir dir_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::TrialService::Stub> trials_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::unique_ptr<v1::SafetyService::Stub> safety_;
  std::unique_ptr<v1::SignalService::Stub> signals_;
};

void ExpectSame(const google::protobuf::Message& expected,
                const google::protobuf::Message& actual) {
  MessageDifferencer differ;
  std::string differences;
  differ.ReportDifferencesToString(&differences);
  EXPECT_TRUE(differ.Compare(expected, actual))
      << expected.GetDescriptor()->name() << ": " << differences;
}

TEST_F(AsOfTest, ACutOffFreezesIncidenceReportsSubjectsAndTopics) {
  ASSERT_TRUE(Enroll({testing::SubjectNumber(1), testing::SubjectNumber(3),
                      testing::SubjectNumber(6)})
                  .ok());
  v1::PutBaselinesRequest put;
  put.set_parent(kParent);
  *put.add_baselines() = testing::SeriousAeBaseline();
  v1::PutBaselinesResponse put_response;
  grpc::ClientContext context;
  ASSERT_TRUE(signals_->PutBaselines(&context, put, &put_response).ok());
  Submit({Report("R1", 1, "S3", 20, "Pneumonia", 3, true),
          Report("R2", 1, "S6", 30, "Sepsis", 4, true)});

  const Reads then = Read(nullptr);
  ASSERT_GT(then.topics.topics_size(), 0);
  ASSERT_EQ(then.reports.reports_size(), 2);
  const google::protobuf::Timestamp cut = CutOffNow();
  ExpectSame(then.topics, Read(&cut).topics);  // before anything else

  EverythingLater();
  const Reads now = Read(nullptr);
  EXPECT_EQ(now.reports.reports_size(), 4);  // the check is not empty
  EXPECT_EQ(now.subjects.subjects_size(), 4);
  const Reads at_cut = Read(&cut);
  ExpectSame(then.incidence, at_cut.incidence);
  ExpectSame(then.reports, at_cut.reports);
  ExpectSame(then.subjects, at_cut.subjects);
  ExpectSame(then.topics, at_cut.topics);
  for (const v1::SignalTopic& t : at_cut.topics.topics()) {
    EXPECT_EQ(t.status(), v1::SIGNAL_STATUS_NEW) << t.topic_id();
  }
  const google::protobuf::Timestamp later = CutOffNow();
  const Reads at_now = Read(&later);
  ExpectSame(now.incidence, at_now.incidence);
  ExpectSame(now.reports, at_now.reports);
  ExpectSame(now.subjects, at_now.subjects);
  ExpectSame(now.topics, at_now.topics);
}

TEST_F(AsOfTest, TheCutOffIsEchoedAndOneInTheFutureIsRefused) {
  google::protobuf::Timestamp future =
      TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(absl::Now()));
  future.set_seconds(future.seconds() + 3600);
  v1::GetIncidenceRequest incidence;
  incidence.set_parent(kParent);
  incidence.set_level(v1::TERM_LEVEL_OVERALL);
  *incidence.mutable_as_of() = future;
  v1::GetIncidenceResponse table;
  grpc::ClientContext c1;
  EXPECT_EQ(ViolatedField(safety_->GetIncidence(&c1, incidence, &table)),
            "as_of");
  v1::ListReportsRequest reports;
  reports.set_parent(kParent);
  *reports.mutable_as_of() = future;
  v1::ListReportsResponse report_page;
  grpc::ClientContext c2;
  EXPECT_EQ(ViolatedField(safety_->ListReports(&c2, reports, &report_page)),
            "as_of");
  v1::ListSubjectsRequest subjects;
  subjects.set_parent(kParent);
  *subjects.mutable_as_of() = future;
  v1::ListSubjectsResponse subject_page;
  grpc::ClientContext c3;
  EXPECT_EQ(ViolatedField(trials_->ListSubjects(&c3, subjects, &subject_page)),
            "as_of");
  v1::ListTopicsRequest topics;
  topics.set_parent(kParent);
  *topics.mutable_as_of() = future;
  v1::ListTopicsResponse topic_page;
  grpc::ClientContext c4;
  EXPECT_EQ(ViolatedField(signals_->ListTopics(&c4, topics, &topic_page)),
            "as_of");

  const google::protobuf::Timestamp cut = CutOffNow();
  *incidence.mutable_as_of() = cut;
  grpc::ClientContext c5;
  ASSERT_TRUE(safety_->GetIncidence(&c5, incidence, &table).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(table.as_of(), cut));
}

TEST_F(AsOfTest, WithdrawalReasonAndDictionaryVersionsAreChecked) {
  v1::Subject reason_without_withdrawal = testing::SubjectNumber(1);
  reason_without_withdrawal.set_withdrawal_reason("ADVERSE EVENT");
  EXPECT_EQ(ViolatedField(Enroll({reason_without_withdrawal})),
            "subjects[0].withdrawal_reason");
  v1::Subject too_long = testing::SubjectNumber(1);
  too_long.set_status(v1::FOLLOW_UP_STATUS_WITHDRAWN);
  too_long.set_withdrawal_reason(std::string(201, 'x'));
  EXPECT_EQ(ViolatedField(Enroll({too_long})), "subjects[0].withdrawal_reason");
  too_long.set_withdrawal_reason(std::string(200, 'x'));
  ASSERT_TRUE(Enroll({too_long}).ok());

  v1::UpdateTrialRequest update;
  update.mutable_trial()->set_name(kParent);
  update.mutable_trial()->set_ctcae_version(std::string(65, 'v'));
  update.mutable_update_mask()->add_paths("ctcae_version");
  v1::Trial trial;
  grpc::ClientContext c1;
  EXPECT_EQ(ViolatedField(trials_->UpdateTrial(&c1, update, &trial)),
            "trial.ctcae_version");
  update.mutable_trial()->set_ctcae_version("CTCAE v5.0");
  grpc::ClientContext c2;
  const grpc::Status s = trials_->UpdateTrial(&c2, update, &trial);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(trial.ctcae_version(), "CTCAE v5.0");
  EXPECT_EQ(trial.meddra_version(), "MedDRA 26.1");  // not in the mask
  // The grading scale is amended the same way.
  update.mutable_update_mask()->add_paths("grading");
  update.mutable_trial()->set_grading("severity: MILD = 1, SEVERE = 3");
  grpc::ClientContext c3;
  const grpc::Status graded = trials_->UpdateTrial(&c3, update, &trial);
  ASSERT_TRUE(graded.ok()) << graded.error_message();
  EXPECT_EQ(trial.grading(), "severity: MILD = 1, SEVERE = 3");
}

}  // namespace
}  // namespace aesignal
