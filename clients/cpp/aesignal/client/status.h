// Conversions between gRPC and Abseil statuses for the aesignal client SDK.
//
// The server attaches google.rpc error details (for example a
// google.rpc.BadRequest listing field violations) to its errors; FromGrpc keeps
// them as absl::Status payloads keyed by their type URL. BadRequestOf reads
// the field violations back (INVALID_ARGUMENT), PreconditionFailureOf the
// precondition violations (FAILED_PRECONDITION, e.g. a refused amendment).
//
// Pure functions; safe to call from any thread.
#ifndef AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_STATUS_H_
#define AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_STATUS_H_

#include <optional>

#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"

namespace aesignal::client {

// gRPC status -> absl::Status with the same code and message; every
// google.rpc detail in the status' binary details becomes a payload under its
// type URL (e.g. "type.googleapis.com/google.rpc.BadRequest").
absl::Status FromGrpc(const grpc::Status& status);

// The same for a google.rpc.Status message, e.g. a rejected report's
// ReportResult.error: BadRequestOf(FromRpcStatus(result.error())).
absl::Status FromRpcStatus(const google::rpc::Status& status);

// The google.rpc.BadRequest attached to `status`, if any.
std::optional<google::rpc::BadRequest> BadRequestOf(const absl::Status& status);

// The google.rpc.PreconditionFailure attached to `status`, if any.
std::optional<google::rpc::PreconditionFailure> PreconditionFailureOf(
    const absl::Status& status);

// Whether a failed call failed for a transient reason (UNAVAILABLE,
// ABORTED), so that sending it again may succeed. Whether that is safe
// depends on the RPC: only idempotent ones are retried (kRetryPolicies in
// aesignal/client/connection.h).
bool IsRetryable(const absl::Status& status);

}  // namespace aesignal::client

#endif  // AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_STATUS_H_
