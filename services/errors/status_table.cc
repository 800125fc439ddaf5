#include "services/errors/status_table.h"

#include <array>
#include <string>

#include "absl/strings/match.h"
#include "services/errors/errors.h"

namespace aesignal::errors {
namespace {

using C = absl::StatusCode;

// HTTP statuses as in google/rpc/code.proto. Indexed by code (0-16).
constexpr std::array<StatusMapping, 17> kTable = {{
    {C::kOk, 0, 200, "OK"},
    {C::kCancelled, 1, 499, "CANCELLED"},
    {C::kUnknown, 2, 500, "UNKNOWN"},
    {C::kInvalidArgument, 3, 400, "INVALID_ARGUMENT"},
    {C::kDeadlineExceeded, 4, 504, "DEADLINE_EXCEEDED"},
    {C::kNotFound, 5, 404, "NOT_FOUND"},
    {C::kAlreadyExists, 6, 409, "ALREADY_EXISTS"},
    {C::kPermissionDenied, 7, 403, "PERMISSION_DENIED"},
    {C::kResourceExhausted, 8, 429, "RESOURCE_EXHAUSTED"},
    {C::kFailedPrecondition, 9, 400, "FAILED_PRECONDITION"},
    {C::kAborted, 10, 409, "ABORTED"},
    {C::kOutOfRange, 11, 400, "OUT_OF_RANGE"},
    {C::kUnimplemented, 12, 501, "UNIMPLEMENTED"},
    {C::kInternal, 13, 500, "INTERNAL"},
    {C::kUnavailable, 14, 503, "UNAVAILABLE"},
    {C::kDataLoss, 15, 500, "DATA_LOSS"},
    {C::kUnauthenticated, 16, 401, "UNAUTHENTICATED"},
}};

constexpr bool TableIsIndexedByCode() {
  for (size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<size_t>(kTable[i].code) != i) return false;
    if (static_cast<size_t>(kTable[i].grpc_code) != i) return false;
  }
  return true;
}
static_assert(TableIsIndexedByCode(),
              "absl and gRPC codes are the google.rpc codes 0-16, in order");

}  // namespace

const StatusMapping& MappingOf(absl::StatusCode code) {
  const auto index = static_cast<size_t>(code);
  return index < kTable.size() ? kTable[index]
                               : kTable[static_cast<size_t>(C::kUnknown)];
}

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  if (!status.ok() && !status.GetPayload(kErrorInfoTypeUrl).has_value()) {
    // Every error carries an ErrorInfo (AIP-193); where no layer named a
    // more specific cause, the reason is the code's name.
    return ToRpcStatus(
        WithErrorInfo(status, std::string(MappingOf(status.code()).name)));
  }
  google::rpc::Status rich;
  rich.set_code(MappingOf(status.code()).grpc_code);
  rich.set_message(std::string(status.message()));
  status.ForEachPayload(
      [&](absl::string_view type_url, const absl::Cord& value) {
        if (!absl::StartsWith(type_url, "type.googleapis.com/google.rpc.")) {
          return;
        }
        auto* any = rich.add_details();
        any->set_type_url(std::string(type_url));
        any->set_value(std::string(value));
      });
  return rich;
}

}  // namespace aesignal::errors
