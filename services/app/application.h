// The whole application layer over one domain::Monitor: one facade per v1
// service. A transport holds one Application and adapts each RPC to a call
// of the matching facade (services/grpc/services.h is the gRPC adapter).
//
// Thread-safe. `monitor` must outlive the Application.
#ifndef AESIGNAL_SERVICES_APP_APPLICATION_H_
#define AESIGNAL_SERVICES_APP_APPLICATION_H_

#include "services/app/admin.h"
#include "services/app/audit.h"
#include "services/app/call_context.h"
#include "services/app/dsmb_report.h"
#include "services/app/incidence.h"
#include "services/app/ingest.h"
#include "services/app/signals.h"
#include "services/app/trials.h"
#include "services/domain/monitor.h"

namespace aesignal::app {

struct Application {
  explicit Application(domain::Monitor* monitor)
      : trials(monitor),
        ingest(monitor),
        incidence(monitor),
        signals(monitor),
        audit(monitor),
        admin(monitor),
        reports(&trials, &incidence, &signals, monitor) {}

  TrialsApp trials;
  IngestApp ingest;
  IncidenceApp incidence;
  SignalsApp signals;
  AuditApp audit;
  AdminApp admin;
  DsmbReportApp reports;  // after the facades it reads through
};

}  // namespace aesignal::app

#endif  // AESIGNAL_SERVICES_APP_APPLICATION_H_
