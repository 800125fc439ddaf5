#include "services/domain/counting_upgrade.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/domain/common.h"
#include "services/domain/incidence_rows.h"
#include "services/errors/errors.h"
#include "storage/incidence.h"
#include "storage/signals.h"

namespace aesignal::domain {
namespace {

// The rows version `version` of the rule added or changed (for version > 1).
std::vector<storage::TermKey> RowsChangedIn(int version) {
  if (version == 2) return {OverallTerm(kDeath)};
  if (version == 3) return {OverallTerm(kRelated)};
  return {};
}

absl::Status RecountTrial(storage::Txn& txn, const std::string& trial_id,
                          const std::vector<storage::TermKey>& rows) {
  AESIGNAL_ASSIGN_OR_RETURN(v1::Trial trial,
                            internal::LoadTrial(txn, trial_id));
  AESIGNAL_ASSIGN_OR_RETURN(const storage::SubjectGroups groups,
                            internal::ReadSubjectGroups(txn, trial));
  AESIGNAL_RETURN_IF_ERROR(storage::RecountTerms(
      txn, trial_id, trial.timepoints_size(), rows,
      [](const v1::AdverseEventReport& report) { return CountedRows(report); },
      groups));
  // The scan behind MarkAllTermsDirty sees committed rows only; the
  // recounted ones are marked here.
  for (const storage::TermKey& row : rows) {
    AESIGNAL_RETURN_IF_ERROR(
        storage::MarkTermChanged(txn, trial_id, row, nullptr));
  }
  return internal::MarkAllTermsDirty(txn, trial_id, nullptr);
}

}  // namespace

absl::StatusOr<int> UpgradeCountingRules(storage::Store& store) {
  AESIGNAL_ASSIGN_OR_RETURN(int stored,
                            storage::ReadCountingRulesVersion(store.Latest()));
  if (stored > kCountingRulesVersion) {
    // A newer build counted these; this one would count new reports by an
    // older rule beside them.
    return absl::FailedPreconditionError(absl::StrCat(
        "the store's counters follow counting rule version ", stored,
        ", newer than this build's ", kCountingRulesVersion,
        "; open it with the build that wrote it, or a newer one"));
  }
  if (stored == kCountingRulesVersion) return 0;
  std::vector<storage::TermKey> changed;
  for (int v = std::max(stored, 1) + 1; v <= kCountingRulesVersion; ++v) {
    for (storage::TermKey& row : RowsChangedIn(v)) changed.push_back(row);
  }
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<std::string> trial_ids,
                            internal::ReadTrialIds(store.Latest()));
  for (const std::string& trial_id : trial_ids) {
    AESIGNAL_RETURN_IF_ERROR(store.Commit([&](storage::Txn& txn) {
      return RecountTrial(txn, trial_id, changed);
    }));
  }
  AESIGNAL_RETURN_IF_ERROR(store.Commit([](storage::Txn& txn) {
    storage::WriteCountingRulesVersion(txn, kCountingRulesVersion);
    return absl::OkStatus();
  }));
  return static_cast<int>(trial_ids.size());
}

}  // namespace aesignal::domain
