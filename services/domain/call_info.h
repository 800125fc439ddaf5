// Who is calling and through which RPC: recorded in the audit trail.
#ifndef AESIGNAL_SERVICES_DOMAIN_CALL_INFO_H_
#define AESIGNAL_SERVICES_DOMAIN_CALL_INFO_H_

#include <algorithm>
#include <string>

#include "aesignal/v1/audit_service.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/access/caller.h"

namespace aesignal::domain {

// The caller of one call (services/access/caller.h): the audit trail's
// principal and RPC, and the sites a site principal may write.
using access::CallInfo;

// Whether `call` may see and write data of `site_id`: every site unless the
// caller is restricted to some (a site's principal).
inline bool MayUseSite(const CallInfo& call, const std::string& site_id) {
  return call.sites.empty() || std::find(call.sites.begin(), call.sites.end(),
                                         site_id) != call.sites.end();
}

// An audit record of `call` at `time` (sequence set when appended).
inline v1::AuditRecord AuditOf(const CallInfo& call,
                               const google::protobuf::Timestamp& time,
                               std::string action, std::string resource,
                               uint32_t version, std::string details,
                               std::string reason = "") {
  v1::AuditRecord r;
  *r.mutable_time() = time;
  r.set_principal(call.principal);
  r.set_rpc(call.rpc);
  r.set_action(std::move(action));
  r.set_resource(std::move(resource));
  r.set_version(version);
  r.set_details(std::move(details));
  r.set_reason(std::move(reason));
  return r;
}

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_CALL_INFO_H_
