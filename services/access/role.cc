#include "services/access/role.h"

namespace aesignal::access {

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kSite:
      return "site";
    case Role::kSafetyOfficer:
      return "safety_officer";
    case Role::kDsmbMember:
      return "dsmb_member";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::optional<Role> ParseRole(absl::string_view name) {
  for (Role role : kAllRoles) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

}  // namespace aesignal::access
