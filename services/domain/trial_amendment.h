// Protocol amendments (TrialService.UpdateTrial): which changes to a trial
// keep its stored counts, subject states and signals valid. Pure; the
// Monitor stores the result. Internal to services/domain.
#ifndef AESIGNAL_SERVICES_DOMAIN_TRIAL_AMENDMENT_H_
#define AESIGNAL_SERVICES_DOMAIN_TRIAL_AMENDMENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "aesignal/v1/trial.pb.h"
#include "aesignal/v1/trial_service.pb.h"

namespace aesignal::domain {

// The trial id an UpdateTrialRequest names (trial.name or trial.trial_id;
// both must agree when both are set). INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> AmendedTrialId(
    const v1::UpdateTrialRequest& request);

struct Amendment {
  v1::Trial trial;      // the amended trial, validated and normalized
  bool changed = true;  // false: identical to the stored trial (kept as is)
  std::string changes;  // what changed, with the values it replaced (audit)
};

// `stored` amended with the fields `request.update_mask` names. Counter
// rows index dose groups and windows by position, so existing entries must
// keep their position and meaning: groups and timepoints may only be
// appended (a timepoint after the last study day), sites and AESI categories
// only added, labels and names may change, title, policy and the dictionary
// versions and grading (meddra_version, ctcae_version, grading) are
// replaced.
// FAILED_PRECONDITION with a google.rpc.PreconditionFailure (one violation
// per refused change) when it would invalidate stored data; INVALID_ARGUMENT
// for a missing or unknown mask path or an amended trial that is invalid.
// An amendment identical to the stored trial (policies compared as in
// force) is no change: `changed` is false and `trial` the stored one, so an
// identical request is idempotent.
absl::StatusOr<Amendment> AmendTrial(const v1::Trial& stored,
                                     const v1::UpdateTrialRequest& request);

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_TRIAL_AMENDMENT_H_
