#include "services/app/admin.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"
#include "services/log/log.h"

namespace aesignal::app {

namespace methods = access::methods;

absl::StatusOr<v1::Backup> AdminApp::CreateBackup(
    const CallContext& context, const v1::CreateBackupRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kCreateBackup));
  // A backup copies every trial's data and changes none, so no trial's audit
  // trail records it: the server's log does, with who asked and where to.
  const absl::Time start = absl::Now();
  const absl::Status made = monitor_.CreateBackup(request.destination());
  log::Line(absl::StrCat(
      "backup of the store to '", request.destination(),
      "' asked by principal '", context.caller.principal, "': ",
      made.ok() ? absl::StrCat("done in ",
                               absl::FormatDuration(absl::Trunc(
                                   absl::Now() - start, absl::Milliseconds(1))))
                : absl::StrCat("failed: ", log::StatusText(made))));
  AESIGNAL_RETURN_IF_ERROR(made);
  v1::Backup backup;
  backup.set_destination(request.destination());
  *backup.mutable_create_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(absl::Now()));
  return backup;
}

absl::StatusOr<v1::VerifyTrialResponse> AdminApp::VerifyTrial(
    const CallContext& context, const v1::VerifyTrialRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kVerifyTrial));
  AESIGNAL_ASSIGN_OR_RETURN(std::string trial_id,
                            domain::ParseTrialName(request.name(), "name"));
  AESIGNAL_ASSIGN_OR_RETURN(storage::VerifySummary recount,
                            monitor_.VerifyCounters(trial_id));
  AESIGNAL_ASSIGN_OR_RETURN(int signals,
                            monitor_.signals().VerifySignals(trial_id));
  v1::VerifyTrialResponse response;
  response.set_result(absl::StrCat(
      "counters equal a recount from the stored reports (", recount.reports,
      " reports, ", recount.states, " subject-term states, ",
      recount.counter_rows, " counter rows; ", recount.passes,
      recount.passes == 1 ? " pass" : " passes", "); ", signals,
      " signals equal a re-evaluation of the counters"));
  return response;
}

}  // namespace aesignal::app
