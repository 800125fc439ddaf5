// Conversions between gRPC and Abseil statuses for the aesignal client SDK.
//
// The server attaches google.rpc error details (for example a
// google.rpc.BadRequest listing field violations) to its errors; FromGrpc keeps
// them as absl::Status payloads keyed by their type URL, and BadRequestOf
// reads the field violations back.
//
// Pure functions; safe to call from any thread.
#ifndef AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_STATUS_H_
#define AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_STATUS_H_

#include <optional>

#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"
#include "grpcpp/support/status.h"

namespace aesignal::client {

// gRPC status -> absl::Status with the same code and message; every
// google.rpc detail in the status' binary details becomes a payload under its
// type URL (e.g. "type.googleapis.com/google.rpc.BadRequest").
absl::Status FromGrpc(const grpc::Status& status);

// The google.rpc.BadRequest attached to `status`, if any.
std::optional<google::rpc::BadRequest> BadRequestOf(const absl::Status& status);

// Whether a failed call may be retried unchanged: the server did not see it
// or could not process it for a transient reason (UNAVAILABLE, ABORTED).
// Every aesignal RPC is idempotent (reports by report_id + version, trials by
// content, enrollment by version), so retrying these is safe.
bool IsRetryable(const absl::Status& status);

}  // namespace aesignal::client

#endif  // AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_STATUS_H_
