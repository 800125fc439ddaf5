#include "services/grpc/status.h"

#include <string>

#include "absl/strings/match.h"
#include "google/rpc/status.pb.h"

namespace aesignal::grpc_services {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(status.code()));
  rich.set_message(std::string(status.message()));
  status.ForEachPayload(
      [&](absl::string_view type_url, const absl::Cord& value) {
        if (!absl::StartsWith(type_url, "type.googleapis.com/google.rpc."))
          return;
        auto* any = rich.add_details();
        any->set_type_url(std::string(type_url));
        any->set_value(std::string(value));
      });
  // absl::StatusCode values are the gRPC codes by construction.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()),
                      rich.details().empty() ? "" : rich.SerializeAsString());
}

}  // namespace aesignal::grpc_services
