// Section 2 of the DSMB report: the adverse-event tables.
#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/report/dsmb_internal.h"
#include "services/signal/signal_stats.h"

namespace aesignal::report::internal {
namespace {

int TotalSubjects(const Context& context, const v1::TermIncidence& term) {
  const v1::IncidenceCell* cell = CellOf(term, "", context.last_timepoint_id);
  return cell == nullptr ? 0 : cell->cumulative().subjects();
}

// Terms by descending total incidence, then by name: the usual order of
// safety tables, and deterministic.
std::vector<const v1::TermIncidence*> ByFrequency(
    const Context& context, const v1::GetIncidenceResponse& response) {
  std::vector<const v1::TermIncidence*> terms;
  for (const auto& term : response.terms()) terms.push_back(&term);
  std::stable_sort(terms.begin(), terms.end(),
                   [&](const v1::TermIncidence* a, const v1::TermIncidence* b) {
                     const int na = TotalSubjects(context, *a);
                     const int nb = TotalSubjects(context, *b);
                     if (na != nb) return na > nb;
                     return std::tie(a->soc(), a->pt()) <
                            std::tie(b->soc(), b->pt());
                   });
  return terms;
}

// Current report versions that give no action taken, or "unknown".
int ActionNotRecorded(const Context& context) {
  return static_cast<int>(std::count_if(
      context.in.reports.begin(), context.in.reports.end(),
      [](const v1::Report& report) {
        const v1::ActionTaken action = report.current().report().action_taken();
        return action == v1::ACTION_TAKEN_UNSPECIFIED ||
               action == v1::ACTION_TAKEN_UNKNOWN;
      }));
}

// Current report versions that give the action taken as not applicable
// (a single infusion: nothing left to withdraw).
int ActionNotApplicable(const Context& context) {
  return static_cast<int>(
      std::count_if(context.in.reports.begin(), context.in.reports.end(),
                    [](const v1::Report& report) {
                      return report.current().report().action_taken() ==
                             v1::ACTION_TAKEN_NOT_APPLICABLE;
                    }));
}

// Why the discontinuation row has no figures: "not recorded" when no report
// gives an action (`not_recorded`, ActionNotRecorded, is all of them; e.g.
// data whose AEACN is empty), "not applicable" when the reports that give
// one all give it so (after a single administration there is nothing to
// withdraw; a few reports without it change nothing); "" when it has
// figures. Either way 0 would claim none had to stop.
std::string DiscontinuationPlaceholder(const Context& context,
                                       int not_recorded) {
  const int reports = static_cast<int>(context.in.reports.size());
  if (reports == 0) return "";
  if (not_recorded == reports) return "not recorded";
  if (not_recorded + ActionNotApplicable(context) == reports) {
    return "not applicable";
  }
  return "";
}

// Subjects with >= 1 current report version whose action was to withdraw
// the study treatment, per column, or the placeholder for every column.
std::vector<std::string> DiscontinuationRow(const Context& context,
                                            const std::string& placeholder) {
  std::vector<std::string> row = {"AE leading to discontinuation"};
  if (!placeholder.empty()) {
    row.resize(context.columns.size() + 1, placeholder);
    return row;
  }
  std::map<std::string, std::string> group_of;  // subject -> dose group
  for (const v1::Report& report : context.in.reports) {
    if (report.current().report().action_taken() ==
        v1::ACTION_TAKEN_DRUG_WITHDRAWN) {
      group_of[report.current().report().subject_id()] =
          report.current().dose_group_id();
    }
  }
  for (const Column& column : context.columns) {
    int n = 0;
    for (const auto& [subject, group] : group_of) {
      if (column.dose_group_id.empty() || column.dose_group_id == group) ++n;
    }
    row.push_back(NPercent(n, column.n));
  }
  return row;
}

// A data check over the current report versions: " Data check: <what>"
// for the reports `flagged` picks (`what` given their number), with their
// subjects in the closed session; "" when none is. The report counts
// nothing differently from the server; it says so, so the board can have
// the sites queried.
template <typename Flagged, typename What>
std::string DataCheck(const Context& context, Flagged flagged, What what) {
  std::set<std::string> subjects;
  int reports = 0;
  for (const v1::Report& report : context.in.reports) {
    const v1::AdverseEventReport& ae = report.current().report();
    if (flagged(ae)) {
      ++reports;
      subjects.insert(ae.subject_id());
    }
  }
  if (reports == 0) return "";
  std::string text = absl::StrCat(" Data check: ", what(reports));
  if (context.closed) {
    absl::StrAppend(&text, ": subject", subjects.size() == 1 ? " " : "s ",
                    absl::StrJoin(subjects, ", "));
  }
  return absl::StrCat(text, ".");
}

// A death is serious by definition (ICH E2A), but a report may give a
// fatal outcome without the serious flag (the CDISC pilot has AEOUT = FATAL
// with AESER = N): it then counts in "fatal" and not in "serious".
std::string FatalNotSeriousCheck(const Context& context) {
  return DataCheck(
      context,
      [](const v1::AdverseEventReport& ae) {
        return (ae.death() || ae.outcome() == v1::OUTCOME_FATAL) &&
               !ae.serious();
      },
      [](int n) {
        return absl::StrCat(
            n, " report", n == 1 ? "" : "s", " with a fatal outcome ",
            n == 1 ? "is" : "are", " not marked serious, so ",
            n == 1 ? "it counts" : "they count",
            " as fatal but not as serious (a death is serious by ICH E2A; "
            "the sites should be queried)");
      });
}

// A report that gives no relatedness counts as related in the server's
// related rows (domain::IsRelated: the worst case, as safety tables take a
// missing causality). The count and the related rows rest on an assumption
// the sites can remove, so the board should know how many there are, and
// (closed session) whose.
std::string RelatednessNotGivenCheck(const Context& context) {
  return DataCheck(
      context,
      [](const v1::AdverseEventReport& ae) {
        return ae.relatedness() == v1::RELATEDNESS_UNSPECIFIED;
      },
      [](int n) {
        return absl::StrCat(
            n, " report", n == 1 ? "" : "s", " give", n == 1 ? "s" : "",
            " no relatedness, so ", n == 1 ? "it counts" : "they count",
            " as related (a missing causality is taken as related; the "
            "sites should be queried)");
      });
}

// The footnote's end: how many reports give no action taken, if any.
std::string NoActionText(const Context& context, int not_recorded) {
  if (not_recorded == 0) return ".";
  return absl::StrCat("; ", not_recorded, " of ", context.in.reports.size(),
                      " reports give no action taken (or give it as unknown) "
                      "and count as not withdrawn.");
}

Table OverviewTable(const Context& context) {
  Table table{.id = "t05_ae_overview",
              .title = "Overview of adverse events",
              .header = Header(context, "Subjects with")};
  const int not_recorded = ActionNotRecorded(context);
  const std::string placeholder =
      DiscontinuationPlaceholder(context, not_recorded);
  for (const v1::TermIncidence& term : context.in.overall.terms()) {
    table.rows.push_back(IncidenceRow(context, term, term.label(), true));
    if (term.overall_key() == "death") {
      table.rows.push_back(DiscontinuationRow(context, placeholder));
    }
  }
  table.footnote =
      "n (%) [events]: subjects with >= 1 such AE (% of subjects dosed) "
      "[AE reports counted]. Each report counts in its newest version "
      "received by the data cut-off. AE leading to discontinuation: action "
      "taken 'drug withdrawn'";
  if (placeholder == "not recorded") {
    absl::StrAppend(&table.footnote,
                    "; not recorded: no report gives the action taken (or "
                    "each gives it as unknown).");
  } else {
    if (placeholder == "not applicable") {
      absl::StrAppend(&table.footnote,
                      "; not applicable: every report that gives the action "
                      "taken gives it as not applicable (e.g. after a single "
                      "administration there is no treatment to withdraw)");
    }
    absl::StrAppend(&table.footnote, NoActionText(context, not_recorded));
  }
  table.footnote += FatalNotSeriousCheck(context);
  table.footnote += RelatednessNotGivenCheck(context);
  return table;
}

// Subjects with a first event, and their time at risk, in one column.
struct AtRisk {
  int64_t subjects = 0;
  int64_t days = 0;
};

// "30.5 [22.1, 41.0]": subjects with a first event per 100 patient-years at
// risk and its exact 95% Poisson interval; "-" without time at risk. (A
// failure of the interval, which its arguments here rule out, is printed,
// not passed off as "-".)
std::string RateCell(const AtRisk& at_risk) {
  if (at_risk.days <= 0) return "-";
  absl::StatusOr<signal::RateInterval> rate = signal::PoissonRate(
      at_risk.subjects, at_risk.days / 365.25, /*level=*/0.95);
  if (!rate.ok()) {
    return absl::StrCat("not computed: ", rate.status().message());
  }
  return absl::StrFormat("%.1f [%.1f, %.1f]", rate->rate, rate->lower,
                         rate->upper);
}

// Per column, a row's subjects and days at risk: from day 1 to the first
// such AE (`first`: subject -> its onset day), or else to the last contact.
std::vector<AtRisk> AtRiskByColumn(const Context& context,
                                   const std::map<std::string, int>& first) {
  std::vector<AtRisk> columns;
  for (const Column& column : context.columns) {
    AtRisk& at_risk = columns.emplace_back();
    for (const v1::Subject& subject : context.in.subjects) {
      if (!column.dose_group_id.empty() &&
          column.dose_group_id != subject.dose_group_id()) {
        continue;
      }
      const auto onset = first.find(subject.subject_id());
      at_risk.subjects += onset != first.end() ? 1 : 0;
      at_risk.days +=
          onset != first.end() ? onset->second : subject.last_contact_day();
    }
  }
  return columns;
}

// The overview's rows as rates per patient-year at risk (EAIR), each
// followed by the counts it is made of: where groups are followed for
// different lengths of time (withdrawals, staggered enrolment), a
// proportion of subjects compares unequal follow-up; a rate does not.
Table RateTable(const Context& context) {
  Table table{.id = "t16_ae_rates",
              .title = "Adverse events per 100 patient-years at risk",
              .header = Header(context, "Subjects with")};
  static const std::map<std::string, int>& kNone =
      *new std::map<std::string, int>();
  for (const v1::TermIncidence& term : context.in.overall.terms()) {
    const auto found = context.in.first_onset_day.find(term.overall_key());
    const std::vector<AtRisk> columns = AtRiskByColumn(
        context,
        found != context.in.first_onset_day.end() ? found->second : kNone);
    std::vector<std::string> rates = {term.label()};
    std::vector<std::string> counts = {"n / PY"};
    for (const AtRisk& at_risk : columns) {
      rates.push_back(RateCell(at_risk));
      // Two decimals, as t01's follow-up: a few days at risk are not 0.0.
      counts.push_back(absl::StrFormat("%d / %.2f", at_risk.subjects,
                                       at_risk.days / 365.25));
    }
    table.rows.push_back(std::move(rates));
    table.emphasized.push_back(true);
    table.rows.push_back(std::move(counts));
    table.emphasized.push_back(false);
  }
  table.footnote =
      "Rate [95% CI]: subjects with >= 1 such AE per 100 patient-years at "
      "risk (the exposure-adjusted incidence rate), with its exact Poisson "
      "interval; below it, n / PY: the subjects with such an AE and the "
      "patient-years at risk it is made of. A "
      "subject is at risk from day 1 to the onset of their first such AE (a "
      "report without an onset day: the first day of its timepoint's "
      "window), or without one to their last contact day (t01). Unlike the "
      "overview's proportions, rates compare groups followed for different "
      "lengths of time (withdrawals, staggered enrolment); they assume a "
      "constant hazard, which early after an infusion may not hold.";
  return table;
}

Table SocPtTable(const Context& context, std::string id, std::string title,
                 const v1::GetIncidenceResponse& soc,
                 const v1::GetIncidenceResponse& pt) {
  Table table{.id = std::move(id),
              .title = std::move(title),
              .header = Header(context, "System organ class / Preferred term")};
  const auto pts = ByFrequency(context, pt);
  for (const v1::TermIncidence* soc_row : ByFrequency(context, soc)) {
    table.rows.push_back(IncidenceRow(context, *soc_row, soc_row->soc(), true));
    table.emphasized.push_back(true);
    for (const v1::TermIncidence* pt_row : pts) {
      if (pt_row->soc() != soc_row->soc()) continue;
      table.rows.push_back(IncidenceRow(context, *pt_row, pt_row->pt(), true));
      table.emphasized.push_back(false);
    }
  }
  table.footnote =
      "n (%) [events] as in the overview. A subject counts once per row; SOCs "
      "and PTs by descending total incidence.";
  table.empty_text = "No adverse event.";
  return table;
}

// tern's AET04: each PT's subjects by their highest grade.
Table MaxGradeTable(const Context& context) {
  const std::string grade_word =
      context.in.trial.grading().empty() ? "CTCAE grade" : "grade";
  Table table{
      .id = "t10_max_grade_pt",
      .title = absl::StrCat("Maximum ", grade_word, " by preferred term"),
      .header = Header(context, "Preferred term / highest grade")};
  for (const v1::TermIncidence* term :
       ByFrequency(context, context.in.pt_max_grade)) {
    table.rows.push_back(IncidenceRow(context, *term, term->pt(), false));
    table.emphasized.push_back(true);
    for (int grade = 1; grade <= 5; ++grade) {
      std::vector<std::string> row = {absl::StrCat("Grade ", grade)};
      bool any = false;
      for (const Column& column : context.columns) {
        const v1::IncidenceCell* cell =
            CellOf(*term, column.dose_group_id, context.last_timepoint_id);
        const int n = cell == nullptr || cell->max_grade_subjects_size() < 5
                          ? 0
                          : cell->max_grade_subjects(grade - 1);
        any = any || n > 0;
        row.push_back(NPercent(n, column.n));
      }
      if (!any) continue;
      table.rows.push_back(std::move(row));
      table.emphasized.push_back(false);
    }
  }
  table.footnote = absl::StrCat(
      "Subjects by the highest ", grade_word,
      " of their reports of the term; grades without a subject are left out.",
      context.in.trial.grading().empty()
          ? ""
          : absl::StrCat(" Grades: ", context.in.trial.grading(), "."));
  table.empty_text = "No adverse event.";
  return table;
}

// PT rows with subjects whose names are equal but for case, when a name has
// more than one: a PT coded under two SOCs (a misspelt SOC, a MedDRA version
// change) or spelt two ways. Each such group, its rows by descending
// incidence; the groups by name.
std::vector<std::vector<const v1::TermIncidence*>> SplitTerms(
    const Context& context) {
  std::map<std::string, std::vector<const v1::TermIncidence*>> by_name;
  for (const v1::TermIncidence* term : ByFrequency(context, context.in.pt)) {
    if (TotalSubjects(context, *term) == 0) continue;
    by_name[absl::AsciiStrToUpper(term->pt())].push_back(term);
  }
  std::vector<std::vector<const v1::TermIncidence*>> split;
  for (auto& [name, rows] : by_name) {
    if (rows.size() > 1) split.push_back(std::move(rows));
  }
  return split;
}

// The coding check: the terms SplitTerms finds, one row per way coded.
Table SplitTermsTable(
    const Context& context,
    const std::vector<std::vector<const v1::TermIncidence*>>& split) {
  Table table{.id = "t06a_pt_coding_check",
              .title = "Preferred terms coded more than one way",
              .header = Header(context, "Preferred term (system organ class)")};
  for (const auto& rows : split) {
    for (const v1::TermIncidence* term : rows) {
      table.rows.push_back(
          IncidenceRow(context, *term,
                       absl::StrCat(term->pt(), " (", term->soc(), ")"), true));
      table.emphasized.push_back(false);
    }
  }
  table.footnote =
      "A MedDRA preferred term belongs to one primary system organ class. "
      "Each term here is counted in more than one row (a different SOC, or "
      "its name spelt with different case), so every row understates the "
      "term's incidence and a signal test sees only part of it; a subject in "
      "two rows counts in both. The coding should be checked and the reports "
      "corrected by follow-up versions.";
  return table;
}

}  // namespace

void AddAdverseEvents(const Context& context, Document& document) {
  document.Section("Adverse events");
  document.Add(OverviewTable(context));
  document.Add(RateTable(context));
  Table all_aes = SocPtTable(context, "t06_ae_soc_pt",
                             "Adverse events by system organ class and "
                             "preferred term",
                             context.in.soc, context.in.pt);
  const auto split = SplitTerms(context);
  absl::StrAppend(&all_aes.footnote,
                  split.empty()
                      ? " Coding check: every preferred term is coded one way "
                        "(one SOC, one spelling)."
                      : absl::StrCat(" Coding check: ", split.size(),
                                     " preferred term(s) are coded more than "
                                     "one way; see the next table."));
  document.Add(std::move(all_aes));
  if (!split.empty()) document.Add(SplitTermsTable(context, split));
  for (const SubsetTables& subset : context.in.subsets) {
    document.Add(
        SocPtTable(context, subset.id, subset.title, subset.soc, subset.pt));
  }
  document.Add(MaxGradeTable(context));
  for (const SubsetTables& aesi : context.in.aesi) {
    document.Add(SocPtTable(context, aesi.id, aesi.title, aesi.soc, aesi.pt));
  }
}

}  // namespace aesignal::report::internal
