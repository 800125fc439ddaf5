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

// Evaluates every applicable cell of `term`: baselines that match the row,
// the control arm (if the trial flags one), the dose trend, and later windows
// against earlier ones. Cells below the policy's minimum cases are reported
// with crosses = false.
//
// `screening`, if not null, holds for this (PT) row the double-FDR adjusted
// control-arm p-value per (group index, window index); control-arm decisions
// then use it against policy.fdr().
using AdjustedP = std::map<std::pair<int, int>, double>;
absl::StatusOr<std::vector<Finding>> EvaluateTerm(
    const v1::Trial& trial, const v1::SignalPolicy& policy,
    const storage::TermCounters& counters,
    const internal::Denominators& denominators,
    const std::vector<v1::Baseline>& baselines,
    const AdjustedP* screening = nullptr);

// Control-arm screening of every PT row with the double FDR: for each
// non-control group and window, the raw one-sided Fisher p of every PT row,
// adjusted across PTs within SOCs and across SOCs. Keyed by the encoded term.
absl::StatusOr<std::map<std::string, AdjustedP>> ScreenPts(
    const v1::Trial& trial, const std::vector<storage::TermCounters>& pts,
    const internal::Denominators& denominators);

// The control group's index, or -1.
int ControlGroup(const v1::Trial& trial);

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
