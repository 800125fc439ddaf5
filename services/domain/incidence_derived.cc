#include "services/domain/incidence_derived.h"

#include <algorithm>
#include <utility>

#include "services/domain/common.h"
#include "services/errors/errors.h"
#include "storage/reports.h"

namespace aesignal::domain {
namespace {

// The group a report counts in: its subject's (at the cut-off, if any). A
// subject with no version by the cut-off (a clock stepped back between
// enrolment and report) counts where the report was received.
int CountedGroup(const storage::SubjectGroups& groups,
                 const storage::StoredReport& stored) {
  auto it = groups.find(stored.report().subject_id());
  return it == groups.end() ? stored.dose_group() : it->second;
}

}  // namespace

DerivedTally::DerivedTally(int num_groups, int num_windows,
                           storage::Level level, SubsetRule subset)
    : num_groups_(num_groups),
      num_windows_(num_windows),
      level_(level),
      subset_(std::move(subset)) {}

absl::Status DerivedTally::Add(const storage::StoredReport& stored, int group) {
  const v1::AdverseEventReport& report = stored.report();
  if (!InSubset(report, subset_)) return absl::OkStatus();
  const int window = stored.window();
  if (group < 0 || group >= num_groups_ || window < 0 ||
      window >= num_windows_) {
    return absl::DataLossError(
        "stored report's dose group or window is outside the trial");
  }
  // Validation keeps grades in 1..5; the clamp keeps an index in range.
  const int grade = std::clamp(report.grade(), 1, 5);
  CountedRows(report, &rows_);
  for (const storage::TermKey& row : rows_) {
    if (row.level != level_) continue;
    auto [it, added] = terms_.try_emplace(storage::EncodeTerm(row));
    if (added) it->second.key = row;
    State& state = it->second.subjects[report.subject_id()];
    if (state.events.empty()) {
      state.events.assign(num_windows_, 0);
      state.max_grade.assign(num_windows_, 0);
    }
    state.group = group;
    state.events[window] += 1;
    state.max_grade[window] = std::max(state.max_grade[window], grade);
  }
  return absl::OkStatus();
}

DerivedRow DerivedTally::RowOf(const Term& term) const {
  const int cells = num_groups_ * num_windows_;
  DerivedRow row{{term.key, std::vector<storage::CellCounts>(cells)},
                 std::vector<GradeCounts>(cells, GradeCounts{})};
  const storage::WindowCounts none(num_windows_, 0);
  for (const auto& [subject, state] : term.subjects) {
    const int base = state.group * num_windows_;
    for (const auto& [window, delta] :
         storage::CellDeltas(none, state.events)) {
      storage::CellCounts& c = row.counters.cells[base + window];
      c.interval_subjects += delta.interval_subjects;
      c.new_subjects += delta.new_subjects;
      c.events += delta.events;
    }
    int highest = 0;
    for (int w = 0; w < num_windows_; ++w) {
      highest = std::max(highest, state.max_grade[w]);
      if (highest > 0) ++row.max_grade[base + w][highest - 1];
    }
  }
  return row;
}

DerivedRows DerivedTally::Rows() const {
  DerivedRows out;
  for (const auto& [key, term] : terms_) out.emplace(key, RowOf(term));
  return out;
}

absl::StatusOr<DerivedRows> DeriveRows(const storage::ReadView& view,
                                       const v1::Trial& trial,
                                       storage::Level level,
                                       const SubsetRule& subset) {
  DerivedTally tally(trial.dose_groups_size(), trial.timepoints_size(), level,
                     subset);
  AESIGNAL_ASSIGN_OR_RETURN(const storage::SubjectGroups groups,
                            internal::ReadSubjectGroups(view, trial));
  absl::Status error;
  AESIGNAL_RETURN_IF_ERROR(storage::ScanNewestReports(
      view, trial.trial_id(), [&](const storage::StoredReport& stored) {
        error = tally.Add(stored, CountedGroup(groups, stored));
        return error.ok();
      }));
  AESIGNAL_RETURN_IF_ERROR(error);
  return tally.Rows();
}

absl::StatusOr<CutOffCount> CountAtCutOff(
    const storage::ReadView& view, const v1::Trial& trial,
    const std::vector<TallySpec>& specs,
    const google::protobuf::Timestamp& as_of) {
  AESIGNAL_ASSIGN_OR_RETURN(
      const std::vector<v1::Subject> subjects,
      internal::ReadSubjectsAsOf(view, trial.trial_id(), as_of));
  AESIGNAL_ASSIGN_OR_RETURN(const storage::SubjectGroups groups,
                            internal::SubjectGroupsOf(trial, subjects));
  std::vector<DerivedTally> tallies;
  tallies.reserve(specs.size());
  for (const TallySpec& spec : specs) {
    tallies.emplace_back(trial.dose_groups_size(), trial.timepoints_size(),
                         spec.level, spec.subset);
  }
  internal::EventWindows last_event_window;
  absl::Status error;
  AESIGNAL_RETURN_IF_ERROR(storage::ScanReportsAsOf(
      view, trial.trial_id(), as_of, [&](const storage::StoredReport& stored) {
        if (Counts(stored.report())) {
          auto [it, added] = last_event_window.try_emplace(
              stored.report().subject_id(), stored.window());
          if (!added) it->second = std::max(it->second, stored.window());
        }
        const int group = CountedGroup(groups, stored);
        for (DerivedTally& tally : tallies) {
          error = tally.Add(stored, group);
          if (!error.ok()) return false;
        }
        return true;
      }));
  AESIGNAL_RETURN_IF_ERROR(error);
  CutOffCount count;
  AESIGNAL_ASSIGN_OR_RETURN(
      count.denominators,
      internal::CountDenominators(trial, subjects, last_event_window));
  // Each tally is freed once its rows are made, so memory peaks at the
  // tallies plus one table's rows rather than both in full.
  count.rows.resize(tallies.size());
  while (!tallies.empty()) {
    count.rows[tallies.size() - 1] = tallies.back().Rows();
    tallies.pop_back();
  }
  return count;
}

}  // namespace aesignal::domain
