// GenerateDsmbReport: reads everything a DSMB report needs at its data
// cut-off through the other facades (so the report's numbers are, by
// construction, the API's numbers at that cut-off, under the caller's
// authorization), renders it (services/report), and records in the trial's
// audit trail who was given which report before handing it over.
//
// Thread-safe. The facades and the monitor must outlive it.
#ifndef AESIGNAL_SERVICES_APP_DSMB_REPORT_H_
#define AESIGNAL_SERVICES_APP_DSMB_REPORT_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "aesignal/v1/safety_service.pb.h"
#include "services/app/call_context.h"
#include "services/app/incidence.h"
#include "services/app/signals.h"
#include "services/app/trials.h"
#include "services/domain/monitor.h"

namespace aesignal::app {

class DsmbReportApp {
 public:
  // `audit` receives the dsmb_report.generate record of each report given.
  DsmbReportApp(TrialsApp* trials, IncidenceApp* incidence, SignalsApp* signals,
                domain::Monitor* audit,
                std::function<absl::Time()> now = absl::Now)
      : trials_(*trials),
        incidence_(*incidence),
        signals_(*signals),
        audit_(*audit),
        now_(std::move(now)) {}

  absl::StatusOr<v1::DsmbReport> GenerateDsmbReport(
      const CallContext& context, const v1::GenerateDsmbReportRequest& request);

 private:
  TrialsApp& trials_;
  IncidenceApp& incidence_;
  SignalsApp& signals_;
  domain::Monitor& audit_;
  std::function<absl::Time()> now_;
};

}  // namespace aesignal::app

#endif  // AESIGNAL_SERVICES_APP_DSMB_REPORT_H_
