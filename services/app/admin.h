// AdminService's application facade: backups and verification.
//
// Thread-safe. `monitor` must outlive the facade.
#ifndef AESIGNAL_SERVICES_APP_ADMIN_H_
#define AESIGNAL_SERVICES_APP_ADMIN_H_

#include "absl/status/statusor.h"
#include "aesignal/v1/admin_service.pb.h"
#include "services/app/call_context.h"
#include "services/domain/monitor.h"

namespace aesignal::app {

class AdminApp {
 public:
  explicit AdminApp(domain::Monitor* monitor) : monitor_(*monitor) {}

  // A consistent copy of the store in request.destination.
  absl::StatusOr<v1::Backup> CreateBackup(
      const CallContext& context, const v1::CreateBackupRequest& request);

  // Recounts the trial's counters from its stored reports and re-evaluates
  // its signals from the counters, and compares both with what is stored:
  // DATA_LOSS naming the first difference, FAILED_PRECONDITION while signal
  // evaluation is still pending.
  absl::StatusOr<v1::VerifyTrialResponse> VerifyTrial(
      const CallContext& context, const v1::VerifyTrialRequest& request);

 private:
  domain::Monitor& monitor_;
};

}  // namespace aesignal::app

#endif  // AESIGNAL_SERVICES_APP_ADMIN_H_
