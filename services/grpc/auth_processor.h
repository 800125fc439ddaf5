// gRPC's side of authentication: extracts credentials from call metadata and
// the TLS auth context, and hands them to access::Authenticator.
//
// AuthProcessor runs before any handler (as the server credentials'
// AuthMetadataProcessor): an aesignal call without valid credentials ends
// UNAUTHENTICATED there; grpc.* services (health, reflection) stay open for
// probes and tooling. Authorization is not decided here: the application
// layer authorizes every call, whatever the transport.
//
// Thread-safe after construction.
#ifndef AESIGNAL_SERVICES_GRPC_AUTH_PROCESSOR_H_
#define AESIGNAL_SERVICES_GRPC_AUTH_PROCESSOR_H_

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/server_context.h"
#include "services/access/authenticator.h"
#include "services/access/caller.h"

namespace aesignal::grpc_services {

class AuthProcessor : public grpc::AuthMetadataProcessor {
 public:
  // Auth-context property naming the principal a call was authenticated as.
  static constexpr char kPrincipalProperty[] = "aesignal_principal";

  // `authenticator` must not be null.
  explicit AuthProcessor(
      std::shared_ptr<const access::Authenticator> authenticator)
      : authenticator_(std::move(authenticator)) {}

  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  std::shared_ptr<const access::Authenticator> authenticator_;
};

// The caller of a call, for handlers. With authentication on
// (`authenticator` not null): the principal AuthProcessor recorded, or
// UNAUTHENTICATED if it recorded none (fail closed). Without:
// access::UnauthenticatedCaller of the peer and its `x-aesignal-principal`
// claim (honoured only from loopback).
absl::StatusOr<access::Caller> CallerOf(
    const grpc::ServerContext& context,
    const access::Authenticator* authenticator);

}  // namespace aesignal::grpc_services

#endif  // AESIGNAL_SERVICES_GRPC_AUTH_PROCESSOR_H_
