// Evaluation of one term row's cells: turns counters, denominators, baselines
// and the trial's policy into evidence per (method, dose group, timepoint),
// using the pure signal module. No I/O.
#ifndef AESIGNAL_SERVICES_DOMAIN_EVALUATE_H_
#define AESIGNAL_SERVICES_DOMAIN_EVALUATE_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "aesignal/v1/signal.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "services/domain/common.h"
#include "storage/incidence.h"

namespace aesignal::domain {

// The policy with defaults filled in for zero fields.
v1::SignalPolicy EffectivePolicy(const v1::SignalPolicy& policy);

// One evaluated cell.
struct Finding {
  v1::SignalMethod method = v1::SIGNAL_METHOD_UNSPECIFIED;
  std::string dose_group_id;  // "" = all groups / across groups
  std::string timepoint_id;
  v1::Evidence evidence;  // crosses, statistic, p/posterior, counts, ...
};

// The term row as the API names it.
void SetTermFields(const storage::TermKey& term, v1::Signal* signal);
// Sets signal->scope from its method and dose group: ACROSS_GROUPS for the
// dose-trend test, ALL_GROUPS for the total (empty dose group), else GROUP.
void FillScope(v1::Signal* signal);
v1::TermLevel ApiLevel(storage::Level level);

// Multiplicity control of one row's decisions: which family the row is in
// and what the trial-wide pass over every row gave it. See
// docs/statistics.md, "Trial-wide error control".
using AdjustedP = std::map<std::pair<int, int>, double>;
struct RowAdjustment {
  enum class Family {
    kPerTest,       // ERROR_CONTROL_PER_TEST: each test against alpha
    kPrespecified,  // trial-wide: a row with a baseline, or an overall row
    kScreening,     // trial-wide: a PT row without a baseline
    kDescriptive,   // trial-wide: a SOC row without a baseline
  };
  Family family = Family::kPerTest;
  // kPrespecified: how many pre-specified rows share alpha.
  int prespecified_rows = 1;
  // kScreening: the row's double-FDR adjusted p (1 if it had none).
  double screening_adjusted = 1;
  // kPerTest under screening_fdr: the PT row's double-FDR adjusted
  // control-arm p per (group index, window index); null otherwise.
  const AdjustedP* per_test_screening = nullptr;
};

// The family of a row with (or without) a baseline under `policy`
// (effective). kPrespecified and kScreening rows need prespecified_rows and
// screening_adjusted set before evaluation.
RowAdjustment::Family FamilyOf(const v1::SignalPolicy& policy,
                               const storage::TermKey& term, bool has_baseline);

// The number of pre-specified rows of a trial: its overall rows
// (OverallRows: any AE, any SAE, grade >= 3, related, one per AESI
// category) and every other row a baseline names. Depends on the design and the
// baselines, not on data.
int PrespecifiedRows(const v1::Trial& trial,
                     const std::vector<v1::Baseline>& baselines);

// Evaluates every applicable cell of `term`: baselines that match the row,
// the control arm (if the trial flags one), the dose trend, and later windows
// against earlier ones, with the decisions adjusted as `adjustment` says.
// Cells below the policy's minimum cases are reported with crosses = false.
absl::StatusOr<std::vector<Finding>> EvaluateTerm(
    const v1::Trial& trial, const v1::SignalPolicy& policy,
    const storage::TermCounters& counters,
    const internal::Denominators& denominators,
    const std::vector<v1::Baseline>& baselines,
    const RowAdjustment& adjustment = {});

// Trial-wide screening of the PT rows without a baseline: each row's p (the
// smallest p of its control-arm and dose-trend tests of the cumulative
// incidence that have at least min_cases, times their number; 1 if none),
// then the double FDR across them at policy.fdr(). Keyed by encoded term.
absl::StatusOr<std::map<std::string, double>> ScreenRows(
    const v1::Trial& trial, const v1::SignalPolicy& policy,
    const std::vector<const storage::TermCounters*>& rows,
    const internal::Denominators& denominators);

// Per-test control-arm screening (ERROR_CONTROL_PER_TEST with
// screening_fdr): for each non-control group and window, the raw one-sided
// Fisher p of every PT row, adjusted with the double FDR at policy.fdr().
// Keyed by the encoded term.
absl::StatusOr<std::map<std::string, AdjustedP>> ScreenPts(
    const v1::Trial& trial, const v1::SignalPolicy& policy,
    const std::vector<storage::TermCounters>& pts,
    const internal::Denominators& denominators);

// The control group's index, or -1.
int ControlGroup(const v1::Trial& trial);

// Ordered scores of the dose groups for the trend test: the doses (control
// 0) if every treated group has a positive dose (*dose_scores true), else
// the groups' ranks 0, 1, 2, ... (*dose_scores false).
std::vector<double> TrendScores(const v1::Trial& trial, bool* dose_scores);

// The stable, URL-safe id of a term row's topic: "LEVEL~[SOC~]NAME", every
// byte of a name but [A-Za-z0-9_-] written ".XX", e.g.
// "PT~Infections.20and.20infestations~Pneumonia" or "OVERALL~any_sae".
std::string TopicId(const storage::TermKey& term);

// A stable id for a signal cell: "METHOD~" + TopicId + "~GROUP~TIMEPOINT",
// e.g. "BAYESIAN~PT~Infections.20and.20infestations~Pneumonia~D100M~M12";
// the total's group segment is "ALL" (a group named ALL is ".41LL").
std::string SignalId(v1::SignalMethod method, const storage::TermKey& term,
                     const std::string& dose_group_id,
                     const std::string& timepoint_id);

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_EVALUATE_H_
