#include "services/app/audit.h"

#include "services/errors/errors.h"

namespace aesignal::app {

absl::StatusOr<v1::GetAuditTrailResponse> AuditApp::GetAuditTrail(
    const CallContext& context, const v1::GetAuditTrailRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, access::methods::kGetAuditTrail));
  return monitor_.GetAuditTrail(request);
}

}  // namespace aesignal::app
