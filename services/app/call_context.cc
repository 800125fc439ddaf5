#include "services/app/call_context.h"

#include "absl/time/clock.h"
#include "services/access/policy.h"

namespace aesignal::app {

absl::Status BeginCall(const CallContext& context,
                       const access::Method& method) {
  if (absl::Status allowed = access::Authorize(context.caller, method);
      !allowed.ok()) {
    return allowed;
  }
  if (context.deadline < absl::Now()) {
    return absl::DeadlineExceededError("deadline passed before the call began");
  }
  if (context.Cancelled()) return absl::CancelledError("call cancelled");
  return absl::OkStatus();
}

}  // namespace aesignal::app
