#include "clients/cli/incidence_format.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "clients/cli/command_context.h"
#include "clients/cli/csv.h"

namespace aesignal::cli {
namespace {

std::string Percent(double p) {
  return absl::StrFormat("%.0f%%", std::round(p * 100));
}

std::string CellText(const v1::Estimate& e, bool ci) {
  std::string text = absl::StrCat(e.subjects(), "/", e.denominator());
  if (e.denominator() > 0) absl::StrAppend(&text, " ", Percent(e.proportion()));
  if (ci && e.denominator() > 0) {
    absl::StrAppend(&text, absl::StrFormat(" [%.1f-%.1f]", e.ci_lower() * 100,
                                           e.ci_upper() * 100));
  }
  return text;
}

std::string Title(const v1::TermIncidence& term) {
  switch (term.level()) {
    case v1::TERM_LEVEL_PT:
      return absl::StrCat(term.pt(), "  (", term.soc(), ")");
    default:
      return term.label().empty() ? term.soc() : term.label();
  }
}

std::string G17(double v) { return absl::StrFormat("%.17g", v); }

// What a table holds beyond the counts (what the request asked for).
struct Extras {
  bool max_grade = false;
  bool vs_control = false;
  bool trend = false;
};

Extras ExtrasOf(const v1::GetIncidenceResponse& table) {
  Extras e;
  for (const auto& term : table.terms()) {
    e.trend = e.trend || term.dose_trends_size() > 0;
    for (const auto& cell : term.cells()) {
      e.max_grade = e.max_grade || cell.max_grade_subjects_size() > 0;
      e.vs_control = e.vs_control || cell.has_cumulative_vs_control();
    }
  }
  return e;
}

std::string ComparisonText(const v1::ControlComparison& c) {
  std::string text = absl::StrFormat(
      "RD %.0f%% [%.0f, %.0f]", 100 * c.risk_difference(),
      100 * c.risk_difference_lower(), 100 * c.risk_difference_upper());
  if (c.has_relative_risk()) {
    absl::StrAppendFormat(&text, " RR %.2f", c.relative_risk());
  }
  return text;
}

// The lines a term's block gets beyond its counts: the highest grades at
// each timepoint, the comparisons with the control group and the trend.
void WriteExtras(const v1::TermIncidence& term,
                 const IncidenceTableOptions& options, const Extras& extras,
                 std::ostream& out) {
  for (const auto& cell : term.cells()) {
    const std::string group =
        cell.dose_group_id().empty() ? "All" : cell.dose_group_id();
    if (extras.max_grade) {
      out << "  max grade " << group << " " << cell.timepoint_id() << ":";
      for (int g = 0; g < cell.max_grade_subjects_size(); ++g) {
        out << " G" << g + 1 << " " << cell.max_grade_subjects(g);
      }
      out << "\n";
    }
    const v1::ControlComparison& vs = options.interval
                                          ? cell.interval_vs_control()
                                          : cell.cumulative_vs_control();
    if (extras.vs_control && vs.control_denominator() > 0) {
      out << "  " << group << " vs " << vs.control_dose_group_id() << " "
          << cell.timepoint_id() << ": " << ComparisonText(vs) << "\n";
    }
  }
  for (const auto& trend : term.dose_trends()) {
    out << absl::StrFormat("  dose trend %s: one-sided p = %.4g (%s)\n",
                           trend.timepoint_id(), trend.p_value(),
                           trend.scores());
  }
}

}  // namespace

void WriteIncidenceTable(const v1::Trial& trial,
                         const v1::GetIncidenceResponse& table,
                         const IncidenceTableOptions& options,
                         std::ostream& out) {
  std::vector<std::string> timepoints;
  for (const auto& tp : trial.timepoints()) {
    timepoints.push_back(tp.timepoint_id());
  }
  std::vector<std::pair<std::string, std::string>> groups;  // id, row label
  for (const auto& g : trial.dose_groups()) {
    groups.emplace_back(g.dose_group_id(), g.dose_group_id());
  }
  groups.emplace_back("", "All");

  out << (options.interval ? "Subjects with an event in the window / at risk"
                           : "Subjects with an event by the timepoint / dosed")
      << (options.ci
              ? absl::StrFormat(", [%g%% CI]", table.confidence_level() * 100)
              : "")
      << "\n";
  if (table.terms().empty()) {
    out << "(no events)\n";
    return;
  }
  const Extras extras = ExtrasOf(table);
  for (const auto& term : table.terms()) {
    // cell text by (group, timepoint)
    std::map<std::pair<std::string, std::string>, std::string> cells;
    for (const auto& cell : term.cells()) {
      cells[{cell.dose_group_id(), cell.timepoint_id()}] = CellText(
          options.interval ? cell.interval() : cell.cumulative(), options.ci);
    }
    size_t label_width = 10;
    for (const auto& g : groups) {
      label_width = std::max(label_width, DisplayWidth(g.second));
    }
    std::vector<size_t> widths;
    for (const auto& tp : timepoints) {
      size_t w = DisplayWidth(tp);
      for (const auto& g : groups) {
        w = std::max(w, DisplayWidth(cells[{g.first, tp}]));
      }
      widths.push_back(w);
    }
    out << "\n" << Title(term) << "\n";
    std::string line = "  " + PadToWidth("dose group", label_width);
    for (size_t t = 0; t < timepoints.size(); ++t) {
      line += "  " + PadToWidth(timepoints[t], widths[t]);
    }
    out << absl::StripTrailingAsciiWhitespace(line) << "\n";
    for (const auto& g : groups) {
      line = "  " + PadToWidth(g.second, label_width);
      for (size_t t = 0; t < timepoints.size(); ++t) {
        line += "  " + PadToWidth(cells[{g.first, timepoints[t]}], widths[t]);
      }
      out << absl::StripTrailingAsciiWhitespace(line) << "\n";
    }
    WriteExtras(term, options, extras, out);
  }
}

namespace {

// The CSV columns a table's extras add, after the counts.
std::vector<std::string> ExtraHeader(const Extras& e) {
  std::vector<std::string> h;
  if (e.max_grade) {
    for (int g = 1; g <= 5; ++g) h.push_back(absl::StrCat("max_grade_", g));
  }
  if (e.vs_control) {
    for (const char* part : {"cumulative", "interval"}) {
      for (const char* field :
           {"risk_difference", "risk_difference_lower", "risk_difference_upper",
            "relative_risk", "relative_risk_lower", "relative_risk_upper"}) {
        h.push_back(absl::StrCat(part, "_", field, "_vs_control"));
      }
    }
  }
  if (e.trend) h.push_back("dose_trend_p");
  return h;
}

std::string Optional(bool has, double v) { return has ? G17(v) : ""; }

void AppendComparison(const v1::ControlComparison& c, bool has,
                      std::vector<std::string>* row) {
  row->push_back(Optional(has, c.risk_difference()));
  row->push_back(Optional(has, c.risk_difference_lower()));
  row->push_back(Optional(has, c.risk_difference_upper()));
  row->push_back(Optional(c.has_relative_risk(), c.relative_risk()));
  row->push_back(
      Optional(c.has_relative_risk_lower(), c.relative_risk_lower()));
  row->push_back(
      Optional(c.has_relative_risk_upper(), c.relative_risk_upper()));
}

void AppendExtras(const v1::TermIncidence& term, const v1::IncidenceCell& cell,
                  const Extras& e, std::vector<std::string>* row) {
  if (e.max_grade) {
    for (int g = 0; g < 5; ++g) {
      row->push_back(g < cell.max_grade_subjects_size()
                         ? absl::StrCat(cell.max_grade_subjects(g))
                         : "");
    }
  }
  if (e.vs_control) {
    AppendComparison(cell.cumulative_vs_control(),
                     cell.has_cumulative_vs_control(), row);
    AppendComparison(cell.interval_vs_control(), cell.has_interval_vs_control(),
                     row);
  }
  if (e.trend) {
    std::string p;
    for (const auto& t : term.dose_trends()) {
      if (t.timepoint_id() == cell.timepoint_id()) p = G17(t.p_value());
    }
    row->push_back(p);
  }
}

}  // namespace

void WriteIncidenceCsv(const v1::GetIncidenceResponse& table,
                       std::ostream& out) {
  const Extras extras = ExtrasOf(table);
  std::vector<std::string> header = {"level",
                                     "soc",
                                     "pt",
                                     "overall_key",
                                     "label",
                                     "dose_group_id",
                                     "timepoint_id",
                                     "n_dosed",
                                     "n_at_risk",
                                     "cumulative_subjects",
                                     "cumulative_events",
                                     "cumulative_denominator",
                                     "cumulative_proportion",
                                     "cumulative_ci_lower",
                                     "cumulative_ci_upper",
                                     "interval_subjects",
                                     "interval_events",
                                     "interval_denominator",
                                     "interval_proportion",
                                     "interval_ci_lower",
                                     "interval_ci_upper"};
  for (std::string& column : ExtraHeader(extras)) {
    header.push_back(std::move(column));
  }
  out << CsvLine(header) << "\n";
  for (const auto& term : table.terms()) {
    for (const auto& cell : term.cells()) {
      const auto& c = cell.cumulative();
      const auto& i = cell.interval();
      std::vector<std::string> row = {
          v1::TermLevel_Name(term.level()).substr(11),
          term.soc(),
          term.pt(),
          term.overall_key(),
          term.label(),
          cell.dose_group_id(),
          cell.timepoint_id(),
          absl::StrCat(cell.n_dosed()),
          absl::StrCat(cell.n_at_risk()),
          absl::StrCat(c.subjects()),
          absl::StrCat(c.events()),
          absl::StrCat(c.denominator()),
          G17(c.proportion()),
          G17(c.ci_lower()),
          G17(c.ci_upper()),
          absl::StrCat(i.subjects()),
          absl::StrCat(i.events()),
          absl::StrCat(i.denominator()),
          G17(i.proportion()),
          G17(i.ci_lower()),
          G17(i.ci_upper())};
      AppendExtras(term, cell, extras, &row);
      out << CsvLine(row) << "\n";
    }
  }
}

namespace {

// Subjects with the term by the last timepoint, all groups (cumulative
// counts only grow, so the largest).
int TotalSubjects(const v1::TermIncidence& term) {
  int subjects = 0;
  for (const v1::IncidenceCell& cell : term.cells()) {
    if (cell.scope() == v1::DOSE_GROUP_SCOPE_ALL_GROUPS ||
        cell.dose_group_id().empty()) {
      subjects = std::max(subjects, cell.cumulative().subjects());
    }
  }
  return subjects;
}

}  // namespace

void WriteCodingCheck(const v1::GetIncidenceResponse& table,
                      std::ostream& out) {
  std::map<std::string, std::vector<std::pair<int, const v1::TermIncidence*>>>
      by_name;
  for (const v1::TermIncidence& term : table.terms()) {
    const int subjects = TotalSubjects(term);
    if (term.level() != v1::TERM_LEVEL_PT || subjects == 0) continue;
    by_name[absl::AsciiStrToUpper(term.pt())].push_back({subjects, &term});
  }
  for (auto& [name, rows] : by_name) {
    if (rows.size() < 2) continue;
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first > b.first;
      return std::tie(a.second->soc(), a.second->pt()) <
             std::tie(b.second->soc(), b.second->pt());
    });
    std::vector<std::string> parts;
    for (const auto& [subjects, term] : rows) {
      parts.push_back(absl::StrCat(term->pt(), " (", term->soc(), ") ",
                                   subjects, parts.empty() ? " subjects" : ""));
    }
    out << "note: coding check: " << rows.front().second->pt()
        << " is counted in " << rows.size()
        << " rows, each understating it: " << absl::StrJoin(parts, "; ")
        << "\n";
  }
}

}  // namespace aesignal::cli
