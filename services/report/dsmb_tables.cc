// Sections 1-3 of the DSMB report: study status, adverse-event tables and
// listings.
#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/report/dsmb_internal.h"

namespace aesignal::report::internal {
namespace {

// Counts per column (each group, then the total) of the subjects for which
// `pick` is true.
template <typename Pick>
std::vector<int> CountSubjects(const Context& context, Pick pick) {
  std::vector<int> counts(context.columns.size(), 0);
  for (const v1::Subject& subject : context.in.subjects) {
    if (!pick(subject)) continue;
    for (size_t c = 0; c < context.columns.size(); ++c) {
      const std::string& id = context.columns[c].dose_group_id;
      if (id.empty() || id == subject.dose_group_id()) ++counts[c];
    }
  }
  return counts;
}

std::vector<std::string> CountRow(const Context& context,
                                  absl::string_view label,
                                  const std::vector<int>& counts,
                                  bool percent) {
  std::vector<std::string> row = {std::string(label)};
  for (size_t c = 0; c < counts.size(); ++c) {
    row.push_back(percent ? NPercent(counts[c], context.columns[c].n)
                          : absl::StrCat(counts[c]));
  }
  return row;
}

v1::FollowUpStatus StatusOf(const v1::Subject& subject) {
  return subject.status() == v1::FOLLOW_UP_STATUS_UNSPECIFIED
             ? v1::FOLLOW_UP_STATUS_ONGOING
             : subject.status();
}

Table StatusTable(const Context& context) {
  Table table{.id = "t01_study_status",
              .title = "Study status and follow-up",
              .header = Header(context, "")};
  const std::pair<const char*, v1::FollowUpStatus> statuses[] = {
      {"Follow-up ongoing", v1::FOLLOW_UP_STATUS_ONGOING},
      {"Completed follow-up", v1::FOLLOW_UP_STATUS_COMPLETED},
      {"Withdrawn", v1::FOLLOW_UP_STATUS_WITHDRAWN}};
  table.rows.push_back(CountRow(
      context, "Dosed (safety population)",
      CountSubjects(context, [](const v1::Subject&) { return true; }), false));
  for (const auto& [label, status] : statuses) {
    table.rows.push_back(
        CountRow(context, label,
                 CountSubjects(context,
                               [s = status](const v1::Subject& subject) {
                                 return StatusOf(subject) == s;
                               }),
                 true));
  }
  // Follow-up, not exposure: after a single infusion the two differ (the
  // CDISC import's last contact day is the treatment duration, where they
  // agree).
  std::vector<std::string> follow_up = {"Follow-up (patient-years)"};
  for (const Column& column : context.columns) {
    int64_t days = 0;
    for (const v1::Subject& subject : context.in.subjects) {
      if (column.dose_group_id.empty() ||
          column.dose_group_id == subject.dose_group_id()) {
        days += subject.last_contact_day();
      }
    }
    follow_up.push_back(absl::StrFormat("%.2f", days / 365.25));
  }
  table.rows.push_back(std::move(follow_up));
  table.footnote =
      "n (%) of subjects dosed. Follow-up: the sum over subjects of their "
      "last contact day (the last study day with follow-up information; in "
      "data imported from ADaM, the treatment duration), in years of 365.25 "
      "days.";
  return table;
}

Table SiteTable(const Context& context) {
  Table table{.id = "t02_enrolment_by_site",
              .title = "Enrolment by site",
              .header = Header(context, "Site")};
  for (const v1::Site& site : context.in.trial.sites()) {
    const std::string label =
        site.name().empty() ? site.site_id()
                            : absl::StrCat(site.site_id(), " ", site.name());
    table.rows.push_back(
        CountRow(context, label,
                 CountSubjects(context,
                               [&](const v1::Subject& subject) {
                                 return subject.site_id() == site.site_id();
                               }),
                 false));
  }
  return table;
}

// Subjects followed into each timepoint's window: the API's n_at_risk of the
// any-AE row, the denominators of within-window incidence. "Reached" read as
// "had the visit", which the count does not mean.
Table FollowUpTable(const Context& context) {
  Table table{.id = "t03_follow_up",
              .title =
                  "Subjects followed into each timepoint's window (at "
                  "risk)",
              .header = Header(context, "Timepoint")};
  const v1::TermIncidence* any = nullptr;
  for (const auto& term : context.in.overall.terms()) {
    if (term.overall_key() == "any_ae") any = &term;
  }
  for (const v1::Timepoint& timepoint : context.in.trial.timepoints()) {
    // "Month 3 (day 91)", unless the label already names its day ("Day
    // 212 (end of data)").
    const std::string& name = TimepointName(timepoint);
    const std::string day = absl::StrCat("day ", timepoint.study_day());
    std::vector<std::string> row = {
        absl::StrContains(absl::AsciiStrToLower(name), day)
            ? name
            : absl::StrCat(name, " (", day, ")")};
    for (const Column& column : context.columns) {
      const v1::IncidenceCell* cell =
          any == nullptr
              ? nullptr
              : CellOf(*any, column.dose_group_id, timepoint.timepoint_id());
      row.push_back(cell == nullptr ? "-"
                                    : NPercent(cell->n_at_risk(), column.n));
    }
    table.rows.push_back(std::move(row));
  }
  table.footnote =
      "n (%) of subjects dosed who were still followed when the window "
      "ending at the timepoint began: last contact after the previous "
      "timepoint's study day, or an AE with onset in that or a later window. "
      "They are "
      "the at-risk denominators of incidence within the window; a subject "
      "counts before the visit at the timepoint itself has taken place.";
  return table;
}

Table WithdrawalTable(const Context& context) {
  Table table{.id = "t04_withdrawals",
              .title = "Withdrawals by reason",
              .header = Header(context, "Reason")};
  std::set<std::string> reasons;
  for (const v1::Subject& subject : context.in.subjects) {
    if (StatusOf(subject) != v1::FOLLOW_UP_STATUS_WITHDRAWN) continue;
    reasons.insert(subject.withdrawal_reason().empty()
                       ? "Not given"
                       : subject.withdrawal_reason());
  }
  for (const std::string& reason : reasons) {
    table.rows.push_back(CountRow(
        context, reason,
        CountSubjects(context,
                      [&](const v1::Subject& subject) {
                        if (StatusOf(subject) !=
                            v1::FOLLOW_UP_STATUS_WITHDRAWN) {
                          return false;
                        }
                        return (subject.withdrawal_reason().empty()
                                    ? "Not given"
                                    : subject.withdrawal_reason()) == reason;
                      }),
        true));
  }
  table.empty_text = "No subject has withdrawn.";
  return table;
}

}  // namespace

void AddStudyStatus(const Context& context, Document& document) {
  document.Section("Study status");
  document.Add(StatusTable(context));
  document.Add(SiteTable(context));
  document.Add(FollowUpTable(context));
  document.Add(WithdrawalTable(context));
}

}  // namespace aesignal::report::internal
