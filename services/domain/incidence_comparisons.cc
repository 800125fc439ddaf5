#include "services/domain/incidence_comparisons.h"

#include <utility>

#include "services/domain/evaluate.h"
#include "services/domain/trend_cache.h"
#include "services/errors/errors.h"
#include "services/signal/rule.h"

namespace aesignal::domain {

IncidenceComparisons::IncidenceComparisons(const v1::Trial& trial,
                                           double confidence)
    : trial_(trial),
      confidence_(confidence),
      control_(ControlGroup(trial)),
      scores_(TrendScores(trial, &dose_scores_)) {}

absl::Status IncidenceComparisons::Compare(const v1::Estimate& group,
                                           const v1::Estimate& control,
                                           v1::ControlComparison* out) {
  const Counts counts{group.subjects(), group.denominator(), control.subjects(),
                      control.denominator()};
  auto it = comparisons_.find(counts);
  if (it == comparisons_.end()) {
    const auto [x1, n1, x0, n0] = counts;
    Comparison c;
    AESIGNAL_ASSIGN_OR_RETURN(c.difference, signal::MiettinenNurminenDifference(
                                                x1, n1, x0, n0, confidence_));
    AESIGNAL_ASSIGN_OR_RETURN(
        c.ratio, signal::MiettinenNurminenRatio(x1, n1, x0, n0, confidence_));
    it = comparisons_.emplace(counts, c).first;
  }
  const Comparison& c = it->second;
  out->set_control_dose_group_id(trial_.dose_groups(control_).dose_group_id());
  out->set_control_subjects(control.subjects());
  out->set_control_denominator(control.denominator());
  out->set_risk_difference(c.difference.difference);
  out->set_risk_difference_lower(c.difference.lower);
  out->set_risk_difference_upper(c.difference.upper);
  // As Evidence gives it (evaluate.cc, SetComparison).
  const signal::RatioInterval& rr = c.ratio;
  if (rr.ratio_finite && !rr.ratio_undefined) out->set_relative_risk(rr.ratio);
  if (!rr.ratio_undefined) out->set_relative_risk_lower(rr.lower);
  if (!rr.ratio_undefined && !rr.upper_infinite) {
    out->set_relative_risk_upper(rr.upper);
  }
  return absl::OkStatus();
}

absl::Status IncidenceComparisons::CompareToControl(
    v1::TermIncidence* term, const std::string& dose_group_id,
    const std::string& timepoint_id) {
  const int groups = trial_.dose_groups_size();
  const int windows = trial_.timepoints_size();
  if (control_ < 0 || term->cells_size() != (groups + 1) * windows) {
    return absl::InternalError("no control group, or a partial cell layout");
  }
  for (int g = 0; g < groups; ++g) {
    if (g == control_) continue;
    if (!dose_group_id.empty() &&
        trial_.dose_groups(g).dose_group_id() != dose_group_id) {
      continue;
    }
    for (int w = 0; w < windows; ++w) {
      if (!timepoint_id.empty() &&
          trial_.timepoints(w).timepoint_id() != timepoint_id) {
        continue;
      }
      v1::IncidenceCell* cell = term->mutable_cells(g * windows + w);
      const v1::IncidenceCell& control = term->cells(control_ * windows + w);
      if (cell->n_dosed() > 0 && control.n_dosed() > 0) {
        AESIGNAL_RETURN_IF_ERROR(
            Compare(cell->cumulative(), control.cumulative(),
                    cell->mutable_cumulative_vs_control()));
      }
      if (cell->n_at_risk() > 0 && control.n_at_risk() > 0) {
        AESIGNAL_RETURN_IF_ERROR(Compare(cell->interval(), control.interval(),
                                         cell->mutable_interval_vs_control()));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status IncidenceComparisons::AddDoseTrends(
    v1::TermIncidence* term, const std::string& timepoint_id) {
  const int groups = trial_.dose_groups_size();
  const int windows = trial_.timepoints_size();
  if (groups < 3 || term->cells_size() != (groups + 1) * windows) {
    return absl::InternalError("< 3 dose groups, or a partial cell layout");
  }
  for (int w = 0; w < windows; ++w) {
    if (!timepoint_id.empty() &&
        trial_.timepoints(w).timepoint_id() != timepoint_id) {
      continue;
    }
    std::vector<int64_t> x, n;
    for (int g = 0; g < groups; ++g) {
      const v1::IncidenceCell& cell = term->cells(g * windows + w);
      x.push_back(cell.cumulative().subjects());
      n.push_back(cell.n_dosed());
    }
    auto it = trends_.find(x);  // n is the same at every timepoint
    if (it == trends_.end()) {
      AESIGNAL_ASSIGN_OR_RETURN(signal::TrendResult trend,
                                ServerTrend(x, n, scores_));
      it = trends_.emplace(x, std::move(trend)).first;
    }
    v1::IncidenceTrend* out = term->add_dose_trends();
    out->set_timepoint_id(trial_.timepoints(w).timepoint_id());
    out->set_p_value(it->second.p);
    out->set_z(it->second.z);
    out->set_exact(it->second.exact);
    out->set_scores(dose_scores_ ? "dose scores" : "rank scores");
  }
  return absl::OkStatus();
}

}  // namespace aesignal::domain
