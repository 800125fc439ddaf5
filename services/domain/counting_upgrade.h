// The one-off recount that brings stored counters to the current counting
// rule (incidence_rows.h) when the rule gains a row or changes what a row
// counts.
//
// Reports stored before were not counted in the row as the rule now counts
// them, so the row's subject-term states and counters are recounted from the
// stored reports.
// The store records the rule version its counters follow
// (storage::ReadCountingRulesVersion; a store that never recorded one
// predates the `death` row). Internal to services/domain.
#ifndef AESIGNAL_SERVICES_DOMAIN_COUNTING_UPGRADE_H_
#define AESIGNAL_SERVICES_DOMAIN_COUNTING_UPGRADE_H_

#include "absl/status/statusor.h"
#include "storage/store.h"

namespace aesignal::domain {

// The counting rule's versions: 1, any AE, SAE, grade >= 3, related and the
// AESI rows; 2, also `death`; 3, `related` also counts a report that gives
// no relatedness. Stored: never renumber.
inline constexpr int kCountingRulesVersion = 3;

// Recounts, for every trial, the rows the rule changed since the store's
// recorded version, each trial in one commit that also marks every row of
// the trial for signal re-evaluation (the set of pre-specified rows
// changed); then records kCountingRulesVersion. Idempotent: a run
// interrupted before the version is recorded is run again in full at the
// next start. Returns how many trials were recounted (0 once done), or
// FAILED_PRECONDITION for a store whose counters follow a newer rule than
// this build's (a downgrade would count new reports differently). Run
// before anything reads or writes counters (the Monitor's constructor).
absl::StatusOr<int> UpgradeCountingRules(storage::Store& store);

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_COUNTING_UPGRADE_H_
