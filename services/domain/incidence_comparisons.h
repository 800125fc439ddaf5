// What an incidence table adds to its cells on request: each dose group
// against the control group (GetIncidenceRequest.compare_to_control) and
// the dose-trend test of each term at each timepoint (dose_trend), computed
// from the cells' own counts with the signal module's statistics.
//
// Descriptive: neither is adjusted for multiplicity (signal evaluation,
// evaluate.h, decides signals). Internal to services/domain.
#ifndef AESIGNAL_SERVICES_DOMAIN_INCIDENCE_COMPARISONS_H_
#define AESIGNAL_SERVICES_DOMAIN_INCIDENCE_COMPARISONS_H_

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "aesignal/v1/safety_service.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "services/signal/signal_stats.h"

namespace aesignal::domain {

// One per query; memoizes the statistics (a table repeats the same few
// counts). Not thread-safe. `trial` must outlive it.
class IncidenceComparisons {
 public:
  IncidenceComparisons(const v1::Trial& trial, double confidence);

  // Sets cumulative_vs_control and interval_vs_control of every dose
  // group's cell but the control group's own, where both denominators are
  // positive: only the cells of `dose_group_id` and `timepoint_id` when they
  // are set (the cells a filtered request keeps; each interval is a root
  // search, and a one-timepoint page of ten would do ten times the work).
  // `term` must hold every cell in BuildTermIncidence's layout (each group's
  // timepoints in order, then the total's). The trial must have a control
  // group.
  absl::Status CompareToControl(v1::TermIncidence* term,
                                const std::string& dose_group_id = "",
                                const std::string& timepoint_id = "");

  // Appends one IncidenceTrend per timepoint (only `timepoint_id`'s when it
  // is set: an exact test can take milliseconds): the one-sided (increasing)
  // Cochran-Armitage test of the cumulative incidence across the dose
  // groups (TrendScores' scores, the server's exact-test budget). Same
  // layout requirement; the trial must have >= 3 dose groups.
  absl::Status AddDoseTrends(v1::TermIncidence* term,
                             const std::string& timepoint_id = "");

 private:
  using Counts = std::tuple<int64_t, int64_t, int64_t, int64_t>;
  struct Comparison {
    signal::DifferenceInterval difference;
    signal::RatioInterval ratio;
  };
  absl::Status Compare(const v1::Estimate& group, const v1::Estimate& control,
                       v1::ControlComparison* out);

  const v1::Trial& trial_;
  const double confidence_;
  const int control_;  // the control group's index, or -1
  bool dose_scores_ = true;
  const std::vector<double> scores_;
  std::map<Counts, Comparison> comparisons_;
  std::map<std::vector<int64_t>, signal::TrendResult> trends_;  // by x
};

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_INCIDENCE_COMPARISONS_H_
