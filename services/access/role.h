// Roles and principals: who may call aesignal, as configured by the operator.
//
// Plain values; thread-compatible.
#ifndef AESIGNAL_SERVICES_ACCESS_ROLE_H_
#define AESIGNAL_SERVICES_ACCESS_ROLE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace aesignal::access {

// site: enrols subjects and submits reports for its own site_ids only;
// safety_officer: reads incidence, signals and the audit trail, triages;
// dsmb_member: reads what a Data Safety Monitoring Board reviews (incidence,
//   listings, signals and topics, the DSMB report) and changes nothing;
// admin: everything (policy.h has the table).
enum class Role { kSite, kSafetyOfficer, kDsmbMember, kAdmin };

inline constexpr Role kAllRoles[] = {Role::kSite, Role::kSafetyOfficer,
                                     Role::kDsmbMember, Role::kAdmin};

// "site", "safety_officer", "dsmb_member", "admin".
absl::string_view RoleName(Role role);
std::optional<Role> ParseRole(absl::string_view name);

struct Principal {
  std::string name = "";
  Role role = Role::kSite;
  std::vector<std::string> sites = {};  // for kSite
  std::string token_sha256 = "";        // "SALT:HEX" of sha256(SALT + token)
  std::string cert_common_name = "";    // mTLS identity
};

}  // namespace aesignal::access

#endif  // AESIGNAL_SERVICES_ACCESS_ROLE_H_
