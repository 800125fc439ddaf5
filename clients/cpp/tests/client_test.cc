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
using ::testing::ElementsAre;
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
        return first;
      })
      .WillOnce([&](const v1::GetIncidenceRequest& r) {
        EXPECT_EQ(r.page_token(), "p2");
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

}  // namespace
}  // namespace aesignal::client
