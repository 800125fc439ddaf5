#include "clients/cli/incidence_format.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
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
  for (const auto& term : table.terms()) {
    // cell text by (group, timepoint)
    std::map<std::pair<std::string, std::string>, std::string> cells;
    for (const auto& cell : term.cells()) {
      cells[{cell.dose_group_id(), cell.timepoint_id()}] = CellText(
          options.interval ? cell.interval() : cell.cumulative(), options.ci);
    }
    size_t label_width = 10;
    for (const auto& g : groups) {
      label_width = std::max(label_width, g.second.size());
    }
    std::vector<size_t> widths;
    for (const auto& tp : timepoints) {
      size_t w = tp.size();
      for (const auto& g : groups) w = std::max(w, cells[{g.first, tp}].size());
      widths.push_back(w);
    }
    out << "\n" << Title(term) << "\n";
    std::string line =
        "  " + absl::StrFormat("%-*s", label_width, "dose group");
    for (size_t t = 0; t < timepoints.size(); ++t) {
      line += "  " + absl::StrFormat("%-*s", widths[t], timepoints[t]);
    }
    out << absl::StripTrailingAsciiWhitespace(line) << "\n";
    for (const auto& g : groups) {
      line = "  " + absl::StrFormat("%-*s", label_width, g.second);
      for (size_t t = 0; t < timepoints.size(); ++t) {
        line += "  " + absl::StrFormat("%-*s", widths[t],
                                       cells[{g.first, timepoints[t]}]);
      }
      out << absl::StripTrailingAsciiWhitespace(line) << "\n";
    }
  }
}

void WriteIncidenceCsv(const v1::GetIncidenceResponse& table,
                       std::ostream& out) {
  out << CsvLine({"level",
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
                  "interval_ci_upper"})
      << "\n";
  for (const auto& term : table.terms()) {
    for (const auto& cell : term.cells()) {
      const auto& c = cell.cumulative();
      const auto& i = cell.interval();
      out << CsvLine({v1::TermLevel_Name(term.level()).substr(11),
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
                      G17(i.ci_upper())})
          << "\n";
    }
  }
}

}  // namespace aesignal::cli
