#include "services/app/incidence.h"

#include "services/errors/errors.h"

namespace aesignal::app {

absl::StatusOr<v1::GetIncidenceResponse> IncidenceApp::GetIncidence(
    const CallContext& context, const v1::GetIncidenceRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, access::methods::kGetIncidence));
  return monitor_.GetIncidence(request);
}

}  // namespace aesignal::app
