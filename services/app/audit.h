// AuditService's application facade: the trial's audit trail.
//
// Thread-safe. `monitor` must outlive the facade.
#ifndef AESIGNAL_SERVICES_APP_AUDIT_H_
#define AESIGNAL_SERVICES_APP_AUDIT_H_

#include "absl/status/statusor.h"
#include "aesignal/v1/audit_service.pb.h"
#include "services/app/call_context.h"
#include "services/domain/monitor.h"

namespace aesignal::app {

class AuditApp {
 public:
  explicit AuditApp(domain::Monitor* monitor) : monitor_(*monitor) {}

  absl::StatusOr<v1::ListAuditRecordsResponse> ListAuditRecords(
      const CallContext& context, const v1::ListAuditRecordsRequest& request);
  // The deprecated name of ListAuditRecords.
  absl::StatusOr<v1::GetAuditTrailResponse> GetAuditTrail(
      const CallContext& context, const v1::GetAuditTrailRequest& request);

 private:
  domain::Monitor& monitor_;
};

}  // namespace aesignal::app

#endif  // AESIGNAL_SERVICES_APP_AUDIT_H_
