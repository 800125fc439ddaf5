// TrialService's application facade: trials and subjects.
//
// Thread-safe. `monitor` must outlive the facade.
#ifndef AESIGNAL_SERVICES_APP_TRIALS_H_
#define AESIGNAL_SERVICES_APP_TRIALS_H_

#include "absl/status/statusor.h"
#include "aesignal/v1/trial_service.pb.h"
#include "services/app/call_context.h"
#include "services/domain/monitor.h"

namespace aesignal::app {

class TrialsApp {
 public:
  explicit TrialsApp(domain::Monitor* monitor) : monitor_(*monitor) {}

  absl::StatusOr<v1::Trial> CreateTrial(const CallContext& context,
                                        const v1::CreateTrialRequest& request);
  absl::StatusOr<v1::Trial> GetTrial(const CallContext& context,
                                     const v1::GetTrialRequest& request);
  absl::StatusOr<v1::ListTrialsResponse> ListTrials(
      const CallContext& context, const v1::ListTrialsRequest& request);
  absl::StatusOr<v1::EnrollSubjectsResponse> EnrollSubjects(
      const CallContext& context, const v1::EnrollSubjectsRequest& request);
  absl::StatusOr<v1::ListSubjectsResponse> ListSubjects(
      const CallContext& context, const v1::ListSubjectsRequest& request);
  absl::StatusOr<v1::Trial> UpdateTrial(const CallContext& context,
                                        const v1::UpdateTrialRequest& request);
  absl::StatusOr<v1::Subject> GetSubject(const CallContext& context,
                                         const v1::GetSubjectRequest& request);

 private:
  domain::Monitor& monitor_;
};

}  // namespace aesignal::app

#endif  // AESIGNAL_SERVICES_APP_TRIALS_H_
