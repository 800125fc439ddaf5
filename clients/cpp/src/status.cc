#include "aesignal/client/status.h"

#include <string>

#include "absl/strings/cord.h"
#include "google/rpc/status.pb.h"

namespace aesignal::client {
namespace {
constexpr char kBadRequestType[] = "type.googleapis.com/google.rpc.BadRequest";
constexpr char kPreconditionFailureType[] =
    "type.googleapis.com/google.rpc.PreconditionFailure";

// The detail of type `Detail` stored under `type_url`, if any.
template <typename Detail>
std::optional<Detail> DetailOf(const absl::Status& status,
                               const char* type_url) {
  auto payload = status.GetPayload(type_url);
  if (!payload.has_value()) return std::nullopt;
  Detail detail;
  if (!detail.ParseFromString(std::string(*payload))) return std::nullopt;
  return detail;
}

}  // namespace

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  google::rpc::Status rich;
  if (status.error_details().empty() ||
      !rich.ParseFromString(status.error_details())) {
    rich.clear_details();
  }
  // gRPC and absl share code numbering by construction.
  rich.set_code(static_cast<int>(status.error_code()));
  rich.set_message(status.error_message());
  return FromRpcStatus(rich);
}

absl::Status FromRpcStatus(const google::rpc::Status& status) {
  if (status.code() == 0) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.code()),
                      status.message());
  for (const auto& any : status.details()) {
    result.SetPayload(any.type_url(), absl::Cord(any.value()));
  }
  return result;
}

std::optional<google::rpc::BadRequest> BadRequestOf(
    const absl::Status& status) {
  return DetailOf<google::rpc::BadRequest>(status, kBadRequestType);
}

std::optional<google::rpc::PreconditionFailure> PreconditionFailureOf(
    const absl::Status& status) {
  return DetailOf<google::rpc::PreconditionFailure>(status,
                                                    kPreconditionFailureType);
}

bool IsRetryable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kAborted;
}

}  // namespace aesignal::client
