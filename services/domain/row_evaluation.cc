#include "services/domain/row_evaluation.h"

#include <utility>

#include "services/errors/errors.h"
#include "storage/signals.h"

namespace aesignal::domain {
namespace {

using storage::Level;
using storage::TermKey;

// Whether two evidences carry the same numbers (what a signal's evidence is
// compared on: not its summary, report or evaluation time).
bool SameNumbers(const v1::Evidence& a, const v1::Evidence& b) {
  return a.crosses() == b.crosses() && a.subjects() == b.subjects() &&
         a.denominator() == b.denominator() && a.p_value() == b.p_value() &&
         a.posterior_probability() == b.posterior_probability() &&
         a.statistic() == b.statistic() &&
         a.comparison_subjects() == b.comparison_subjects() &&
         a.comparison_denominator() == b.comparison_denominator() &&
         a.expected_proportion() == b.expected_proportion() &&
         a.baseline_version() == b.baseline_version() &&
         a.threshold() == b.threshold() &&
         a.adjusted_p_value() == b.adjusted_p_value() &&
         a.multiplicity() == b.multiplicity() &&
         a.decision_note() == b.decision_note();
}

}  // namespace

absl::StatusOr<TrialEvaluation> ReadTrialEvaluation(
    const storage::ReadView& view, const std::string& trial_id,
    DenominatorCache* cache, const DenominatorCache::Probe& probe) {
  TrialEvaluation e;
  AESIGNAL_ASSIGN_OR_RETURN(e.trial, internal::LoadTrial(view, trial_id));
  e.policy = EffectivePolicy(e.trial.signal_policy());
  AESIGNAL_ASSIGN_OR_RETURN(e.baselines,
                            storage::ReadBaselines(view, trial_id));
  if (cache != nullptr) {
    AESIGNAL_ASSIGN_OR_RETURN(e.denominators, cache->At(view, e.trial, probe));
  } else {
    AESIGNAL_ASSIGN_OR_RETURN(e.denominators,
                              internal::ReadDenominators(view, e.trial));
  }
  e.prespecified_rows = PrespecifiedRows(e.trial, e.baselines);
  return e;
}

namespace {

bool TrialWide(const TrialEvaluation& e) {
  return e.policy.error_control() != v1::ERROR_CONTROL_PER_TEST;
}

bool HasBaseline(const TrialEvaluation& e, const TermKey& term) {
  for (const auto& b : e.baselines) {
    if (TermOf(b) == term) return true;
  }
  return false;
}

}  // namespace

bool ScreensPts(const TrialEvaluation& e) {
  const bool control =
      !e.policy.disable_control() && ControlGroup(e.trial) >= 0;
  // Trial-wide, a screening row's tests are the control arm and the dose
  // trend (RowEvaluator): without either there is nothing to screen, and no
  // round need read every PT row.
  const bool trend =
      !e.policy.disable_trend() && e.trial.dose_groups_size() >= 3;
  if (TrialWide(e)) return control || trend;
  return e.policy.screening_fdr() && control;
}

absl::Status SetScreening(const std::vector<storage::TermCounters>& pts,
                          TrialEvaluation* e) {
  if (!TrialWide(*e)) {
    AESIGNAL_ASSIGN_OR_RETURN(
        e->screening, ScreenPts(e->trial, e->policy, pts, e->denominators));
    return absl::OkStatus();
  }
  std::vector<const storage::TermCounters*> screened;
  for (const auto& row : pts) {
    if (!HasBaseline(*e, row.term)) screened.push_back(&row);
  }
  AESIGNAL_ASSIGN_OR_RETURN(
      e->screened_rows,
      ScreenRows(e->trial, e->policy, screened, e->denominators));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Finding>> EvaluateRow(
    const TrialEvaluation& e, const storage::TermCounters& row) {
  std::vector<v1::Baseline> matching;
  for (const auto& b : e.baselines) {
    if (TermOf(b) == row.term) matching.push_back(b);
  }
  RowAdjustment adjustment;
  adjustment.family = FamilyOf(e.policy, row.term, !matching.empty());
  adjustment.prespecified_rows = e.prespecified_rows;
  // A PT row without screened values (it had no counters when they were
  // computed) is adjusted as if its p were 1.
  const std::string term = row.term.level == Level::kPt
                               ? storage::EncodeTerm(row.term)
                               : std::string();
  if (auto it = e.screened_rows.find(term); it != e.screened_rows.end()) {
    adjustment.screening_adjusted = it->second;
  }
  static const AdjustedP kNone;
  if (row.term.level == Level::kPt && !e.screening.empty()) {
    auto it = e.screening.find(term);
    adjustment.per_test_screening =
        it == e.screening.end() ? &kNone : &it->second;
  }
  return EvaluateTerm(e.trial, e.policy, row, e.denominators, matching,
                      adjustment);
}

CellChange ChangeFor(const Finding& finding, const v1::Signal* stored) {
  if (stored == nullptr) {
    return finding.evidence.crosses() ? CellChange::kRaise : CellChange::kNone;
  }
  return SameNumbers(stored->evidence(), finding.evidence)
             ? CellChange::kNone
             : CellChange::kUpdateEvidence;
}

TermKey TermOf(const v1::Baseline& b) {
  TermKey t;
  switch (b.level()) {
    case v1::TERM_LEVEL_PT:
      t.level = Level::kPt;
      t.soc = b.soc();
      t.pt = b.pt();
      break;
    case v1::TERM_LEVEL_SOC:
      t.level = Level::kSoc;
      t.soc = b.soc();
      break;
    default:
      t.level = Level::kOverall;
      t.overall = b.overall_key();
      break;
  }
  return t;
}

}  // namespace aesignal::domain
