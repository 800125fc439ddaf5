#include "services/app/incidence.h"

#include "services/domain/validation.h"
#include "services/errors/errors.h"

namespace aesignal::app {

absl::StatusOr<v1::GetIncidenceResponse> IncidenceApp::GetIncidence(
    const CallContext& context, const v1::GetIncidenceRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, access::methods::kGetIncidence));
  AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
  return monitor_.GetIncidence(request);
}

absl::StatusOr<std::vector<v1::GetIncidenceResponse>>
IncidenceApp::GetIncidenceTablesAtCutOff(
    const CallContext& context,
    const std::vector<v1::GetIncidenceRequest>& requests) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, access::methods::kGetIncidence));
  for (const v1::GetIncidenceRequest& request : requests) {
    AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
  }
  return monitor_.GetIncidenceTablesAtCutOff(requests);
}

absl::StatusOr<v1::Report> IncidenceApp::GetReport(
    const CallContext& context, const v1::GetReportRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, access::methods::kGetReport));
  return monitor_.GetReport(
      request, access::CallOf(context.caller, access::methods::kGetReport));
}

absl::StatusOr<v1::ListReportsResponse> IncidenceApp::ListReports(
    const CallContext& context, const v1::ListReportsRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, access::methods::kListReports));
  return monitor_.ListReports(
      request, access::CallOf(context.caller, access::methods::kListReports));
}

absl::StatusOr<v1::ListReportsResponse> IncidenceApp::ListAllReports(
    const CallContext& context, const v1::ListReportsRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, access::methods::kListReports));
  return monitor_.ListAllReports(
      request, access::CallOf(context.caller, access::methods::kListReports));
}

}  // namespace aesignal::app
