#include "services/grpc/status.h"

#include <string>

#include "services/errors/status_table.h"

namespace aesignal::grpc_services {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const google::rpc::Status rich = errors::ToRpcStatus(status);
  return grpc::Status(static_cast<grpc::StatusCode>(rich.code()),
                      rich.message(),
                      rich.details().empty() ? "" : rich.SerializeAsString());
}

}  // namespace aesignal::grpc_services
