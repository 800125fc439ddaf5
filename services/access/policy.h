// Authorization: which role may call which method of the v1 API.
//
// One table keyed by service and method (policy.cc), used by the application
// layer for every call whatever the transport. The site restriction (a site
// writes only its own site_ids) needs the request's content, so the domain
// applies it from CallInfo::sites.
//
// Stateless; thread-safe.
#ifndef AESIGNAL_SERVICES_ACCESS_POLICY_H_
#define AESIGNAL_SERVICES_ACCESS_POLICY_H_

#include "absl/status/status.h"
#include "services/access/caller.h"
#include "services/access/methods.h"
#include "services/access/role.h"

namespace aesignal::access {

// Whether `role` may call `method`. Admin may call every method; a method
// missing from the table is allowed to nobody else.
bool RoleAllows(Role role, const Method& method);

// OK, or PERMISSION_DENIED ("principal 'x' may not call Service.Method",
// with a google.rpc.ErrorInfo of reason ROLE_NOT_ALLOWED).
absl::Status Authorize(const Caller& caller, const Method& method);

}  // namespace aesignal::access

#endif  // AESIGNAL_SERVICES_ACCESS_POLICY_H_
