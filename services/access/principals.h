// Principals from the operator's YAML file, and the salted token hash they
// store.
//
// Stateless; thread-safe.
#ifndef AESIGNAL_SERVICES_ACCESS_PRINCIPALS_H_
#define AESIGNAL_SERVICES_ACCESS_PRINCIPALS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/access/role.h"

namespace aesignal::access {

// "SALT:HEX" for `token` (for writing principal files; see
// `aesignal admin hash-token`).
std::string HashToken(const std::string& salt, const std::string& token);

// Reads principals from YAML: a list of {name, role, sites, token_sha256,
// cert_common_name}. Errors name the entry and field.
absl::StatusOr<std::vector<Principal>> LoadPrincipals(const std::string& path);

}  // namespace aesignal::access

#endif  // AESIGNAL_SERVICES_ACCESS_PRINCIPALS_H_
