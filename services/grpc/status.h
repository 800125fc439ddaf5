// absl::Status -> grpc::Status, done once for every handler, from the one
// status table (services/errors/status_table.h).
//
// The code and message carry over; any payload whose type URL names a
// google.rpc detail (e.g. google.rpc.BadRequest from the domain's field
// violations) is packed as a google.protobuf.Any into a google.rpc.Status in
// the error details, which every gRPC language's rich-error API decodes.
#ifndef AESIGNAL_SERVICES_GRPC_STATUS_H_
#define AESIGNAL_SERVICES_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace aesignal::grpc_services {

grpc::Status ToGrpc(const absl::Status& status);

}  // namespace aesignal::grpc_services

#endif  // AESIGNAL_SERVICES_GRPC_STATUS_H_
