// SafetyService's application facade: incidence tables and report listings.
//
// Thread-safe. `monitor` must outlive the facade.
#ifndef AESIGNAL_SERVICES_APP_INCIDENCE_H_
#define AESIGNAL_SERVICES_APP_INCIDENCE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "aesignal/v1/safety_service.pb.h"
#include "services/app/call_context.h"
#include "services/domain/monitor.h"

namespace aesignal::app {

class IncidenceApp {
 public:
  explicit IncidenceApp(domain::Monitor* monitor) : monitor_(*monitor) {}

  absl::StatusOr<v1::GetIncidenceResponse> GetIncidence(
      const CallContext& context, const v1::GetIncidenceRequest& request);
  // Whole tables at one data cut-off read together (Monitor::
  // GetIncidenceTablesAtCutOff), under GetIncidence's permission: for
  // server-side readers such as the DSMB report, not an RPC.
  absl::StatusOr<std::vector<v1::GetIncidenceResponse>>
  GetIncidenceTablesAtCutOff(
      const CallContext& context,
      const std::vector<v1::GetIncidenceRequest>& requests);
  // Report read-back; a caller restricted to sites sees only its sites.
  absl::StatusOr<v1::Report> GetReport(const CallContext& context,
                                       const v1::GetReportRequest& request);
  absl::StatusOr<v1::ListReportsResponse> ListReports(
      const CallContext& context, const v1::ListReportsRequest& request);
  // Every page of ListReports as one response, read in one pass (Monitor::
  // ListAllReports), under ListReports' permission: for server-side readers
  // such as the DSMB report, not an RPC.
  absl::StatusOr<v1::ListReportsResponse> ListAllReports(
      const CallContext& context, const v1::ListReportsRequest& request);

 private:
  domain::Monitor& monitor_;
};

}  // namespace aesignal::app

#endif  // AESIGNAL_SERVICES_APP_INCIDENCE_H_
