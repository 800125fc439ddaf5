#include "services/domain/triage.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "services/domain/common.h"
#include "services/errors/errors.h"
#include "storage/audit.h"

namespace aesignal::domain {
namespace {

constexpr size_t kMaxRequestIdLength = 128;

// The moves a refusal explains.
constexpr char kAllowedTransitions[] =
    " (NEW -> VALIDATED|REFUTED; VALIDATED -> UNDER_ASSESSMENT|CLOSED; "
    "UNDER_ASSESSMENT -> CLOSED; REFUTED -> VALIDATED; CLOSED -> "
    "UNDER_ASSESSMENT)";

bool AllowedTransition(v1::SignalStatus from, v1::SignalStatus to) {
  switch (from) {
    case v1::SIGNAL_STATUS_NEW:
      return to == v1::SIGNAL_STATUS_VALIDATED ||
             to == v1::SIGNAL_STATUS_REFUTED;
    case v1::SIGNAL_STATUS_VALIDATED:
      return to == v1::SIGNAL_STATUS_UNDER_ASSESSMENT ||
             to == v1::SIGNAL_STATUS_CLOSED;
    case v1::SIGNAL_STATUS_UNDER_ASSESSMENT:
      return to == v1::SIGNAL_STATUS_CLOSED;
    case v1::SIGNAL_STATUS_REFUTED:
      return to == v1::SIGNAL_STATUS_VALIDATED;
    case v1::SIGNAL_STATUS_CLOSED:
      return to == v1::SIGNAL_STATUS_UNDER_ASSESSMENT;
    default:
      return false;
  }
}

}  // namespace

absl::Status CheckTriageRequest(const v1::TriageSignalRequest& request) {
  std::vector<errors::FieldViolation> violations;
  if (request.status() == v1::SIGNAL_STATUS_UNSPECIFIED) {
    violations.push_back({"status", "is required"});
  }
  if (request.comment().empty()) {
    violations.push_back({"comment", "is required: say why"});
  }
  if (request.request_id().size() > kMaxRequestIdLength) {
    violations.push_back(
        {"request_id",
         absl::StrCat("at most ", kMaxRequestIdLength, " characters")});
  }
  if (!violations.empty()) return errors::InvalidArgument(violations);
  return absl::OkStatus();
}

absl::Status CheckTransition(v1::SignalStatus from, v1::SignalStatus to,
                             const char* what, const std::string& name) {
  if (AllowedTransition(from, to)) return absl::OkStatus();
  const std::string transition =
      absl::StrCat("a ", v1::SignalStatus_Name(from), " ", what,
                   " cannot move to ", v1::SignalStatus_Name(to));
  return errors::FailedPrecondition(
      absl::StrCat(transition, kAllowedTransitions),
      {{"SIGNAL_STATUS", name, transition}});
}

absl::StatusOr<bool> AlreadyTriaged(
    const google::protobuf::RepeatedPtrField<v1::SignalEvent>& history,
    const v1::TriageSignalRequest& request, const char* what) {
  if (request.request_id().empty()) return false;
  for (const v1::SignalEvent& event : history) {
    if (event.kind() != v1::SignalEvent::KIND_TRIAGED ||
        event.request_id() != request.request_id()) {
      continue;
    }
    if (event.to_status() == request.status() &&
        event.comment() == request.comment()) {
      return true;
    }
    return errors::WithErrorInfo(
        absl::AlreadyExistsError(absl::StrCat(
            "request_id '", request.request_id(),
            "' was already used for another triage of this ", what)),
        "REQUEST_ID_REUSED", {{"request_id", request.request_id()}});
  }
  return false;
}

v1::SignalEvent TriageEvent(v1::SignalStatus from,
                            const v1::TriageSignalRequest& request,
                            const CallInfo& call) {
  v1::SignalEvent event;
  event.set_kind(v1::SignalEvent::KIND_TRIAGED);
  *event.mutable_time() = internal::NowProto();
  event.set_actor(call.principal);
  event.set_display_name(request.display_name());
  event.set_request_id(request.request_id());
  event.set_from_status(from);
  event.set_to_status(request.status());
  event.set_comment(request.comment());
  return event;
}

absl::Status AuditTriage(storage::Txn& txn, const std::string& trial_id,
                         const CallInfo& call, const v1::SignalEvent& event,
                         const char* action, const std::string& resource,
                         int64_t sequence) {
  AESIGNAL_ASSIGN_OR_RETURN(storage::AuditWriter audit,
                            storage::AuditWriter::Begin(txn, trial_id));
  audit.Append(AuditOf(
      call, event.time(), action, resource, static_cast<uint32_t>(sequence),
      absl::StrCat(v1::SignalStatus_Name(event.from_status()), " -> ",
                   v1::SignalStatus_Name(event.to_status()),
                   event.display_name().empty()
                       ? ""
                       : absl::StrCat(" (", event.display_name(), ")")),
      event.comment()));
  return absl::OkStatus();
}

}  // namespace aesignal::domain
