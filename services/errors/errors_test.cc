#include "services/errors/errors.h"

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "services/errors/status_table.h"

namespace aesignal::errors {
namespace {

using ::testing::ElementsAre;

TEST(StatusTableTest, MapsEveryCanonicalCodeOnce) {
  EXPECT_EQ(MappingOf(absl::StatusCode::kOk).http_status, 200);
  EXPECT_EQ(MappingOf(absl::StatusCode::kInvalidArgument).http_status, 400);
  EXPECT_EQ(MappingOf(absl::StatusCode::kFailedPrecondition).http_status, 400);
  EXPECT_EQ(MappingOf(absl::StatusCode::kUnauthenticated).http_status, 401);
  EXPECT_EQ(MappingOf(absl::StatusCode::kPermissionDenied).http_status, 403);
  EXPECT_EQ(MappingOf(absl::StatusCode::kNotFound).http_status, 404);
  EXPECT_EQ(MappingOf(absl::StatusCode::kAlreadyExists).http_status, 409);
  EXPECT_EQ(MappingOf(absl::StatusCode::kResourceExhausted).http_status, 429);
  EXPECT_EQ(MappingOf(absl::StatusCode::kCancelled).http_status, 499);
  EXPECT_EQ(MappingOf(absl::StatusCode::kDataLoss).http_status, 500);
  EXPECT_EQ(MappingOf(absl::StatusCode::kUnavailable).http_status, 503);
  EXPECT_EQ(MappingOf(absl::StatusCode::kDeadlineExceeded).http_status, 504);
  EXPECT_EQ(MappingOf(absl::StatusCode::kNotFound).grpc_code, 5);
  EXPECT_EQ(MappingOf(absl::StatusCode::kNotFound).name, "NOT_FOUND");
  EXPECT_EQ(MappingOf(absl::StatusCode::kUnauthenticated).grpc_code, 16);
}

TEST(StatusTableTest, NonCanonicalCodeIsUnknown) {
  const auto& mapping = MappingOf(static_cast<absl::StatusCode>(42));
  EXPECT_EQ(mapping.name, "UNKNOWN");
  EXPECT_EQ(mapping.http_status, 500);
}

TEST(ErrorsTest, InvalidArgumentCarriesBadRequest) {
  absl::Status status =
      InvalidArgument({{"reports[0].grade", "must be 1-5"}, {"pt", "empty"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "reports[0].grade: must be 1-5; pt: empty");
  EXPECT_THAT(ViolationsOf(status),
              ElementsAre(FieldViolation{"reports[0].grade", "must be 1-5"},
                          FieldViolation{"pt", "empty"}));
  EXPECT_THAT(ViolatedFields(status), ElementsAre("reports[0].grade", "pt"));
  EXPECT_THAT(ViolatedFields(absl::NotFoundError("x")), ElementsAre());
}

TEST(ErrorsTest, RpcStatusPacksEveryGoogleRpcDetail) {
  absl::Status status = WithErrorInfo(
      FailedPrecondition("no", {{"SIGNAL_STATUS", "trials/T/signals/1",
                                 "CLOSED cannot move to NEW"}}),
      "BAD_TRANSITION", {{"from", "CLOSED"}});
  status.SetPayload("type.example/not.rpc", absl::Cord("dropped"));
  const google::rpc::Status rich = ToRpcStatus(status);
  EXPECT_EQ(rich.code(), 9);
  EXPECT_EQ(rich.message(), "no");
  ASSERT_EQ(rich.details_size(), 2);
  google::rpc::PreconditionFailure failure;
  google::rpc::ErrorInfo info;
  for (const auto& any : rich.details()) {
    if (any.type_url() == kPreconditionFailureTypeUrl) {
      ASSERT_TRUE(failure.ParseFromString(any.value()));
    } else {
      ASSERT_EQ(any.type_url(), kErrorInfoTypeUrl);
      ASSERT_TRUE(info.ParseFromString(any.value()));
    }
  }
  ASSERT_EQ(failure.violations_size(), 1);
  EXPECT_EQ(failure.violations(0).subject(), "trials/T/signals/1");
  EXPECT_EQ(info.reason(), "BAD_TRANSITION");
  EXPECT_EQ(info.domain(), kErrorDomain);
  EXPECT_EQ(info.metadata().at("from"), "CLOSED");
}

// The ErrorInfo among a status's rich details (reason empty if none).
google::rpc::ErrorInfo ErrorInfoOf(const google::rpc::Status& rich) {
  google::rpc::ErrorInfo info;
  for (const auto& any : rich.details()) {
    if (any.type_url() == kErrorInfoTypeUrl) {
      EXPECT_TRUE(info.ParseFromString(any.value()));
    }
  }
  return info;
}

TEST(ErrorsTest, NotFoundNamesTheResource) {
  absl::Status status = NotFound("trial", "NCT9");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "trial 'NCT9' not found");
  const google::rpc::Status rich = ToRpcStatus(status);
  ASSERT_EQ(rich.details_size(), 2);
  google::rpc::ResourceInfo info;
  for (const auto& any : rich.details()) {
    if (any.type_url() == kResourceInfoTypeUrl) {
      ASSERT_TRUE(info.ParseFromString(any.value()));
    }
  }
  EXPECT_EQ(info.resource_type(), "trial");
  EXPECT_EQ(info.resource_name(), "NCT9");
  EXPECT_EQ(ErrorInfoOf(rich).reason(), "TRIAL_NOT_FOUND");
  EXPECT_EQ(ErrorInfoOf(rich).metadata().at("resource"), "NCT9");
}

TEST(ErrorsTest, EveryErrorCarriesAnErrorInfo) {
  EXPECT_EQ(ErrorInfoOf(ToRpcStatus(InvalidArgument("pt", "empty"))).reason(),
            "FIELD_VIOLATIONS");
  EXPECT_EQ(
      ErrorInfoOf(ToRpcStatus(AlreadyExists("trial", "T", "differs"))).reason(),
      "TRIAL_ALREADY_EXISTS");
  EXPECT_EQ(
      ErrorInfoOf(ToRpcStatus(FailedPrecondition("x", {{"A_B", "s", "d"}})))
          .reason(),
      "A_B");
  // No layer named a cause: the code's name, in aesignal's domain.
  const google::rpc::ErrorInfo fallback =
      ErrorInfoOf(ToRpcStatus(absl::UnavailableError("disk")));
  EXPECT_EQ(fallback.reason(), "UNAVAILABLE");
  EXPECT_EQ(fallback.domain(), kErrorDomain);
  // A specific reason is not replaced.
  EXPECT_EQ(ErrorInfoOf(ToRpcStatus(WithErrorInfo(
                            absl::UnavailableError("disk"), "DISK_FULL")))
                .reason(),
            "DISK_FULL");
}

TEST(ErrorsTest, ErrorInfoOnOkStaysOk) {
  EXPECT_TRUE(WithErrorInfo(absl::OkStatus(), "X").ok());
  EXPECT_EQ(ToRpcStatus(absl::OkStatus()).details_size(), 0);
  EXPECT_EQ(ToRpcStatus(absl::OkStatus()).code(), 0);
}

}  // namespace
}  // namespace aesignal::errors
