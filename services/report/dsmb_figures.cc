// Figures and the methods section of the DSMB report.
#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "services/report/charts.h"
#include "services/report/dsmb_internal.h"

namespace aesignal::report::internal {
namespace {

// PTs shown in the forest plot: cumulative incidence >= 5% in some group,
// the usual threshold of published forest plots (forestly's default).
constexpr double kForestMinProportion = 0.05;

// Rows (group vs control) of every PT with incidence >= 5% in some group.
// Every chart's series in one order of styles: a dose group (or the total)
// looks the same in each figure of the report.
std::vector<std::string> StyleOrder(const Context& context) {
  std::vector<std::string> order;
  for (const Column& column : context.columns) order.push_back(column.label);
  return order;
}

// Risk differences in percentage points, as the topic summaries and the
// dashboard print them.
std::vector<ForestRow> ForestRows(const Context& context) {
  std::vector<ForestRow> all;
  for (const v1::TermIncidence& term : context.in.pt.terms()) {
    std::vector<ForestRow> rows;
    bool frequent = false;
    for (const Column& column : context.columns) {
      if (column.dose_group_id.empty()) continue;
      const v1::IncidenceCell* cell =
          CellOf(term, column.dose_group_id, context.last_timepoint_id);
      if (cell == nullptr) continue;
      frequent =
          frequent || cell->cumulative().proportion() >= kForestMinProportion;
      if (!cell->has_cumulative_vs_control()) continue;
      const v1::ControlComparison& vs = cell->cumulative_vs_control();
      rows.push_back({.label = term.pt(),
                      .series = column.label,
                      .estimate = {100 * vs.risk_difference(),
                                   100 * vs.risk_difference_lower(),
                                   100 * vs.risk_difference_upper()},
                      .detail = absl::StrCat(cell->cumulative().subjects(), "/",
                                             cell->n_dosed(), " vs ",
                                             vs.control_subjects(), "/",
                                             vs.control_denominator()),
                      .section = term.soc()});
    }
    if (frequent) all.insert(all.end(), rows.begin(), rows.end());
  }
  return all;
}

// The forest plot, in parts of at most kForestLinesPerPart lines, rows and
// SOC headings (a printed SVG is never split across pages); a PT's rows stay
// in one part, and a part starts with its SOC's heading.
constexpr size_t kForestLinesPerPart = 30;

std::vector<std::vector<ForestRow>> ForestParts(
    const std::vector<ForestRow>& rows) {
  std::vector<std::vector<ForestRow>> parts(1);
  for (size_t i = 0; i < rows.size();) {
    size_t end = i + 1;  // the PT's rows: [i, end)
    while (end < rows.size() && SameForestGroup(rows[end], rows[i])) ++end;
    std::vector<ForestRow> with = parts.back();
    with.insert(with.end(), rows.begin() + i, rows.begin() + end);
    if (!parts.back().empty() && ForestLines(with) > kForestLinesPerPart) {
      parts.emplace_back(rows.begin() + i, rows.begin() + end);
    } else {
      parts.back() = std::move(with);
    }
    i = end;
  }
  return parts;
}

std::vector<Figure> ForestFigures(const Context& context) {
  const v1::DoseGroup* control = ControlGroup(context.in.trial);
  if (!context.closed || control == nullptr) return {};
  const std::vector<ForestRow> rows = ForestRows(context);
  std::vector<std::vector<ForestRow>> parts = ForestParts(rows);
  // One axis for every part, so parts compare by eye.
  double lo = 0, hi = 0;
  for (const ForestRow& row : rows) {
    for (double v :
         {row.estimate.lower, row.estimate.value, row.estimate.upper}) {
      if (!std::isfinite(v)) continue;  // not estimable: no bound on the axis
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  std::vector<Figure> figures;
  for (size_t p = 0; p < parts.size(); ++p) {
    ForestPlot plot{
        .title = absl::StrCat(
            "Risk difference versus control by preferred "
            "term",
            parts.size() > 1
                ? absl::StrCat(" (part ", p + 1, " of ", parts.size(), ")")
                : ""),
        .x_label = absl::StrCat(
            "Risk difference vs ", GroupName(context, control->dose_group_id()),
            ", percentage points (",
            Number(100 * context.in.pt.confidence_level(), 3), "% CI)"),
        .reference = 0,
        .rows = std::move(parts[p]),
        .style_order = StyleOrder(context),
        .x_min = lo,
        .x_max = hi,
        .decimals = 1,
        .detail_heading = "Subjects n/N"};
    figures.push_back(
        {.id = absl::StrCat("f_forest_", p + 1),
         .title = plot.title,
         .svg = ForestPlotSvg(plot),
         .caption = absl::StrCat(
             "Cumulative incidence at the last timepoint (",
             TimepointName(context, context.last_timepoint_id),
             "); PTs with incidence >= 5% in some group. Miettinen-Nurminen "
             "score intervals. Subjects n/N: subjects with the PT / subjects "
             "dosed, in the group vs in ",
             GroupName(context, control->dose_group_id()), ".")});
  }
  return figures;
}

bool SameTerm(const v1::Baseline& baseline, const v1::SignalTopic& topic) {
  return baseline.level() == topic.level() && baseline.soc() == topic.soc() &&
         baseline.pt() == topic.pt() &&
         baseline.overall_key() == topic.overall_key();
}

// The baselines a topic's figure draws, and their sources for its caption.
struct BaselineMarks {
  std::vector<ReferenceLine> lines;
  std::vector<std::string> sources;  // "id: citation"
};

// The baselines of the topic's term by id, each as a dash at its timepoint
// (a line across the chart when it has none). A baseline of one dose group
// is left out of an open session, which pools the groups.
BaselineMarks Baselines(const Context& context, const v1::SignalTopic& topic) {
  std::vector<const v1::Baseline*> of_term;
  for (const v1::Baseline& b : context.in.baselines) {
    if (!SameTerm(b, topic) || b.expected_proportion() <= 0) continue;
    if (!b.dose_group_id().empty() && !context.closed) continue;
    of_term.push_back(&b);
  }
  std::sort(of_term.begin(), of_term.end(),
            [](const v1::Baseline* a, const v1::Baseline* b) {
              return a->baseline_id() < b->baseline_id();
            });
  const auto& timepoints = context.in.trial.timepoints();
  BaselineMarks marks;
  for (const v1::Baseline* b : of_term) {
    ReferenceLine line{
        .value = b->expected_proportion(),
        .label = absl::StrCat(
            "Expected ",
            absl::StrFormat("%.1f", 100 * b->expected_proportion()), "%",
            b->dose_group_id().empty()
                ? ""
                : absl::StrCat(" for ", GroupName(context, b->dose_group_id())),
            " (", b->baseline_id(), ")")};
    if (!b->timepoint_id().empty()) {
      const auto at = std::find_if(
          timepoints.begin(), timepoints.end(), [&](const v1::Timepoint& t) {
            return t.timepoint_id() == b->timepoint_id();
          });
      if (at == timepoints.end()) continue;
      line.category = static_cast<size_t>(at - timepoints.begin());
    }
    marks.lines.push_back(std::move(line));
    // Joined with "; " and ended with one ".": a citation's own final
    // period would double it.
    marks.sources.push_back(absl::StrCat(
        b->baseline_id(), ": ",
        b->citation().empty()
            ? "no citation given"
            : absl::StripSuffix(
                  absl::StripTrailingAsciiWhitespace(b->citation()), ".")));
  }
  return marks;
}

Figure OverTimeFigure(const Context& context, const v1::SignalTopic& topic,
                      const v1::TermIncidence& term) {
  LineChart chart{.title = absl::StrCat(TopicName(context, topic),
                                        ": cumulative incidence over time"),
                  .categories = {},
                  // Categories: evenly spaced, and the axis says so.
                  .x_label = "Timepoint (evenly spaced, not to scale in time)",
                  .y_label = "Subjects with the event (%)",
                  .series = {},
                  .references = {}};
  chart.style_order = StyleOrder(context);
  BaselineMarks baselines = Baselines(context, topic);
  chart.references = std::move(baselines.lines);
  for (const v1::Timepoint& timepoint : context.in.trial.timepoints()) {
    chart.categories.push_back(TimepointName(timepoint));
  }
  for (const Column& column : context.columns) {
    Series series{.name = column.label, .points = {}};
    for (const v1::Timepoint& timepoint : context.in.trial.timepoints()) {
      const v1::IncidenceCell* cell =
          CellOf(term, column.dose_group_id, timepoint.timepoint_id());
      if (cell == nullptr || cell->cumulative().denominator() == 0) {
        series.points.push_back(std::nullopt);
        continue;
      }
      const v1::Estimate& e = cell->cumulative();
      series.points.push_back(
          Estimate{e.proportion(), e.ci_lower(), e.ci_upper()});
    }
    chart.series.push_back(std::move(series));
  }
  return Figure{
      .id = absl::StrCat("f_time_", topic.topic_id()),
      .title = chart.title,
      .svg = LineChartSvg(chart),
      .caption = absl::StrCat(
          "Subjects with onset on or before each timepoint, of "
          "those dosed, with exact 95% intervals",
          chart.references.empty()
              ? "."
              : absl::StrCat("; dashed: the expected incidence of each "
                             "baseline at the timepoint it applies to (a "
                             "line across: every timepoint). ",
                             absl::StrJoin(baselines.sources, "; "), "."))};
}

std::string TrendNote(const Context& context, const v1::TermIncidence& term) {
  for (const v1::IncidenceTrend& trend : term.dose_trends()) {
    if (trend.timepoint_id() != context.last_timepoint_id) continue;
    // With each group's counts beside it, the trend test's p-value would
    // tell which letter is which dose: a reader could try each matching.
    if (context.coded) {
      return " The dose-trend test is in the uncoded closed report: beside "
             "these counts, its p-value would tell which letter is which "
             "dose.";
    }
    return absl::StrCat(
        " Cochran-Armitage test of increasing incidence with "
        "dose (",
        trend.scores(), "): one-sided p = ", Number(trend.p_value(), 3),
        trend.exact() ? " (exact)." : " (asymptotic).");
  }
  return "";
}

Figure DoseFigure(const Context& context, const v1::SignalTopic& topic,
                  const v1::TermIncidence& term) {
  LineChart chart{.title = absl::StrCat(TopicName(context, topic),
                                        ": incidence by dose group"),
                  .categories = {},
                  .x_label = "Dose group",
                  .y_label = "Subjects with the event (%)",
                  .series = {},
                  .references = {}};
  Series series{.name = "Cumulative incidence", .points = {}};
  for (const Column& column : context.columns) {
    if (column.dose_group_id.empty()) continue;
    chart.categories.push_back(column.label);
    const v1::IncidenceCell* cell =
        CellOf(term, column.dose_group_id, context.last_timepoint_id);
    if (cell == nullptr || cell->cumulative().denominator() == 0) {
      series.points.push_back(std::nullopt);
    } else {
      const v1::Estimate& e = cell->cumulative();
      series.points.push_back(
          Estimate{e.proportion(), e.ci_lower(), e.ci_upper()});
    }
  }
  chart.series.push_back(std::move(series));
  return Figure{.id = absl::StrCat("f_dose_", topic.topic_id()),
                .title = chart.title,
                .svg = LineChartSvg(chart),
                .caption = absl::StrCat(
                    "Cumulative incidence at the last timepoint (",
                    TimepointName(context, context.last_timepoint_id),
                    "), with exact 95% intervals.", TrendNote(context, term))};
}

}  // namespace

// The rows every report draws over time, whatever was raised: any AE and
// any serious AE (a section of figures is never empty, and a DSMB reads
// these first), each unless a topic's figure draws it already.
void AddOverviewFigures(const Context& context, Document& document) {
  for (const char* key : {"any_ae", "any_sae"}) {
    const bool drawn =
        std::any_of(context.in.topics.begin(), context.in.topics.end(),
                    [&](const v1::SignalTopic& topic) {
                      return topic.level() == v1::TERM_LEVEL_OVERALL &&
                             topic.overall_key() == key;
                    });
    if (drawn) continue;
    for (const v1::TermIncidence& term : context.in.overall.terms()) {
      if (term.overall_key() != key) continue;
      v1::SignalTopic row;
      row.set_topic_id(absl::StrCat("OVERALL~", key));
      row.set_level(v1::TERM_LEVEL_OVERALL);
      row.set_overall_key(key);
      document.Add(OverTimeFigure(context, row, term));
    }
  }
}

void AddFigures(const Context& context, Document& document) {
  document.Section("Figures");
  AddOverviewFigures(context, document);
  for (Figure& forest : ForestFigures(context)) document.Add(std::move(forest));
  for (const v1::SignalTopic& topic : context.in.topics) {
    auto it = context.in.topic_incidence.find(topic.topic_id());
    if (it == context.in.topic_incidence.end() || it->second.terms().empty()) {
      continue;
    }
    const v1::TermIncidence& term = it->second.terms(0);
    document.Add(OverTimeFigure(context, topic, term));
    if (context.closed && context.in.trial.dose_groups_size() >= 2) {
      document.Add(DoseFigure(context, topic, term));
    }
  }
}

namespace {

// The screening of PTs without a baseline: against the control arm and/or
// for dose trend, as far as the trial has them and the policy uses them.
std::string ScreeningText(const v1::Trial& trial) {
  const v1::SignalPolicy& policy = trial.signal_policy();
  const bool control =
      ControlGroup(trial) != nullptr && !policy.disable_control();
  const bool trend = HasTrendGroups(trial) && !policy.disable_trend();
  if (!control && !trend) return "";
  return absl::StrCat(
      control ? "against the control arm" : "", control && trend ? " and " : "",
      trend ? "for dose trend" : "",
      " with the double false discovery rate at ",
      Number(ThresholdsOf(policy).fdr, 3), " (Mehrotra & Adewale 2012)");
}

// How the trial's signal policy decides, in words: the same paragraph for
// every trial would claim methods a trial may not use (a repeated-look
// boundary needs the planned enrolment, a control comparison a control arm).
std::string SignalMethodsText(const Context& context) {
  const v1::Trial& trial = context.in.trial;
  const v1::SignalPolicy& policy = trial.signal_policy();
  const Thresholds thresholds = ThresholdsOf(policy);
  const std::string alpha = Number(thresholds.alpha, 3);
  const std::string screening = ScreeningText(trial);
  std::string text = "Signals: ";
  if (policy.error_control() == v1::ERROR_CONTROL_PER_TEST) {
    const std::vector<std::string> tests = AppliedMethodNames(context.in);
    absl::StrAppend(&text, "every test at its own one-sided alpha of ", alpha,
                    tests.empty()
                        ? " (no test applies to this trial yet)"
                        : absl::StrCat(" (", absl::StrJoin(tests, "; "), ")"));
    if (policy.screening_fdr() && !screening.empty()) {
      absl::StrAppend(&text, ", preferred terms screened ", screening);
    }
    if (!policy.disable_bayesian() && !context.in.baselines.empty()) {
      absl::StrAppend(&text, "; a beta-binomial posterior P(p > p0) above ",
                      Number(thresholds.posterior, 3), " also flags");
    }
  } else {
    absl::StrAppend(&text,
                    "pre-specified rows (with a baseline, overall and AESI "
                    "rows) share the one-sided alpha of ",
                    alpha, " by Bonferroni");
    absl::StrAppend(&text, screening.empty()
                               ? "; other preferred terms are not screened "
                                 "(no control arm or dose trend to test "
                                 "them with)"
                               : absl::StrCat("; other preferred terms are "
                                              "screened ",
                                              screening));
  }
  if (!policy.disable_binomial() && !context.in.baselines.empty()) {
    absl::StrAppend(
        &text, policy.planned_subjects_per_group() > 0
                   ? absl::StrCat("; repeated looks against published "
                                  "baselines with exact Pocock-type "
                                  "boundaries up to ",
                                  policy.planned_subjects_per_group(),
                                  " subjects per group (Martens & Logan 2024)")
                   : "; exact binomial tests against published baselines at "
                     "the subjects enrolled (no planned enrolment is set, so "
                     "no repeated-look boundary)");
  }
  if (policy.maxsprt_planned_subjects() > 0) {
    absl::StrAppend(&text, "; Poisson MaxSPRT against baselines up to ",
                    policy.maxsprt_planned_subjects(), " subjects per group");
  }
  return absl::StrCat(text, "; see the methods and thresholds table.");
}

// The by-group comparisons the closed report's tables and figures show, as
// far as the trial has a control group and dose groups enough for a trend.
std::string ByGroupText(const v1::Trial& trial) {
  std::vector<std::string> parts;
  if (ControlGroup(trial) != nullptr) {
    parts.push_back(
        "risk differences and relative risks versus the control group with "
        "Miettinen-Nurminen score intervals (Miettinen & Nurminen 1985)");
  }
  if (HasTrendGroups(trial)) {
    parts.push_back(
        "dose trend by the Cochran-Armitage test, exact conditional p where "
        "feasible (Armitage 1955)");
  }
  if (parts.empty()) return "";
  return absl::StrCat("By-group comparisons: ", absl::StrJoin(parts, "; "),
                      ".");
}

// "MedDRA 26.1" as given, "26.1" with the dictionary's name before it.
std::string DictionaryText(absl::string_view dictionary,
                           const std::string& version) {
  if (version.empty()) {
    return absl::StrCat(dictionary, " not recorded for this trial");
  }
  if (absl::StartsWithIgnoreCase(version, dictionary)) return version;
  return absl::StrCat(dictionary, " ", version);
}

// How the grades were assigned, when not (only) as CTCAE grades: a
// severity scale makes "grade >= 3" mean severe or worse, and a mix makes
// it CTCAE grade >= 3 for some reports and severe or worse for the others.
std::string GradingText(const v1::Trial& trial) {
  if (trial.grading().empty()) return "";
  const bool mixed = absl::StartsWith(trial.grading(), "CTCAE");
  return absl::StrCat(" Grades are not ", mixed ? "all " : "",
                      "CTCAE grades: ", trial.grading(),
                      "; \"grade 3 or higher\" and \"any grade >= 3 AE\" ",
                      mixed ? "combine CTCAE grade >= 3 with severe or worse."
                            : "mean severe or worse.");
}

}  // namespace

void AddMethods(const Context& context, Document& document) {
  const v1::Trial& trial = context.in.trial;
  document.Section("Methods and footnotes");
  document.Paragraph(absl::StrCat(
      "Dictionaries: ", DictionaryText("MedDRA", trial.meddra_version()), "; ",
      DictionaryText("CTCAE", trial.ctcae_version()), ".", GradingText(trial)));
  document.Paragraph(
      "Data cut-off: every table, listing, figure and topic uses the AE "
      "report versions received at or before the cut-off (each report in "
      "its newest such version) and each subject as last updated at or "
      "before it; later reports, follow-ups and updates are not included. "
      "Signal topics are the topics as they stood at the cut-off.");
  const std::string confidence =
      Number(100 * context.in.pt.confidence_level(), 3);
  document.Paragraph(absl::StrCat(
      "Incidence: subjects with at least one AE of the row over subjects "
      "dosed, with exact Clopper-Pearson ",
      confidence,
      "% intervals (Clopper & Pearson 1934). Rates (t16): subjects with a "
      "first such AE per 100 patient-years at risk, with exact Poisson 95% "
      "intervals (Garwood 1936)."));
  if (context.closed) {
    if (std::string text = ByGroupText(trial); !text.empty()) {
      document.Paragraph(text);
    }
  }
  document.Paragraph(SignalMethodsText(context));
  if (absl::FromUnixSeconds(trial.update_time().seconds()) >
      absl::FromUnixSeconds(context.in.request.cutoff().seconds())) {
    document.Paragraph(absl::StrCat(
        "The trial's definition was amended after the data cut-off (version ",
        trial.version(), ", ", PrintedTime(trial.update_time()),
        "); dose groups, timepoints and the signal policy are printed as "
        "amended."));
  }
  document.Html(
      absl::StrCat("<p class=\"note\">Source: aesignal, trial ",
                   HtmlEscape(trial.trial_id()), ", data cut-off ",
                   HtmlEscape(PrintedTime(context.in.request.cutoff())),
                   ", content hash <code class=\"hash\"></code></p>\n"));
}

}  // namespace aesignal::report::internal
