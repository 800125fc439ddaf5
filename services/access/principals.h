// Transport security and access control for aesignald.
//
// - TLS (and mutual TLS) from PEM files; the server refuses a non-loopback
//   listen address without TLS unless explicitly allowed (insecure).
// - Principals with roles: `site` (enroll subjects and submit reports for its
//   own site_ids only), `safety_officer` (incidence, signals, triage, audit),
//   `admin` (everything). A caller is identified by a bearer token
//   (`authorization: Bearer ...`, stored only as a salted SHA-256) or by the
//   common name of its verified client certificate.
// - Enforcement is one layer: Authenticator is the server's
//   grpc::AuthMetadataProcessor and decides every call (UNAUTHENTICATED,
//   PERMISSION_DENIED by role and RPC) before any handler runs; the site
//   restriction travels to the domain in CallInfo.sites.
//
// Thread-safe after construction.
#ifndef AESIGNAL_SERVICES_GRPC_SECURITY_H_
#define AESIGNAL_SERVICES_GRPC_SECURITY_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_context.h"

namespace aesignal {

enum class Role { kSite, kSafetyOfficer, kAdmin };

struct Principal {
  std::string name = "";
  Role role = Role::kSite;
  std::vector<std::string> sites = {};  // for kSite
  std::string token_sha256 = "";        // "SALT:HEX" of sha256(SALT + token)
  std::string cert_common_name = "";    // mTLS identity
};

// "SALT:HEX" for `token` (for writing principal files; see
// `aesignal admin hash-token`).
std::string HashToken(const std::string& salt, const std::string& token);

// Reads principals from YAML: a list of {name, role, sites, token_sha256,
// cert_common_name}. Errors name the entry and field.
absl::StatusOr<std::vector<Principal>> LoadPrincipals(const std::string& path);

// Whether `role` may call `method` ("IngestService.SubmitReports").
bool RoleAllows(Role role, const std::string& method);

class Authenticator : public grpc::AuthMetadataProcessor {
 public:
  // Auth-context property naming the principal a call was authenticated as.
  static constexpr char kPrincipalProperty[] = "aesignal_principal";

  explicit Authenticator(std::vector<Principal> principals);

  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

  // The principal that Process authenticated this call as, or nullopt.
  std::optional<Principal> Identify(const grpc::ServerContext& context) const;

 private:
  const Principal* ByToken(const std::string& authorization) const;
  const Principal* ByCommonName(const grpc::AuthContext& context) const;

  std::vector<Principal> principals_;
};

struct TlsFiles {
  std::string cert = "";       // server certificate chain (PEM)
  std::string key = "";        // its private key (PEM)
  std::string client_ca = "";  // if set: verify client certificates (mTLS)
  bool require_client_cert = false;  // refuse connections without one
};

// Credentials for `listen`: TLS if files are given (with `authenticator`
// attached when not null); plaintext only on a loopback address or when
// `allow_insecure` (then a warning is printed). Authentication needs TLS.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const std::string& listen, const TlsFiles& tls, bool allow_insecure,
    const std::shared_ptr<Authenticator>& authenticator);

bool IsLoopback(const std::string& listen);

}  // namespace aesignal

#endif  // AESIGNAL_SERVICES_GRPC_SECURITY_H_
