// What a transport tells the application layer about one call: who is
// calling (already authenticated), until when, and whether the caller has
// gone away.
//
// A plain value; `is_cancelled` must be safe to call from any thread for as
// long as the call runs.
#ifndef AESIGNAL_SERVICES_APP_CALL_CONTEXT_H_
#define AESIGNAL_SERVICES_APP_CALL_CONTEXT_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/access/caller.h"
#include "services/access/methods.h"

namespace aesignal::app {

struct CallContext {
  access::Caller caller = {};
  absl::Time deadline = absl::InfiniteFuture();
  // Whether the caller cancelled or disconnected; empty: never.
  std::function<bool()> is_cancelled = nullptr;

  bool Cancelled() const { return is_cancelled && is_cancelled(); }
};

// The start of every facade method: PERMISSION_DENIED if the caller's role
// may not call `method` (access/policy.h), DEADLINE_EXCEEDED if the deadline
// has already passed, CANCELLED if the caller has gone; else OK.
absl::Status BeginCall(const CallContext& context,
                       const access::Method& method);

}  // namespace aesignal::app

#endif  // AESIGNAL_SERVICES_APP_CALL_CONTEXT_H_
