// The one table from an absl::StatusCode to what each transport sends: the
// gRPC code (numerically the same by construction), the HTTP status of the
// google.rpc.Code mapping (as Google's HTTP/JSON APIs use it) and the code's
// canonical name ("NOT_FOUND", for JSON errors). Also the status with its
// details as a google.rpc.Status, built once for every transport.
//
// Stateless; thread-safe.
#ifndef AESIGNAL_SERVICES_ERRORS_STATUS_TABLE_H_
#define AESIGNAL_SERVICES_ERRORS_STATUS_TABLE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/rpc/status.pb.h"

namespace aesignal::errors {

struct StatusMapping {
  absl::StatusCode code;
  int grpc_code;           // grpc::StatusCode
  int http_status;         // e.g. 404
  absl::string_view name;  // e.g. "NOT_FOUND"
};

// The mapping of `code`; codes outside the canonical set map as UNKNOWN.
const StatusMapping& MappingOf(absl::StatusCode code);

// `status` as a google.rpc.Status: code, message, and each payload whose type
// URL names a google.rpc detail (BadRequest, ResourceInfo,
// PreconditionFailure, ErrorInfo, ...) packed as a google.protobuf.Any. An
// error without an ErrorInfo gets one whose reason is its code's name
// (domain aesignal.dev), so every error carries one (AIP-193).
google::rpc::Status ToRpcStatus(const absl::Status& status);

}  // namespace aesignal::errors

#endif  // AESIGNAL_SERVICES_ERRORS_STATUS_TABLE_H_
