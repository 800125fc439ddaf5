#include "services/app/trials.h"

#include "services/domain/validation.h"
#include "services/errors/errors.h"

namespace aesignal::app {

namespace methods = access::methods;

absl::StatusOr<v1::Trial> TrialsApp::CreateTrial(
    const CallContext& context, const v1::CreateTrialRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kCreateTrial));
  AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
  return monitor_.CreateTrial(
      request, access::CallOf(context.caller, methods::kCreateTrial));
}

absl::StatusOr<v1::Trial> TrialsApp::GetTrial(
    const CallContext& context, const v1::GetTrialRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kGetTrial));
  return monitor_.GetTrial(request);
}

absl::StatusOr<v1::ListTrialsResponse> TrialsApp::ListTrials(
    const CallContext& context, const v1::ListTrialsRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kListTrials));
  return monitor_.ListTrials(request);
}

absl::StatusOr<v1::EnrollSubjectsResponse> TrialsApp::EnrollSubjects(
    const CallContext& context, const v1::EnrollSubjectsRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kEnrollSubjects));
  return monitor_.EnrollSubjects(
      request, access::CallOf(context.caller, methods::kEnrollSubjects));
}

absl::StatusOr<v1::ListSubjectsResponse> TrialsApp::ListSubjects(
    const CallContext& context, const v1::ListSubjectsRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kListSubjects));
  return monitor_.ListSubjects(request);
}

absl::StatusOr<v1::Trial> TrialsApp::UpdateTrial(
    const CallContext& context, const v1::UpdateTrialRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kUpdateTrial));
  AESIGNAL_RETURN_IF_ERROR(domain::CheckEnumValues(request));
  return monitor_.UpdateTrial(
      request, access::CallOf(context.caller, methods::kUpdateTrial));
}

absl::StatusOr<v1::Subject> TrialsApp::GetSubject(
    const CallContext& context, const v1::GetSubjectRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kGetSubject));
  return monitor_.GetSubject(
      request, access::CallOf(context.caller, methods::kGetSubject));
}

}  // namespace aesignal::app
