// Who is calling and through which RPC: recorded in the audit trail.
#ifndef AESIGNAL_SERVICES_MONITOR_CALL_INFO_H_
#define AESIGNAL_SERVICES_MONITOR_CALL_INFO_H_

#include <string>
#include <vector>

#include "aesignal/v1/audit_service.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace aesignal::monitor {

struct CallInfo {
  std::string principal = "unknown";
  std::string rpc;
  // Sites the caller may write (a `site` principal); empty: no restriction.
  std::vector<std::string> sites = {};
};

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

}  // namespace aesignal::monitor

#endif  // AESIGNAL_SERVICES_MONITOR_CALL_INFO_H_
