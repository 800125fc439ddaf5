// Triage rules shared by signals and signal topics (EMA GVP Module IX
// states): the allowed moves, the request's checks, retries by request id,
// and the event a triage records. Internal to services/domain.
#ifndef AESIGNAL_SERVICES_DOMAIN_TRIAGE_H_
#define AESIGNAL_SERVICES_DOMAIN_TRIAGE_H_

#include <string>

#include "absl/status/statusor.h"
#include "aesignal/v1/signal_service.pb.h"
#include "google/protobuf/repeated_field.h"
#include "services/domain/call_info.h"
#include "storage/store.h"

namespace aesignal::domain {

// A triage names the new status and why (who is the authenticated caller):
// INVALID_ARGUMENT otherwise, or for a request id over 128 characters.
absl::Status CheckTriageRequest(const v1::TriageSignalRequest& request);

// FAILED_PRECONDITION with a PreconditionFailure (type SIGNAL_STATUS,
// subject `name`) unless `from` may move to `to`. `what`: "signal", "topic".
absl::Status CheckTransition(v1::SignalStatus from, v1::SignalStatus to,
                             const char* what, const std::string& name);

// For a retried request (same request_id): true if its change is already in
// `history`; ALREADY_EXISTS (reason REQUEST_ID_REUSED) if the id was used
// for another change.
absl::StatusOr<bool> AlreadyTriaged(
    const google::protobuf::RepeatedPtrField<v1::SignalEvent>& history,
    const v1::TriageSignalRequest& request, const char* what);

// The TRIAGED event of a move from `from`, by `call.principal`.
v1::SignalEvent TriageEvent(v1::SignalStatus from,
                            const v1::TriageSignalRequest& request,
                            const CallInfo& call);

// Appends the audit record of a triage `event` (action "signal.triage" or
// "topic.triage") of `resource` at change `sequence`; why is its comment.
absl::Status AuditTriage(storage::Txn& txn, const std::string& trial_id,
                         const CallInfo& call, const v1::SignalEvent& event,
                         const char* action, const std::string& resource,
                         int64_t sequence);

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_TRIAGE_H_
