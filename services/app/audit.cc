#include "services/app/audit.h"

#include "services/errors/errors.h"

namespace aesignal::app {

absl::StatusOr<v1::GetAuditTrailResponse> AuditApp::GetAuditTrail(
    const CallContext& context, const v1::GetAuditTrailRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, access::methods::kGetAuditTrail));
  return monitor_.GetAuditTrail(request);
}

absl::StatusOr<v1::ListAuditRecordsResponse> AuditApp::ListAuditRecords(
    const CallContext& context, const v1::ListAuditRecordsRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(
      BeginCall(context, access::methods::kListAuditRecords));
  // The same read as the deprecated GetAuditTrail, whose messages have the
  // same fields.
  v1::GetAuditTrailRequest trail;
  trail.set_parent(request.parent());
  trail.set_action(request.action());
  trail.set_resource_prefix(request.resource_prefix());
  trail.set_principal(request.principal());
  trail.set_page_size(request.page_size());
  trail.set_page_token(request.page_token());
  AESIGNAL_ASSIGN_OR_RETURN(v1::GetAuditTrailResponse records,
                            monitor_.GetAuditTrail(trail));
  v1::ListAuditRecordsResponse response;
  response.mutable_audit_records()->Swap(records.mutable_records());
  response.set_next_page_token(records.next_page_token());
  return response;
}

}  // namespace aesignal::app
