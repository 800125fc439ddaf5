#include "services/app/signals.h"

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/time/clock.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"

namespace aesignal::app {

namespace methods = access::methods;

absl::StatusOr<v1::PutBaselinesResponse> SignalsApp::PutBaselines(
    const CallContext& context, const v1::PutBaselinesRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kPutBaselines));
  return monitor_.signals().PutBaselines(
      request, access::CallOf(context.caller, methods::kPutBaselines));
}

absl::StatusOr<v1::ListBaselinesResponse> SignalsApp::ListBaselines(
    const CallContext& context, const v1::ListBaselinesRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kListBaselines));
  return monitor_.signals().ListBaselines(request);
}

absl::StatusOr<v1::ListSignalsResponse> SignalsApp::ListSignals(
    const CallContext& context, const v1::ListSignalsRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kListSignals));
  return monitor_.signals().ListSignals(request);
}

absl::StatusOr<v1::Signal> SignalsApp::GetSignal(
    const CallContext& context, const v1::GetSignalRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kGetSignal));
  return monitor_.signals().GetSignal(request);
}

absl::StatusOr<v1::Signal> SignalsApp::UpdateSignal(
    const CallContext& context, const v1::UpdateSignalRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kUpdateSignal));
  return monitor_.signals().UpdateSignal(
      request, access::CallOf(context.caller, methods::kUpdateSignal));
}

absl::StatusOr<v1::Baseline> SignalsApp::GetBaseline(
    const CallContext& context, const v1::GetBaselineRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kGetBaseline));
  return monitor_.signals().GetBaseline(request);
}

absl::StatusOr<v1::Signal> SignalsApp::TriageSignal(
    const CallContext& context, const v1::TriageSignalRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kTriageSignal));
  return monitor_.signals().TriageSignal(
      request, access::CallOf(context.caller, methods::kTriageSignal));
}

absl::Status SignalsApp::WatchSignals(const CallContext& context,
                                      const v1::WatchSignalsRequest& request,
                                      const WriteChange& write) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kWatchSignals));
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            domain::ParseTrialName(request.parent(), "parent"));
  v1::GetTrialRequest get;  // NOT_FOUND for an unknown trial, before streaming
  get.set_name(request.parent());
  AESIGNAL_RETURN_IF_ERROR(monitor_.GetTrial(get).status());

  const std::string stream = methods::kWatchSignals.FullName();
  monitor_.metrics().StreamsChanged(stream, +1);
  const absl::Cleanup closed = [&] {
    monitor_.metrics().StreamsChanged(stream, -1);
  };
  int64_t after = request.after_sequence();
  while (!context.Cancelled()) {
    if (absl::Now() >= context.deadline) {
      return absl::DeadlineExceededError("watch deadline reached");
    }
    AESIGNAL_ASSIGN_OR_RETURN(
        auto changes,
        monitor_.signals().WaitForChanges(
            trial_id, after,
            std::min(absl::Now() + kWatchPoll, context.deadline)));
    for (auto& change : changes) {
      v1::WatchSignalsResponse response;
      after = change.signal().change_sequence();
      response.set_change_sequence(after);
      *response.mutable_signal() = std::move(*change.mutable_signal());
      *response.mutable_event() = std::move(*change.mutable_event());
      if (!write(response)) return absl::CancelledError("watcher went away");
    }
  }
  return absl::CancelledError("watch cancelled");
}

}  // namespace aesignal::app
