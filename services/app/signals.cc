#include "services/app/signals.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"

namespace aesignal::app {

namespace methods = access::methods;

absl::StatusOr<v1::PutBaselinesResponse> SignalsApp::PutBaselines(
    const CallContext& context, const v1::PutBaselinesRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kPutBaselines));
  AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
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
  AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
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
  AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
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
  AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
  return monitor_.signals().TriageSignal(
      request, access::CallOf(context.caller, methods::kTriageSignal));
}

namespace {

// Runs a watch: `next(after, until)` returns the changes after a sequence
// (waiting until `until`), `send` sends one and returns its sequence, or
// nullopt if the caller went away. Ends CANCELLED or DEADLINE_EXCEEDED.
template <typename Change, typename Next, typename Send>
absl::Status RunWatch(const CallContext& context, int64_t after, Next next,
                      Send send) {
  while (!context.Cancelled()) {
    if (absl::Now() >= context.deadline) {
      return absl::DeadlineExceededError("watch deadline reached");
    }
    AESIGNAL_ASSIGN_OR_RETURN(
        std::vector<Change> changes,
        next(after,
             std::min(absl::Now() + SignalsApp::kWatchPoll, context.deadline)));
    for (Change& change : changes) {
      std::optional<int64_t> sent = send(change);
      if (!sent.has_value()) return absl::CancelledError("watcher went away");
      after = *sent;
    }
  }
  return absl::CancelledError("watch cancelled");
}

}  // namespace

absl::Status SignalsApp::StartWatch(const CallContext& context,
                                    const access::Method& method,
                                    const std::string& parent,
                                    int64_t after_sequence,
                                    std::string* trial_id) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, method));
  AESIGNAL_ASSIGN_OR_RETURN(*trial_id,
                            domain::ParseTrialName(parent, "parent"));
  // A negative cursor would sort past every stored change and wait for ever.
  if (after_sequence < 0) {
    return errors::InvalidArgument(
        "after_sequence",
        absl::StrCat(after_sequence,
                     " is negative: 0 watches from the first change"));
  }
  v1::GetTrialRequest get;  // NOT_FOUND for an unknown trial, before streaming
  get.set_name(parent);
  return monitor_.GetTrial(get).status();
}

absl::Status SignalsApp::WatchSignals(const CallContext& context,
                                      const v1::WatchSignalsRequest& request,
                                      const WriteChange& write) {
  std::string trial_id;
  AESIGNAL_RETURN_IF_ERROR(StartWatch(context, methods::kWatchSignals,
                                      request.parent(),
                                      request.after_sequence(), &trial_id));
  const std::string stream = methods::kWatchSignals.FullName();
  monitor_.metrics().StreamsChanged(stream, +1);
  const absl::Cleanup closed = [&] {
    monitor_.metrics().StreamsChanged(stream, -1);
  };
  return RunWatch<storage::SignalChange>(
      context, request.after_sequence(),
      [&](int64_t after, absl::Time until) {
        return monitor_.signals().WaitForChanges(trial_id, after, until);
      },
      [&](storage::SignalChange& change) -> std::optional<int64_t> {
        v1::WatchSignalsResponse response;
        const int64_t sequence = change.signal().change_sequence();
        response.set_change_sequence(sequence);
        *response.mutable_signal() = std::move(*change.mutable_signal());
        *response.mutable_event() = std::move(*change.mutable_event());
        if (!write(response)) return std::nullopt;
        return sequence;
      });
}

absl::Status SignalsApp::WatchTopics(const CallContext& context,
                                     const v1::WatchTopicsRequest& request,
                                     const WriteTopicChange& write) {
  std::string trial_id;
  AESIGNAL_RETURN_IF_ERROR(StartWatch(context, methods::kWatchTopics,
                                      request.parent(),
                                      request.after_sequence(), &trial_id));
  const std::string stream = methods::kWatchTopics.FullName();
  monitor_.metrics().StreamsChanged(stream, +1);
  const absl::Cleanup closed = [&] {
    monitor_.metrics().StreamsChanged(stream, -1);
  };
  return RunWatch<v1::WatchTopicsResponse>(
      context, request.after_sequence(),
      [&](int64_t after, absl::Time until) {
        return monitor_.signals().WaitForTopicChanges(trial_id, after, until);
      },
      [&](v1::WatchTopicsResponse& change) -> std::optional<int64_t> {
        if (!write(change)) return std::nullopt;
        return change.change_sequence();
      });
}

absl::StatusOr<v1::ListTopicsResponse> SignalsApp::ListTopics(
    const CallContext& context, const v1::ListTopicsRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kListTopics));
  AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
  return monitor_.signals().ListTopics(request);
}

absl::StatusOr<v1::SignalTopic> SignalsApp::GetTopic(
    const CallContext& context, const v1::GetTopicRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kGetTopic));
  return monitor_.signals().GetTopic(request);
}

absl::StatusOr<std::vector<v1::SignalTopic>> SignalsApp::GetTopicsAtCutOff(
    const CallContext& context, const v1::ListTopicsRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kListTopics));
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kGetTopic));
  AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
  return monitor_.signals().GetTopicsAtCutOff(request);
}

absl::StatusOr<std::vector<v1::Baseline>> SignalsApp::BaselinesAtCutOff(
    const CallContext& context, const std::string& parent,
    const google::protobuf::Timestamp& as_of) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kListBaselines));
  return monitor_.signals().BaselinesAtCutOff(parent, as_of);
}

absl::StatusOr<std::vector<v1::SignalTopic>> SignalsApp::PrespecifiedAtCutOff(
    const CallContext& context, const v1::ListTopicsRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kListTopics));
  AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
  return monitor_.signals().PrespecifiedAtCutOff(request);
}

absl::StatusOr<v1::SignalTopic> SignalsApp::TriageTopic(
    const CallContext& context, const v1::TriageTopicRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kTriageTopic));
  AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
  return monitor_.signals().TriageTopic(
      request, access::CallOf(context.caller, methods::kTriageTopic));
}

}  // namespace aesignal::app
