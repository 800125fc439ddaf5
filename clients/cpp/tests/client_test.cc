#include "aesignal/client/client.h"

#include <memory>

#include "aesignal/client/mocks/mock_connection.h"
#include "aesignal/client/status.h"
#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace aesignal::client {
namespace {

using ::testing::_;
using ::testing::ByMove;
using ::testing::ElementsAre;
using ::testing::MatchesRegex;
using ::testing::Ne;
using ::testing::Property;
using ::testing::Return;

TEST(StatusTest, FromGrpcKeepsCodeMessageAndBadRequest) {
  google::rpc::BadRequest bad_request;
  auto* violation = bad_request.add_field_violations();
  violation->set_field("reports[2].grade");
  violation->set_description("must be 1..5");
  google::rpc::Status rich;
  rich.set_code(3);
  rich.add_details()->PackFrom(bad_request);
  grpc::Status status(grpc::StatusCode::INVALID_ARGUMENT, "bad report",
                      rich.SerializeAsString());

  absl::Status converted = FromGrpc(status);
  EXPECT_EQ(converted.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(converted.message(), "bad report");
  std::optional<google::rpc::BadRequest> parsed = BadRequestOf(converted);
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->field_violations_size(), 1);
  EXPECT_EQ(parsed->field_violations(0).field(), "reports[2].grade");
  EXPECT_EQ(parsed->field_violations(0).description(), "must be 1..5");
}

// A rejected report's ReportResult.error is a google.rpc.Status message.
TEST(StatusTest, FromRpcStatusKeepsCodeMessageAndDetails) {
  google::rpc::BadRequest bad_request;
  bad_request.add_field_violations()->set_field("reports[0].pt");
  bad_request.add_field_violations()->set_field("reports[0].grade");
  google::rpc::Status rich;
  rich.set_code(5);
  rich.set_message("site '9' is not a site");
  rich.add_details()->PackFrom(bad_request);
  absl::Status converted = FromRpcStatus(rich);
  EXPECT_EQ(converted.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(converted.message(), "site '9' is not a site");
  std::optional<google::rpc::BadRequest> parsed = BadRequestOf(converted);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->field_violations_size(), 2);
  EXPECT_TRUE(FromRpcStatus(google::rpc::Status()).ok());
}

TEST(StatusTest, PreconditionFailureSurvivesFromGrpc) {
  google::rpc::PreconditionFailure failure;
  auto* violation = failure.add_violations();
  violation->set_type("TRIAL_AMENDMENT");
  violation->set_subject("trial.dose_groups[1]");
  violation->set_description("cannot be removed");
  google::rpc::Status rich;
  rich.set_code(9);
  rich.add_details()->PackFrom(failure);
  absl::Status converted = FromGrpc(grpc::Status(
      grpc::StatusCode::FAILED_PRECONDITION, "no", rich.SerializeAsString()));
  auto parsed = PreconditionFailureOf(converted);
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->violations_size(), 1);
  EXPECT_EQ(parsed->violations(0).subject(), "trial.dose_groups[1]");
  EXPECT_FALSE(BadRequestOf(converted).has_value());
  EXPECT_FALSE(PreconditionFailureOf(absl::NotFoundError("x")).has_value());
}

