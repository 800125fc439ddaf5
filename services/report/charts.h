// Deterministic SVG charts for the printed DSMB safety report (HTML printed
// to PDF by Chromium): a forest plot of estimates with intervals, and a line
// chart of estimates per category with interval error bars.
//
// Output is byte-for-byte identical for equal input (the report is content
// hashed): fixed number formatting, no clock, no randomness, no pointer-keyed
// containers. Each chart is one standalone SVG 1.1 element that can be
// inlined in HTML5:
//   - <svg ... width="100%" role="img" aria-labelledby="ID-title ID-desc">
//     with a <title> and a generated <desc>; ID is derived from the chart's
//     title (a slug plus a hash), so charts with different titles do not
//     clash on one page. Two charts with the SAME title get the same ids.
//   - Every text is XML-escaped. No scripts, no external resources, no
//     event handlers, no `style` attributes (the dashboard's CSP): colours
//     are presentation attributes (fill/stroke), which page CSS can override
//     through the class names (aes-chart, aes-forest, aes-line,
//     aes-chart-title, aes-legend, aes-series-N, aes-marker, aes-reference,
//     aes-axis, aes-grid, aes-tick-label, aes-axis-label, aes-row ...).
//   - Print friendly: black text, the Okabe-Ito palette, and a distinct
//     marker shape (and, in line charts, dash pattern) per series, so series
//     still read in greyscale.
//
// Example:
//   ForestPlot plot{.title = "Risk difference by PT",
//                   .x_label = "Risk difference vs placebo (95% CI)",
//                   .reference = 0,
//                   .rows = {{"Nausea", "10 mg", {0.05, -0.01, 0.11}}}};
//   std::string svg = ForestPlotSvg(plot);
//
// Pure functions: thread-safe.
#ifndef AESIGNAL_SERVICES_REPORT_CHARTS_H_
#define AESIGNAL_SERVICES_REPORT_CHARTS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace aesignal::report {

// One estimate with its interval (proportions in [0,1] or risk differences
// in [-1,1]). An estimate with a non-finite member is drawn as "NE" (not
// estimable) without a marker; lower > upper is treated as swapped.
struct Estimate {
  double value = 0, lower = 0, upper = 0;
};

// Forest plot: one row per (label, series) -- e.g. a PT per dose group's risk
// difference vs control. Consecutive rows with the same label and section
// form a group: the label is printed once and the group shares a background
// band.
struct ForestRow {
  std::string label;
  std::string series;
  Estimate estimate;
  // Printed in a column after the estimate when any row has one (e.g. the
  // counts behind it, "7/84 vs 2/86"); short: about 14 characters fit.
  std::string detail = {};
  // A heading printed on a line of its own above the first row of each run
  // of rows with the same section (e.g. a PT's system organ class); empty:
  // none.
  std::string section = {};
};
struct ForestPlot {
  std::string title;     // used for <title>, aria and the visible heading
  std::string x_label;   // e.g. "Risk difference vs placebo (95% CI)"
  double reference = 0;  // vertical reference line (0 difference, 1 ratio)
  std::vector<ForestRow> rows;  // in display order, top to bottom
  // Series names in the order of the drawing styles (colour, marker) to give
  // them, so a dose group looks the same in every chart of a document; a
  // series not named here takes the next style after these.
  std::vector<std::string> style_order = {};
  // The x axis covers at least [x_min, x_max] when set (the parts of one
  // long plot share an axis).
  std::optional<double> x_min = std::nullopt, x_max = std::nullopt;
  // Decimals of the estimate column (1 for percentage points).
  int decimals = 3;
  // Heading of the rows' detail column (ForestRow::detail).
  std::string detail_heading = {};
};

// The x axis is in the estimates' own units (not percent) and covers every
// interval and the reference. Labels longer than 40 characters are cut with
// an ellipsis (the full text is in the row's <title>). Height grows by 22
// units per row and per section heading (ForestLines). No rows: a small
// "No data" SVG.
std::string ForestPlotSvg(const ForestPlot& plot);

// The lines `rows` take in a forest plot: one per row, and one per section
// heading (a row whose non-empty section differs from the row above's, or
// the first row's).
size_t ForestLines(const std::vector<ForestRow>& rows);

// Whether two rows are of one group: the same label in the same section (a
// PT spelt alike under two SOCs is two groups).
bool SameForestGroup(const ForestRow& a, const ForestRow& b);

// Categories on x (timepoints, or dose groups), one line per series with CI
// error bars, y as a percentage (estimates are proportions: 0.12 is 12%),
// optional horizontal reference lines (e.g. a baseline's expected incidence
// with its citation as the label).
struct Series {
  std::string name;
  std::vector<std::optional<Estimate>> points;  // one per category;
                                                // nullopt = no point
};
struct ReferenceLine {
  double value = 0;  // a proportion, like the estimates
  std::string label;
  // Drawn as a short dash at this category only (a baseline for one
  // timepoint); unset: a line across the chart.
  std::optional<size_t> category = std::nullopt;
};
struct LineChart {
  std::string title;
  std::vector<std::string> categories;
  std::string x_label, y_label;
  std::vector<Series> series;
  std::vector<ReferenceLine> references;
  // As ForestPlot::style_order.
  std::vector<std::string> style_order = {};
};

// The y axis always includes 0%. A missing point breaks its series' line.
// No series or no categories: a small "No data" SVG.
std::string LineChartSvg(const LineChart& chart);

// Building blocks, exposed for tests.
namespace internal {

// A "nice" axis: ticks at integer multiples of step (1, 2 or 5 times a power
// of ten), min <= lo and max >= hi.
struct NiceAxis {
  double min = 0, max = 1, step = 0.2;
  int decimals = 1;  // enough to print every tick exactly
  std::vector<double> ticks;
};
NiceAxis MakeNiceAxis(double lo, double hi, int target_ticks = 5);

// Escapes & < > " ' for XML text and attributes; control characters other
// than tab and newline become spaces (they are not allowed in XML 1.0).
std::string XmlEscape(absl::string_view text);

// At most max_chars code points of UTF-8 text; longer text is cut to
// max_chars - 1 code points plus an ellipsis (U+2026).
std::string TruncateLabel(absl::string_view text, size_t max_chars);

// "aes-<slug>-<8 hex digits of a hash of title>": a valid XML/HTML id.
std::string ChartId(absl::string_view title);

}  // namespace internal
}  // namespace aesignal::report

#endif  // AESIGNAL_SERVICES_REPORT_CHARTS_H_
