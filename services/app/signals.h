// SignalService's application facade: baselines, signals, triage and the
// live watch.
//
// Thread-safe. `monitor` must outlive the facade.
#ifndef AESIGNAL_SERVICES_APP_SIGNALS_H_
#define AESIGNAL_SERVICES_APP_SIGNALS_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "aesignal/v1/signal_service.pb.h"
#include "services/app/call_context.h"
#include "services/domain/monitor.h"

namespace aesignal::app {

class SignalsApp {
 public:
  // How often a watch with nothing to send checks for cancellation and its
  // deadline, so shutdown and departed callers end watches promptly.
  static constexpr absl::Duration kWatchPoll = absl::Milliseconds(500);

  explicit SignalsApp(domain::Monitor* monitor) : monitor_(*monitor) {}

  absl::StatusOr<v1::PutBaselinesResponse> PutBaselines(
      const CallContext& context, const v1::PutBaselinesRequest& request);
  absl::StatusOr<v1::ListBaselinesResponse> ListBaselines(
      const CallContext& context, const v1::ListBaselinesRequest& request);
  absl::StatusOr<v1::ListSignalsResponse> ListSignals(
      const CallContext& context, const v1::ListSignalsRequest& request);
  absl::StatusOr<v1::Signal> GetSignal(const CallContext& context,
                                       const v1::GetSignalRequest& request);
  absl::StatusOr<v1::Baseline> GetBaseline(
      const CallContext& context, const v1::GetBaselineRequest& request);
  absl::StatusOr<v1::Signal> TriageSignal(
      const CallContext& context, const v1::TriageSignalRequest& request);
  absl::StatusOr<v1::Signal> UpdateSignal(
      const CallContext& context, const v1::UpdateSignalRequest& request);

  absl::StatusOr<v1::ListTopicsResponse> ListTopics(
      const CallContext& context, const v1::ListTopicsRequest& request);
  absl::StatusOr<v1::SignalTopic> GetTopic(const CallContext& context,
                                           const v1::GetTopicRequest& request);
  // Every topic ListTopics would list at `as_of`, each as GetTopic gives
  // it, from one replay (domain::SignalBook::GetTopicsAtCutOff); needs the
  // caller's permission for both. Not an RPC: for the DSMB report.
  absl::StatusOr<std::vector<v1::SignalTopic>> GetTopicsAtCutOff(
      const CallContext& context, const v1::ListTopicsRequest& request);
  // Each baseline in its version in force at `as_of`
  // (domain::SignalBook::BaselinesAtCutOff); needs the caller's permission
  // to list baselines. Not an RPC: for the DSMB report.
  absl::StatusOr<std::vector<v1::Baseline>> BaselinesAtCutOff(
      const CallContext& context, const std::string& parent,
      const google::protobuf::Timestamp& as_of);
  // Every pre-specified row evaluated at `as_of`, crossing or not
  // (domain::SignalBook::PrespecifiedAtCutOff); needs the caller's
  // permission to list topics. Not an RPC: for the DSMB report.
  absl::StatusOr<std::vector<v1::SignalTopic>> PrespecifiedAtCutOff(
      const CallContext& context, const v1::ListTopicsRequest& request);
  absl::StatusOr<v1::SignalTopic> TriageTopic(
      const CallContext& context, const v1::TriageTopicRequest& request);
  // As WatchSignals, for topic changes.
  using WriteTopicChange = std::function<bool(const v1::WatchTopicsResponse&)>;
  absl::Status WatchTopics(const CallContext& context,
                           const v1::WatchTopicsRequest& request,
                           const WriteTopicChange& write);

  // Sends one change; false if the caller can no longer receive.
  using WriteChange = std::function<bool(const v1::WatchSignalsResponse&)>;

  // Sends every signal change of the trial after request.after_sequence, in
  // order, as it is committed, until the caller cancels, `write` fails or
  // the deadline passes. Fails before sending anything for a bad parent
  // (INVALID_ARGUMENT) or an unknown trial (NOT_FOUND); otherwise ends
  // CANCELLED (caller gone) or DEADLINE_EXCEEDED.
  absl::Status WatchSignals(const CallContext& context,
                            const v1::WatchSignalsRequest& request,
                            const WriteChange& write);

 private:
  // Authorizes `method`, checks the cursor (INVALID_ARGUMENT if negative)
  // and that the watched trial exists (NOT_FOUND before anything is
  // streamed).
  absl::Status StartWatch(const CallContext& context,
                          const access::Method& method,
                          const std::string& parent, int64_t after_sequence,
                          std::string* trial_id);

  domain::Monitor& monitor_;
};

}  // namespace aesignal::app

#endif  // AESIGNAL_SERVICES_APP_SIGNALS_H_