TEST(StatusTest, FromGrpcWithoutDetails) {
  absl::Status converted =
      FromGrpc(grpc::Status(grpc::StatusCode::NOT_FOUND, "no trial"));
  EXPECT_EQ(converted.code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(BadRequestOf(converted).has_value());
  EXPECT_TRUE(FromGrpc(grpc::Status::OK).ok());
}

TEST(StatusTest, OnlyTransientCodesAreRetryable) {
  EXPECT_TRUE(IsRetryable(absl::UnavailableError("x")));
  EXPECT_TRUE(IsRetryable(absl::AbortedError("x")));
  EXPECT_FALSE(IsRetryable(absl::InvalidArgumentError("x")));
  EXPECT_FALSE(IsRetryable(absl::NotFoundError("x")));
  EXPECT_FALSE(IsRetryable(absl::DeadlineExceededError("x")));
}

TEST(ClientTest, GetTrialUsesResourceName) {
  auto mock = std::make_shared<MockClientConnection>();
  v1::Trial trial;
  trial.set_trial_id("NCT1");
  EXPECT_CALL(*mock,
              GetTrial(Property(&v1::GetTrialRequest::name, "trials/NCT1")))
      .WillOnce(Return(trial));
  Client client(mock);
  auto got = client.GetTrial("NCT1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->trial_id(), "NCT1");
}

TEST(ClientTest, ErrorsPassThrough) {
  auto mock = std::make_shared<MockClientConnection>();
  EXPECT_CALL(*mock, GetTrial(_))
      .WillOnce(Return(absl::NotFoundError("trial NCT9 not found")));
  Client client(mock);
  EXPECT_EQ(client.GetTrial("NCT9").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ClientTest, ListAllTrialsFollowsPages) {
  auto mock = std::make_shared<MockClientConnection>();
  v1::ListTrialsResponse first, second;
  first.add_trials()->set_trial_id("A");
  first.set_next_page_token("t1");
  second.add_trials()->set_trial_id("B");
  EXPECT_CALL(*mock,
              ListTrials(Property(&v1::ListTrialsRequest::page_token, "")))
      .WillOnce(Return(first));
  EXPECT_CALL(*mock,
              ListTrials(Property(&v1::ListTrialsRequest::page_token, "t1")))
      .WillOnce(Return(second));
  Client client(mock);
  auto trials = client.ListAllTrials();
  ASSERT_TRUE(trials.ok()) << trials.status();
  EXPECT_THAT(*trials, ElementsAre(Property(&v1::Trial::trial_id, "A"),
                                   Property(&v1::Trial::trial_id, "B")));
}

TEST(ClientTest, ListAllSubjectsStopsOnErrorMidway) {
  auto mock = std::make_shared<MockClientConnection>();
  v1::ListSubjectsResponse first;
  first.add_subjects()->set_subject_id("S1");
  first.set_next_page_token("t1");
  EXPECT_CALL(*mock, ListSubjects(_))
      .WillOnce(Return(first))
      .WillOnce(Return(absl::UnavailableError("gone")));
  Client client(mock);
  EXPECT_EQ(client.ListAllSubjects("NCT1").status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(ClientTest, GetIncidenceMergesPages) {
  auto mock = std::make_shared<MockClientConnection>();
  v1::GetIncidenceResponse first, second;
  first.add_terms()->set_pt("Headache");
  first.set_next_page_token("p2");
  first.set_confidence_level(0.9);
  second.add_terms()->set_pt("Pyrexia");
  second.set_confidence_level(0.9);
  EXPECT_CALL(*mock, GetIncidence(_))
      .WillOnce([&](const v1::GetIncidenceRequest& r) {
        EXPECT_EQ(r.parent(), "trials/NCT1");
        EXPECT_EQ(r.level(), v1::TERM_LEVEL_PT);
        EXPECT_DOUBLE_EQ(r.confidence_level(), 0.9);
        EXPECT_EQ(r.page_token(), "");
        EXPECT_EQ(r.page_size(), 1000);  // the fewest pages
        return first;
      })
      .WillOnce([&](const v1::GetIncidenceRequest& r) {
        EXPECT_EQ(r.page_token(), "p2");
        EXPECT_EQ(r.page_size(), 1000);
        return second;
      });
  Client client(mock);
  auto table = client.GetIncidence("NCT1", v1::TERM_LEVEL_PT, 0.9);
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->terms_size(), 2);
  EXPECT_EQ(table->terms(1).pt(), "Pyrexia");
  EXPECT_DOUBLE_EQ(table->confidence_level(), 0.9);
  EXPECT_TRUE(table->next_page_token().empty());
}

TEST(ClientTest, SubmitAndEnrollSetParent) {
  auto mock = std::make_shared<MockClientConnection>();
  EXPECT_CALL(*mock, SubmitReports(_))
      .WillOnce([](const v1::SubmitReportsRequest& r) {
        EXPECT_EQ(r.parent(), "trials/NCT1");
        EXPECT_EQ(r.reports_size(), 2);
        return v1::SubmitReportsResponse();
      });
  EXPECT_CALL(*mock, EnrollSubjects(_))
      .WillOnce([](const v1::EnrollSubjectsRequest& r) {
        EXPECT_EQ(r.parent(), "trials/NCT1");
        EXPECT_EQ(r.subjects_size(), 1);
        return v1::EnrollSubjectsResponse();
      });
  Client client(mock);
  EXPECT_TRUE(client.SubmitReports("NCT1", {{}, {}}).ok());
  EXPECT_TRUE(client.EnrollSubjects("NCT1", {{}}).ok());
}

TEST(ClientTest, ReadsUseResourceNames) {
  auto mock = std::make_shared<MockClientConnection>();
  EXPECT_CALL(*mock, GetSubject(Property(&v1::GetSubjectRequest::name,
                                         "trials/T1/subjects/S1")))
      .WillOnce(Return(v1::Subject()));
  EXPECT_CALL(*mock, GetReport(Property(&v1::GetReportRequest::name,
                                        "trials/T1/sites/01/reports/AE/7")))
      .WillOnce(Return(v1::Report()));
  EXPECT_CALL(*mock, GetBaseline(Property(&v1::GetBaselineRequest::name,
                                          "trials/T1/baselines/b1")))
      .WillOnce(Return(v1::Baseline()));
  Client client(mock);
  EXPECT_TRUE(client.GetSubject("T1", "S1").ok());
  EXPECT_TRUE(client.GetReport("T1", "01", "AE/7").ok());
  EXPECT_TRUE(client.GetBaseline("T1", "b1").ok());
}

TEST(ClientTest, ListAllReportsKeepsFiltersAcrossPages) {
  auto mock = std::make_shared<MockClientConnection>();
  v1::ListReportsResponse first, second;
  first.add_reports()->set_report_id("R1");
  first.set_next_page_token("p2");
  second.add_reports()->set_report_id("R2");
  EXPECT_CALL(*mock, ListReports(_))
      .WillOnce([&](const v1::ListReportsRequest& r) {
        EXPECT_EQ(r.parent(), "trials/T1");
        EXPECT_EQ(r.page_token(), "");
        EXPECT_TRUE(r.serious());
        return first;
      })
      .WillOnce([&](const v1::ListReportsRequest& r) {
        EXPECT_EQ(r.page_token(), "p2");
        EXPECT_TRUE(r.has_serious() && r.serious());
        EXPECT_EQ(r.page_size(), 1);
        return second;
      });
  Client client(mock);
  v1::ListReportsRequest filter;
  filter.set_serious(true);
  filter.set_page_size(1);
  filter.set_page_token("stale");  // ignored: the walk starts at page one
  auto reports = client.ListAllReports("T1", filter);
  ASSERT_TRUE(reports.ok()) << reports.status();
  EXPECT_THAT(*reports, ElementsAre(Property(&v1::Report::report_id, "R1"),
                                    Property(&v1::Report::report_id, "R2")));
}

// Without a page size the walk asks for the largest pages: the server scans
// the trial's reports once per page.
TEST(ClientTest, ListAllReportsReadsTheLargestPagesByDefault) {
  auto mock = std::make_shared<MockClientConnection>();
  EXPECT_CALL(*mock, ListReports(_))
      .WillOnce([&](const v1::ListReportsRequest& r) {
        EXPECT_EQ(r.page_size(), 1000);
        return v1::ListReportsResponse();
      });
  Client client(mock);
  EXPECT_TRUE(client.ListAllReports("T1").ok());
}

TEST(ClientTest, ListBaselinesAndAuditRecordsFollowPages) {
  auto mock = std::make_shared<MockClientConnection>();
  v1::ListBaselinesResponse b1, b2;
  b1.add_baselines()->set_baseline_id("a");
  b1.set_next_page_token("t");
  b2.add_baselines()->set_baseline_id("b");
  EXPECT_CALL(*mock, ListBaselines(_))
      .WillOnce(Return(b1))
      .WillOnce(Return(b2));
  v1::ListAuditRecordsResponse a1, a2;
  a1.add_audit_records()->set_sequence(1);
  a1.set_next_page_token("t");
  a2.add_audit_records()->set_sequence(2);
  EXPECT_CALL(*mock, ListAuditRecords(_))
      .WillOnce(Return(a1))
      .WillOnce([&](const v1::ListAuditRecordsRequest& r) {
        EXPECT_EQ(r.action(), "trial.amend");
        EXPECT_EQ(r.page_token(), "t");
        return a2;
      });
  Client client(mock);
  auto baselines = client.ListBaselines("T1");
  ASSERT_TRUE(baselines.ok()) << baselines.status();
  EXPECT_EQ(baselines->size(), 2u);
  v1::ListAuditRecordsRequest filter;
  filter.set_action("trial.amend");
  auto records = client.ListAuditRecords("T1", filter);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->size(), 2u);
}

TEST(ClientTest, TriageSignalFillsAFreshRequestIdUnlessGiven) {
  auto mock = std::make_shared<MockClientConnection>();
  std::vector<std::string> ids;
  EXPECT_CALL(*mock, TriageSignal(_))
      .Times(3)
      .WillRepeatedly([&](const v1::TriageSignalRequest& r) {
        EXPECT_EQ(r.name(), "trials/T1/signals/S");
        EXPECT_EQ(r.status(), v1::SIGNAL_STATUS_REFUTED);
        EXPECT_EQ(r.comment(), "noise");
        EXPECT_EQ(r.display_name(), "chair");
        ids.push_back(r.request_id());
        return v1::Signal();
      });
  Client client(mock);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(client
                    .TriageSignal("trials/T1/signals/S",
                                  v1::SIGNAL_STATUS_REFUTED, "noise", "chair")
                    .ok());
  }
  EXPECT_TRUE(client
                  .TriageSignal("trials/T1/signals/S",
                                v1::SIGNAL_STATUS_REFUTED, "noise", "chair",
                                "mine")
                  .ok());
  ASSERT_EQ(ids.size(), 3u);
  const std::string uuid =
      "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";
  EXPECT_THAT(ids[0], MatchesRegex(uuid));
  EXPECT_THAT(ids[1], MatchesRegex(uuid));
  EXPECT_THAT(ids[1], Ne(ids[0]));
  EXPECT_EQ(ids[2], "mine");
}

TEST(ClientTest, UpdateTrialSendsTheMask) {
  auto mock = std::make_shared<MockClientConnection>();
  EXPECT_CALL(*mock, UpdateTrial(_))
      .WillOnce([](const v1::UpdateTrialRequest& r) {
        EXPECT_EQ(r.trial().trial_id(), "T1");
        EXPECT_THAT(r.update_mask().paths(),
                    ElementsAre("title", "dose_groups"));
        v1::Trial amended = r.trial();
        amended.set_version(2);
        return amended;
      });
  Client client(mock);
  v1::Trial trial;
  trial.set_trial_id("T1");
  auto amended = client.UpdateTrial(trial, {"title", "dose_groups"});
  ASSERT_TRUE(amended.ok()) << amended.status();
  EXPECT_EQ(amended->version(), 2u);
}

// A watch that delivers `sequences` (change_sequence each), then ends with
// `ended`.
std::unique_ptr<SignalWatch> WatchThatEnds(std::vector<int64_t> sequences,
                                           absl::Status ended) {
  auto watch = std::make_unique<MockSignalWatch>();
  ::testing::Sequence order;
  for (int64_t sequence : sequences) {
    EXPECT_CALL(*watch, Read(_))
        .InSequence(order)
        .WillOnce([sequence](v1::WatchSignalsResponse* change) {
          change->set_change_sequence(sequence);
          return true;
        });
  }
  EXPECT_CALL(*watch, Read(_)).InSequence(order).WillOnce(Return(false));
  EXPECT_CALL(*watch, Finish()).WillOnce(Return(ended));
  EXPECT_CALL(*watch, Cancel()).Times(::testing::AnyNumber());
  return watch;
}

// A server shutdown ends a watch with UNAVAILABLE, or CANCELLED when it
// cancels the call: both reconnect and resume after the last change, and
// the caller hears of each reconnect, counted from the last delivery.
TEST(ClientTest, WatchSignalsResumesAfterTheServerEndsTheStream) {
  auto mock = std::make_shared<MockClientConnection>();
  std::vector<int64_t> asked_after;
  auto record = [&](const v1::WatchSignalsRequest& request, absl::Time) {
    asked_after.push_back(request.after_sequence());
  };
  EXPECT_CALL(*mock, WatchSignals(_, _))
      .WillOnce([&](const v1::WatchSignalsRequest& r, absl::Time t) {
        record(r, t);
        return WatchThatEnds({4, 5}, absl::UnavailableError("shutting down"));
      })
      .WillOnce([&](const v1::WatchSignalsRequest& r, absl::Time t) {
        record(r, t);
        return WatchThatEnds({}, absl::CancelledError("server cancelled"));
      })
      .WillOnce([&](const v1::WatchSignalsRequest& r, absl::Time t) {
        record(r, t);
        return WatchThatEnds({6}, absl::OkStatus());
      });
  Client client(mock);
  std::vector<int64_t> seen;
  std::vector<std::pair<absl::StatusCode, int>> retries;
  absl::Status status = client.WatchSignals(
      "T1", 3,
      [&](const v1::WatchSignalsResponse& change) {
        seen.push_back(change.change_sequence());
        return change.change_sequence() < 6;
      },
      absl::Now() + absl::Seconds(30),
      [&](const absl::Status& ended, absl::Duration, int attempt) {
        retries.push_back({ended.code(), attempt});
      });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(seen, ElementsAre(4, 5, 6));
  EXPECT_THAT(asked_after, ElementsAre(3, 5, 5));
  EXPECT_THAT(retries, ElementsAre(std::pair(absl::StatusCode::kUnavailable, 1),
                                   std::pair(absl::StatusCode::kCancelled, 2)));
}

TEST(ClientTest, WatchSignalsStopsAtAnErrorARetryCannotFix) {
  auto mock = std::make_shared<MockClientConnection>();
  EXPECT_CALL(*mock, WatchSignals(_, _))
      .WillOnce(Return(ByMove(WatchThatEnds(
          {}, absl::PermissionDeniedError("not a principal of the trial")))));
  Client client(mock);
  int retries = 0;
  absl::Status status = client.WatchSignals(
      "T1", 0, [](const v1::WatchSignalsResponse&) { return true; },
      absl::Now() + absl::Seconds(30),
      [&](const absl::Status&, absl::Duration, int) { ++retries; });
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(retries, 0);
}

}  // namespace
}  // namespace aesignal::client
