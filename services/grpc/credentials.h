// Server credentials for a listen address: TLS (and mutual TLS) from PEM
// files, with authentication attached; plaintext only on loopback unless the
// operator allows it.
//
// Stateless; thread-safe.
#ifndef AESIGNAL_SERVICES_GRPC_CREDENTIALS_H_
#define AESIGNAL_SERVICES_GRPC_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "services/grpc/auth_processor.h"

namespace aesignal::grpc_services {

struct TlsFiles {
  std::string cert = "";       // server certificate chain (PEM)
  std::string key = "";        // its private key (PEM)
  std::string client_ca = "";  // if set: verify client certificates (mTLS)
  bool require_client_cert = false;  // refuse connections without one
};

// Credentials for `listen`: TLS if files are given (with `auth` attached
// when not null); plaintext only on a loopback address or when
// `allow_insecure` (then a warning is printed). Authentication needs TLS.
// Errors: INVALID_ARGUMENT or FAILED_PRECONDITION for settings that do not
// fit, NOT_FOUND naming the flag of a file that cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const std::string& listen, const TlsFiles& tls, bool allow_insecure,
    const std::shared_ptr<AuthProcessor>& auth);

}  // namespace aesignal::grpc_services

#endif  // AESIGNAL_SERVICES_GRPC_CREDENTIALS_H_
