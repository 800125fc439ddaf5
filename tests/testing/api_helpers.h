// Small helpers of the gRPC API tests: the field a refusal names, and a
// data cut-off taken between two moments of a test.
#ifndef AESIGNAL_TESTS_TESTING_API_HELPERS_H_
#define AESIGNAL_TESTS_TESTING_API_HELPERS_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/time/clock.h"
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

}  // namespace aesignal::testing

#endif  // AESIGNAL_TESTS_TESTING_API_HELPERS_H_
