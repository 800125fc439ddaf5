#include "services/grpc/auth_processor.h"

#include <string>

#include "absl/strings/match.h"
#include "services/grpc/status.h"

namespace aesignal::grpc_services {
namespace {

std::string AsString(grpc::string_ref value) {
  return std::string(value.data(), value.size());
}

}  // namespace

grpc::Status AuthProcessor::Process(const InputMetadata& auth_metadata,
                                    grpc::AuthContext* context, OutputMetadata*,
                                    OutputMetadata*) {
  access::Credentials credentials{.origin = "gRPC"};
  std::string path;
  for (const auto& [key, value] : auth_metadata) {
    if (key == ":path") path = AsString(value);
    if (key == "authorization") credentials.authorization = AsString(value);
  }
  // Health checks and reflection stay open (probes carry no credentials).
  if (absl::StartsWith(path, "/grpc.")) return grpc::Status::OK;
  if (context != nullptr) {
    for (const auto& cn : context->FindPropertyValues("x509_common_name")) {
      credentials.cert_common_names.push_back(AsString(cn));
    }
  }
  absl::StatusOr<access::Caller> caller =
      authenticator_->Authenticate(credentials);
  if (!caller.ok()) return ToGrpc(caller.status());
  // The call's own auth context (a child of the connection's): handlers
  // read who was authenticated from here instead of deciding again.
  context->AddProperty(kPrincipalProperty, caller->principal);
  return grpc::Status::OK;
}

absl::StatusOr<access::Caller> CallerOf(
    const grpc::ServerContext& context,
    const access::Authenticator* authenticator) {
  if (authenticator != nullptr) {
    const auto auth = context.auth_context();
    if (auth != nullptr) {
      for (const auto& name :
           auth->FindPropertyValues(AuthProcessor::kPrincipalProperty)) {
        if (auto caller = authenticator->CallerNamed(AsString(name))) {
          return *std::move(caller);
        }
      }
    }
    return absl::UnauthenticatedError("call was not authenticated");
  }
  const auto& metadata = context.client_metadata();
  std::optional<std::string> claimed;
  if (auto it = metadata.find("x-aesignal-principal"); it != metadata.end()) {
    claimed = AsString(it->second);
  }
  return access::UnauthenticatedCaller(context.peer(), claimed);
}

}  // namespace aesignal::grpc_services
