// Evaluating the term rows of one trial, shared by the signal evaluator's
// rounds (SignalBook::EvaluateRound) and by SignalBook::VerifySignals: what
// a row's cells give and what recording that would change are decided here
// once, so verification re-runs the evaluator's own code against a recount
// of the counters instead of a copy of it.
//
// Internal to services/domain. Pure apart from ReadTrialEvaluation, which
// reads through the given view.
#ifndef AESIGNAL_SERVICES_DOMAIN_ROW_EVALUATION_H_
#define AESIGNAL_SERVICES_DOMAIN_ROW_EVALUATION_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "aesignal/v1/signal.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "services/domain/common.h"
#include "services/domain/denominator_cache.h"
#include "services/domain/evaluate.h"
#include "storage/incidence.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace aesignal::domain {

// What evaluating any row of one trial needs, read from one snapshot.
struct TrialEvaluation {
  v1::Trial trial;
  v1::SignalPolicy policy;  // effective: defaults filled in
  std::vector<v1::Baseline> baselines;
  internal::Denominators denominators;
  // Trial-wide error control: the number of pre-specified rows.
  int prespecified_rows = 1;
  // Once SetScreening has run (ScreensPts): trial-wide, each screening PT
  // row's double-FDR adjusted p; per test with screening_fdr, each PT row's
  // adjusted control-arm p-values. By encoded term; else empty.
  std::map<std::string, double> screened_rows;
  std::map<std::string, AdjustedP> screening;
};

// Reads the trial, its effective policy, its baselines and its denominators
// (through `cache` with `probe`, taken before `view`, if a cache is given).
absl::StatusOr<TrialEvaluation> ReadTrialEvaluation(
    const storage::ReadView& view, const std::string& trial_id,
    DenominatorCache* cache = nullptr,
    const DenominatorCache::Probe& probe = {});

// Whether the trial screens PT rows with the double FDR (trial-wide error
// control with a control arm or 3+ dose groups to compare, or screening_fdr
// per test): then one PT row's counts move every PT row's decisions, and
// every PT row is evaluated together.
bool ScreensPts(const TrialEvaluation& evaluation);

// Sets evaluation->screened_rows or ->screening from every PT row of the
// trial.
absl::Status SetScreening(const std::vector<storage::TermCounters>& pts,
                          TrialEvaluation* evaluation);

// Every evaluated cell of one row: EvaluateTerm with the baselines of the
// row and, for a PT row under screening, its adjusted p-values.
absl::StatusOr<std::vector<Finding>> EvaluateRow(
    const TrialEvaluation& evaluation, const storage::TermCounters& row);

// What recording a finding changes, given its cell's stored signal.
enum class CellChange {
  kNone,            // no signal and no crossing, or the same numbers
  kRaise,           // crosses and no signal yet: a new signal
  kUpdateEvidence,  // a signal whose numbers differ: new evidence
};
CellChange ChangeFor(const Finding& finding, const v1::Signal* stored);

// The term row a baseline applies to.
storage::TermKey TermOf(const v1::Baseline& baseline);

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_ROW_EVALUATION_H_
