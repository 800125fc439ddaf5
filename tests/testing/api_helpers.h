// Small helpers of the gRPC API tests: the field a refusal names, a data
// cut-off taken between two moments of a test, and the batches a
// StreamReports response acknowledges.
#ifndef AESIGNAL_TESTS_TESTING_API_HELPERS_H_
#define AESIGNAL_TESTS_TESTING_API_HELPERS_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/time/clock.h"
#include "aesignal/v1/ingest_service.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace aesignal::testing {

// The field of the first violation of a status's google.rpc.BadRequest, or
// "" without one.
inline std::string ViolatedField(const grpc::Status& s) {
  google::rpc::Status rich;
  google::rpc::BadRequest bad;
  if (!rich.ParseFromString(s.error_details())) return "";
  for (const auto& any : rich.details()) {
    if (any.UnpackTo(&bad) && bad.field_violations_size() > 0) {
      return bad.field_violations(0).field();
    }
  }
  return "";
}

// The time now, between two short pauses: what the server stored before it
// is earlier and what it stores after it later (the server stamps with its
// clock, this process's). Not protobuf's TimeUtil::GetCurrentTime(), which
// here has whole seconds only.
inline google::protobuf::Timestamp CutOffNow() {
  absl::SleepFor(absl::Milliseconds(5));
  const google::protobuf::Timestamp t =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(absl::Now()));
  absl::SleepFor(absl::Milliseconds(5));
  return t;
}

// Calls visit(batch_id, error, result) once for each batch a StreamReports
// response acknowledges, in order: every entry of its `acknowledgements` (on
// a stream that asked for grouping), or else the response's own fields.
// `error` is null unless the batch was refused as a whole.
template <typename Visit>
void ForEachAcknowledgement(const v1::StreamReportsResponse& response,
                            Visit&& visit) {
  for (const v1::BatchAcknowledgement& ack : response.acknowledgements()) {
    visit(ack.batch_id(), ack.has_error() ? &ack.error() : nullptr,
          ack.result());
  }
  if (response.acknowledgements_size() == 0) {
    visit(response.batch_id(),
          response.has_error() ? &response.error() : nullptr,
          response.result());
  }
}

}  // namespace aesignal::testing

#endif  // AESIGNAL_TESTS_TESTING_API_HELPERS_H_
