// Authentication: which configured principal presented these credentials.
//
// A bearer token (stored only as a salted SHA-256, compared in constant time)
// or the common name of a client certificate the transport's TLS has already
// verified. Transports extract the credentials and call Authenticate; gRPC
// does it in an AuthMetadataProcessor (services/grpc/auth_processor.h).
//
// Thread-safe after construction (immutable).
#ifndef AESIGNAL_SERVICES_ACCESS_AUTHENTICATOR_H_
#define AESIGNAL_SERVICES_ACCESS_AUTHENTICATOR_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/access/caller.h"
#include "services/access/role.h"

namespace aesignal::access {

struct Credentials {
  // The `authorization` header ("Bearer <token>"); may be empty.
  std::string authorization = "";
  // Common names of the caller's verified client certificate, if any.
  std::vector<std::string> cert_common_names = {};
};

class Authenticator {
 public:
  explicit Authenticator(std::vector<Principal> principals);

  // The principal the credentials name (a token first, then a certificate),
  // or UNAUTHENTICATED.
  absl::StatusOr<Caller> Authenticate(const Credentials& credentials) const;

  // The caller for a principal authenticated earlier on this server (a
  // transport that records only the name between authentication and the
  // handler), or nullopt if there is no such principal.
  std::optional<Caller> CallerNamed(absl::string_view name) const;

 private:
  const Principal* ByToken(absl::string_view authorization) const;
  const Principal* ByCommonName(absl::string_view common_name) const;

  std::vector<Principal> principals_;
};

}  // namespace aesignal::access

#endif  // AESIGNAL_SERVICES_ACCESS_AUTHENTICATOR_H_
