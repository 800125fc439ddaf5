#include "services/report/charts.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace aesignal::report {
namespace internal {

NiceAxis MakeNiceAxis(double lo, double hi, int target_ticks) {
  // Far beyond any proportion or ratio: keeps the arithmetic finite.
  constexpr double kLimit = 1e9;
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  lo = std::clamp(lo, -kLimit, kLimit);
  hi = std::clamp(hi, -kLimit, kLimit);
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo < 1e-12) {
    const double pad = std::max(std::abs(lo) * 0.1, 0.01);
    lo -= pad;
    hi += pad;
  }
  const double rough = (hi - lo) / std::max(target_ticks, 2);
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  const double norm = rough / magnitude;
  const double mult = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10;
  NiceAxis axis;
  axis.step = mult * magnitude;
  double kmin = std::floor(lo / axis.step);
  if (kmin * axis.step > lo) kmin -= 1;
  double kmax = std::ceil(hi / axis.step);
  if (kmax * axis.step < hi) kmax += 1;
  // + 0.0 turns -0.0 into 0.0.
  axis.min = kmin * axis.step + 0.0;
  axis.max = kmax * axis.step + 0.0;
  for (double k = kmin; k <= kmax; k += 1) {
    axis.ticks.push_back(k * axis.step + 0.0);
  }
  axis.decimals = 0;
  while (axis.decimals < 12) {
    const double scaled = axis.step * std::pow(10.0, axis.decimals);
    if (std::abs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) {
      break;
    }
    ++axis.decimals;
  }
  return axis;
}

std::string XmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

namespace {
bool IsLeadByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
}
}  // namespace

std::string TruncateLabel(absl::string_view text, size_t max_chars) {
  const size_t count =
      static_cast<size_t>(std::count_if(text.begin(), text.end(), IsLeadByte));
  if (count <= max_chars) return std::string(text);
  if (max_chars == 0) return "";
  size_t seen = 0;
  size_t end = 0;
  for (; end < text.size(); ++end) {
    if (!IsLeadByte(text[end])) continue;
    if (seen == max_chars - 1) break;
    ++seen;
  }
  return absl::StrCat(absl::StripTrailingAsciiWhitespace(text.substr(0, end)),
                      "\u2026");
}

std::string ChartId(absl::string_view title) {
  uint32_t hash = 2166136261u;  // 32-bit FNV-1a
  for (const char c : title) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  std::string slug;
  for (const char c : title) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      if (slug.size() >= 24) break;
      slug += absl::ascii_tolower(static_cast<unsigned char>(c));
    } else if (!slug.empty() && slug.back() != '-') {
      slug += '-';
    }
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return absl::StrFormat("aes-%s%s%08x", slug, slug.empty() ? "" : "-", hash);
}

}  // namespace internal

namespace {

using internal::TruncateLabel;
using internal::XmlEscape;

constexpr double kWidth = 720;
// Mean advance of a glyph at font-size 11 in Helvetica/Arial, for layout.
constexpr double kCharWidth = 6.1;
constexpr size_t kMaxLabelChars = 40;
constexpr double kRowHeight = 22;
constexpr char kFontFamily[] = "Helvetica, Arial, Liberation Sans, sans-serif";

// Okabe & Ito (2008), without yellow (too light on white paper).
constexpr std::array<const char*, 7> kColors = {"#0072B2", "#D55E00", "#009E73",
                                                "#CC79A7", "#E69F00", "#56B4E9",
                                                "#000000"};
// Marker paths centred on the origin: circle, square, triangle, diamond,
// inverted triangle, plus, cross, and (drawn open) circle.
constexpr char kCirclePath[] =
    "M-4.5,0A4.5,4.5 0 1,0 4.5,0A4.5,4.5 0 1,0 -4.5,0Z";
constexpr std::array<const char*, 8> kShapes = {
    kCirclePath,
    "M-4,-4H4V4H-4Z",
    "M0,-5.2L4.8,3.4H-4.8Z",
    "M0,-5.5L5,0L0,5.5L-5,0Z",
    "M0,5.2L4.8,-3.4H-4.8Z",
    "M-1.6,-5H1.6V-1.6H5V1.6H1.6V5H-1.6V1.6H-5V-1.6H-1.6Z",
    "M-3.6,-5.2L0,-1.6L3.6,-5.2L5.2,-3.6L1.6,0L5.2,3.6L3.6,5.2L0,1.6L-3.6,"
    "5.2L-5.2,3.6L-1.6,0L-5.2,-3.6Z",
    kCirclePath};
constexpr std::array<const char*, 4> kDashes = {"", "6 3", "2 3", "8 3 2 3"};

const char* Color(size_t series) { return kColors[series % kColors.size()]; }

size_t CodePoints(absl::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// "-0", "-0.00" -> "0", "0.00".
std::string NoNegativeZero(std::string s) {
  if (!s.empty() && s[0] == '-' &&
      s.find_first_not_of("0.", 1) == std::string::npos) {
    s.erase(0, 1);
  }
  return s;
}

std::string Fixed(double v, int decimals) {
  return NoNegativeZero(absl::StrFormat("%.*f", decimals, v));
}

// A coordinate: two decimals, trailing zeros dropped.
std::string Num(double v) {
  if (!std::isfinite(v)) v = 0;
  std::string s = absl::StrFormat("%.2f", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return NoNegativeZero(std::move(s));
}

bool Finite(const Estimate& e) {
  return std::isfinite(e.value) && std::isfinite(e.lower) &&
         std::isfinite(e.upper);
}

Estimate Ordered(const Estimate& e) {
  return {e.value, std::min(e.lower, e.upper), std::max(e.lower, e.upper)};
}

// Linear map of the domain [d0, d1] onto [r0, r1], clamped to the domain.
struct Scale {
  double d0, d1, r0, r1;
  double operator()(double v) const {
    v = std::clamp(v, std::min(d0, d1), std::max(d0, d1));
    return r0 + (v - d0) / (d1 - d0) * (r1 - r0);
  }
};

std::string Line(double x1, double y1, double x2, double y2,
                 absl::string_view cls, absl::string_view stroke, double width,
                 absl::string_view dash = "") {
  return absl::StrFormat(
      "<line class=\"%s\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" "
      "stroke=\"%s\" stroke-width=\"%s\"%s/>\n",
      cls, Num(x1), Num(y1), Num(x2), Num(y2), stroke, Num(width),
      dash.empty() ? "" : absl::StrCat(" stroke-dasharray=\"", dash, "\""));
}

// `text` is escaped here; `extra` is trusted attribute markup.
std::string Text(double x, double y, absl::string_view anchor,
                 absl::string_view cls, absl::string_view text,
                 absl::string_view extra = "") {
  return absl::StrFormat(
      "<text class=\"%s\" x=\"%s\" y=\"%s\" text-anchor=\"%s\"%s>%s</text>\n",
      cls, Num(x), Num(y), anchor, extra, XmlEscape(text));
}

std::string TitleElement(absl::string_view text) {
  return absl::StrCat("<title>", XmlEscape(text), "</title>");
}

std::string Marker(size_t series, double x, double y, absl::string_view cls) {
  const size_t shape = series % kShapes.size();
  const bool open = shape == kShapes.size() - 1;
  return absl::StrFormat(
      "<path class=\"%s aes-series-%d\" transform=\"translate(%s,%s)\" "
      "d=\"%s\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%s\"/>\n",
      cls, series, Num(x), Num(y), kShapes[shape],
      open ? "#FFFFFF" : Color(series), Color(series), open ? "1.5" : "0.75");
}

std::string OpenSvg(absl::string_view id, absl::string_view kind, double height,
                    absl::string_view title, absl::string_view desc) {
  return absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
      "viewBox=\"0 0 %s %s\" width=\"100%%\" role=\"img\" "
      "aria-labelledby=\"%s-title %s-desc\" class=\"aes-chart aes-%s\" "
      "font-family=\"%s\" font-size=\"11\" fill=\"#000000\">\n"
      "<title id=\"%s-title\">%s</title>\n<desc id=\"%s-desc\">%s</desc>\n",
      Num(kWidth), Num(height), id, id, kind, kFontFamily, id, XmlEscape(title),
      id, XmlEscape(desc));
}

// The visible heading, at the top left.
std::string VisibleTitle(absl::string_view title) {
  return Text(8, 20, "start", "aes-chart-title", TruncateLabel(title, 90),
              " font-size=\"14\" font-weight=\"bold\"");
}

std::string NoDataSvg(absl::string_view title, absl::string_view kind,
                      absl::string_view kind_name) {
  const std::string id = internal::ChartId(title);
  return absl::StrCat(
      OpenSvg(id, kind, 110, title, absl::StrCat(kind_name, ": no data.")),
      VisibleTitle(title),
      "<rect class=\"aes-frame\" x=\"8\" y=\"32\" width=\"704\" height=\"68\" "
      "fill=\"none\" stroke=\"#BBBBBB\" stroke-width=\"1\"/>\n",
      Text(kWidth / 2, 71, "middle", "aes-no-data", "No data",
           " font-size=\"14\""),
      "</svg>\n");
}

// The drawing style of each of `names`: its index in `order`, else the next
// free one after `order` in the order of `names`.
std::vector<size_t> StylesOf(const std::vector<std::string>& names,
                             const std::vector<std::string>& order) {
  std::vector<size_t> styles;
  size_t next = order.size();
  for (const std::string& name : names) {
    const auto at = std::find(order.begin(), order.end(), name);
    styles.push_back(at != order.end() ? static_cast<size_t>(at - order.begin())
                                       : next++);
  }
  return styles;
}

// A legend entry per name (names[i] is drawn in style styles[i]), wrapped to
// the chart's width from y down. Returns the height used.
double AppendLegend(const std::vector<std::string>& names,
                    const std::vector<size_t>& styles, double y,
                    bool line_sample, std::string& out) {
  const double sample = line_sample ? 28 : 12;
  double x = 8;
  double row_y = y + 10;
  out += "<g class=\"aes-legend\">\n";
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string name = TruncateLabel(names[i], kMaxLabelChars);
    const double width = sample + 6 + CodePoints(name) * kCharWidth;
    if (x > 8 && x + width > kWidth - 8) {
      x = 8;
      row_y += 18;
    }
    out += "<g class=\"aes-legend-item\">";
    if (name != names[i]) out += TitleElement(names[i]);
    out += "\n";
    const size_t style = styles[i];
    if (line_sample) {
      out += Line(x, row_y, x + sample, row_y,
                  absl::StrCat("aes-legend-line aes-series-", style),
                  Color(style), 2, kDashes[style % kDashes.size()]);
    }
    out += Marker(style, x + sample / 2, row_y, "aes-legend-marker");
    out += Text(x + sample + 6, row_y + 4, "start", "aes-legend-label", name);
    out += "</g>\n";
    x += width + 18;
  }
  out += "</g>\n";
  return row_y - y + 16;
}

// ----------------------------------------------------------------------------
// Forest plot.

constexpr double kForestLeft = 276;

std::vector<std::string> ForestSeries(const std::vector<ForestRow>& rows) {
  std::vector<std::string> names;
  for (const ForestRow& row : rows) {
    if (std::find(names.begin(), names.end(), row.series) == names.end()) {
      names.push_back(row.series);
    }
  }
  return names;
}

size_t IndexOf(const std::vector<std::string>& names, absl::string_view name) {
  return static_cast<size_t>(std::find(names.begin(), names.end(), name) -
                             names.begin());
}

internal::NiceAxis ForestAxis(const ForestPlot& plot) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  if (std::isfinite(plot.reference)) lo = hi = plot.reference;
  if (plot.x_min.has_value()) lo = std::min(lo, *plot.x_min);
  if (plot.x_max.has_value()) hi = std::max(hi, *plot.x_max);
  for (const ForestRow& row : plot.rows) {
    if (!Finite(row.estimate)) continue;
    const Estimate e = Ordered(row.estimate);
    lo = std::min({lo, e.lower, e.value});
    hi = std::max({hi, e.upper, e.value});
  }
  if (lo > hi) lo = hi = 0;
  return internal::MakeNiceAxis(lo, hi, 5);
}

std::string EstimateText(const Estimate& e, int decimals) {
  if (!Finite(e)) return "NE";
  const Estimate o = Ordered(e);
  return absl::StrCat(Fixed(o.value, decimals), " (", Fixed(o.lower, decimals),
                      ", ", Fixed(o.upper, decimals), ")");
}

// Where the plot ends and the text columns start: the plot gives up width to
// a detail column when rows have one, as much as its widest text needs
// (counts of arms in the hundreds are wider than in the tens).
struct ForestColumns {
  double plot_right = 556;
  double values_x = 568;
  std::optional<double> detail_x;
};

ForestColumns ColumnsOf(const ForestPlot& plot) {
  size_t detail_chars = 0;
  size_t value_chars = CodePoints("Estimate (interval)");
  for (const ForestRow& row : plot.rows) {
    detail_chars = std::max(detail_chars, CodePoints(row.detail));
    value_chars = std::max(
        value_chars, CodePoints(EstimateText(row.estimate, plot.decimals)));
  }
  if (detail_chars == 0) return {};
  detail_chars = std::max(detail_chars, CodePoints(plot.detail_heading));
  constexpr double kRightMargin = 712, kGap = 12;
  const double detail_x = kRightMargin - detail_chars * kCharWidth;
  const double values_x = detail_x - kGap - value_chars * kCharWidth;
  return {.plot_right = values_x - kGap,
          .values_x = values_x,
          .detail_x = detail_x};
}

bool StartsSection(const std::vector<ForestRow>& rows, size_t i) {
  return !rows[i].section.empty() &&
         (i == 0 || rows[i].section != rows[i - 1].section);
}

// Where each row's line starts, below `top`: rows follow each other, and a
// section's heading takes the line above its first row.
struct ForestLayout {
  std::vector<double> row_top;
  std::vector<double> heading_top;  // per row; NaN without a heading
  double bottom = 0;
};

ForestLayout LayOutForest(const std::vector<ForestRow>& rows, double top) {
  ForestLayout layout;
  double y = top;
  for (size_t i = 0; i < rows.size(); ++i) {
    layout.heading_top.push_back(std::numeric_limits<double>::quiet_NaN());
    if (StartsSection(rows, i)) {
      layout.heading_top.back() = y;
      y += kRowHeight;
    }
    layout.row_top.push_back(y);
    y += kRowHeight;
  }
  layout.bottom = y;
  return layout;
}

// Background bands, alternating per group of rows with the same label.
void AppendForestBands(const std::vector<ForestRow>& rows,
                       const ForestLayout& layout, std::string& out) {
  bool shaded = true;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i == 0 || !SameForestGroup(rows[i], rows[i - 1])) shaded = !shaded;
    if (!shaded) continue;
    out += absl::StrFormat(
        "<rect class=\"aes-band\" x=\"4\" y=\"%s\" width=\"712\" "
        "height=\"%s\" fill=\"#F0F0F0\"/>\n",
        Num(layout.row_top[i]), Num(kRowHeight));
  }
}

// Section headings over the grid, each on a white line of its own (a long
// system organ class runs into the plot's width).
void AppendForestHeadings(const std::vector<ForestRow>& rows,
                          const ForestLayout& layout, std::string& out) {
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!StartsSection(rows, i)) continue;
    const double y = layout.heading_top[i];
    out += absl::StrFormat(
        "<rect class=\"aes-section-band\" x=\"4\" y=\"%s\" width=\"712\" "
        "height=\"%s\" fill=\"#FFFFFF\"/>\n",
        Num(y), Num(kRowHeight));
    out += Text(8, y + kRowHeight / 2 + 4, "start", "aes-section",
                rows[i].section, " font-weight=\"bold\"");
  }
}

void AppendForestRow(const ForestRow& row, bool first_of_group, size_t series,
                     int decimals, const Scale& x, const ForestColumns& columns,
                     double y, std::string& out) {
  const std::string value_text = EstimateText(row.estimate, decimals);
  out += absl::StrCat(
      "<g class=\"aes-row\">",
      TitleElement(absl::StrCat(row.label, row.series.empty() ? "" : " \u2014 ",
                                row.series, ": ", value_text,
                                row.detail.empty() ? "" : "; ", row.detail)),
      "\n");
  if (first_of_group) {
    // Indented under a section heading.
    out += Text(row.section.empty() ? 8 : 18, y + 4, "start", "aes-row-label",
                TruncateLabel(row.label, kMaxLabelChars));
  }
  if (Finite(row.estimate)) {
    const Estimate e = Ordered(row.estimate);
    const std::string cls = absl::StrCat("aes-interval aes-series-", series);
    out += Line(x(e.lower), y, x(e.upper), y, cls, Color(series), 1.5);
    out += Line(x(e.lower), y - 4, x(e.lower), y + 4, cls, Color(series), 1.5);
    out += Line(x(e.upper), y - 4, x(e.upper), y + 4, cls, Color(series), 1.5);
    out += Marker(series, x(e.value), y, "aes-marker");
  }
  out += Text(columns.values_x, y + 4, "start", "aes-row-value", value_text);
  if (columns.detail_x.has_value()) {
    out +=
        Text(*columns.detail_x, y + 4, "start", "aes-row-detail", row.detail);
  }
  out += "</g>\n";
}

// Grid, axis line, ticks and labels below the rows (at axis_y).
void AppendForestAxis(const internal::NiceAxis& axis, const Scale& x,
                      double top, double axis_y, absl::string_view x_label,
                      double plot_right, std::string& out) {
  out += "<g class=\"aes-axis aes-x-axis\">\n";
  for (const double tick : axis.ticks) {
    out += Line(x(tick), top, x(tick), axis_y, "aes-grid", "#D9D9D9", 0.75);
    out += Line(x(tick), axis_y, x(tick), axis_y + 4, "aes-tick", "#000000", 1);
    out += Text(x(tick), axis_y + 16, "middle", "aes-tick-label",
                Fixed(tick, axis.decimals));
  }
  out += Line(kForestLeft, axis_y, plot_right, axis_y, "aes-axis-line",
              "#000000", 1);
  out += Text((kForestLeft + plot_right) / 2, axis_y + 34, "middle",
              "aes-axis-label", x_label);
  out += "</g>\n";
}

std::string ForestDesc(const ForestPlot& plot,
                       const std::vector<std::string>& series,
                       const internal::NiceAxis& axis) {
  return absl::StrFormat(
      "Forest plot of %d rows in %d series (%s). X axis: %s, from %s to %s; "
      "reference line at %s.",
      plot.rows.size(), series.size(), absl::StrJoin(series, ", "),
      plot.x_label, Fixed(axis.min, axis.decimals),
      Fixed(axis.max, axis.decimals), Fixed(plot.reference, 3));
}

// ----------------------------------------------------------------------------
// Line chart.

constexpr double kLineLeft = 70;
constexpr double kLineRight = 704;
constexpr double kLinePlotHeight = 280;

bool Usable(const std::optional<Estimate>& point) {
  return point.has_value() && Finite(*point);
}

// A reference is drawn if its value is finite and its category, if it
// has one, is on the chart.
bool Drawn(const ReferenceLine& ref, size_t categories) {
  return std::isfinite(ref.value) &&
         (!ref.category.has_value() || *ref.category < categories);
}

internal::NiceAxis LineAxis(const LineChart& chart) {
  double lo = 0;  // percent; 0% is always on the axis
  double hi = 0;
  for (const Series& s : chart.series) {
    const size_t n = std::min(s.points.size(), chart.categories.size());
    for (size_t c = 0; c < n; ++c) {
      if (!Usable(s.points[c])) continue;
      const Estimate e = Ordered(*s.points[c]);
      lo = std::min({lo, 100 * e.lower, 100 * e.value});
      hi = std::max({hi, 100 * e.upper, 100 * e.value});
    }
  }
  for (const ReferenceLine& ref : chart.references) {
    if (!Drawn(ref, chart.categories.size())) continue;
    lo = std::min(lo, 100 * ref.value);
    hi = std::max(hi, 100 * ref.value);
  }
  return internal::MakeNiceAxis(lo, std::max(hi, lo + 1), 5);
}

struct LineGeometry {
  double top, bottom;
  size_t categories, series;
  double Band() const { return (kLineRight - kLineLeft) / categories; }
  double X(size_t category, size_t s) const {
    const double dodge = std::min(8.0, Band() * 0.5 / series);
    return kLineLeft + (category + 0.5) * Band() +
           (s - (series - 1) / 2.0) * dodge;
  }
};

// A category label on at most three lines of `max_chars`, broken at spaces;
// what does not fit is cut with an ellipsis (the full text is the tick's
// <title>). Three lines, because a trial with 11 timepoints leaves 9
// characters a tick, and the CDISC pilot's last one is "Day 212 (end of
// data)".
constexpr size_t kMaxTickLines = 3;
constexpr double kTickLineHeight = 12;

std::vector<std::string> WrapLabel(absl::string_view text, size_t max_chars) {
  if (CodePoints(text) <= max_chars) return {std::string(text)};
  std::vector<std::string> lines(1);
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    std::string& line = lines.back();
    const size_t wanted =
        CodePoints(line) + (line.empty() ? 0 : 1) + CodePoints(word);
    if (!line.empty() && wanted > max_chars && lines.size() < kMaxTickLines) {
      lines.emplace_back(word);
    } else {
      absl::StrAppend(&line, line.empty() ? "" : " ", word);
    }
  }
  for (std::string& line : lines) line = TruncateLabel(line, max_chars);
  return lines;
}

size_t TickCharacters(const LineGeometry& g) {
  return std::max<size_t>(3, static_cast<size_t>(g.Band() / kCharWidth));
}

// How far below the plot the x axis's title goes: under the tallest
// category label.
double XAxisTitleOffset(const LineChart& chart, const LineGeometry& g) {
  size_t lines = 1;
  for (const std::string& category : chart.categories) {
    lines = std::max(lines, WrapLabel(category, TickCharacters(g)).size());
  }
  return 38 + kTickLineHeight * (std::max<size_t>(lines, 2) - 2);
}

void AppendLineGridAndAxes(const LineChart& chart,
                           const internal::NiceAxis& axis, const Scale& y,
                           const LineGeometry& g, std::string& out) {
  out += "<g class=\"aes-axis aes-y-axis\">\n";
  for (const double tick : axis.ticks) {
    out += Line(kLineLeft, y(tick), kLineRight, y(tick), "aes-grid", "#D9D9D9",
                0.75);
    out += Text(kLineLeft - 6, y(tick) + 4, "end", "aes-tick-label",
                absl::StrCat(Fixed(tick, axis.decimals), "%"));
  }
  out += Line(kLineLeft, g.top, kLineLeft, g.bottom, "aes-axis-line", "#000000",
              1);
  const std::string center = Num((g.top + g.bottom) / 2);
  out += Text(
      0, 0, "middle", "aes-axis-label", chart.y_label,
      absl::StrCat(" transform=\"translate(16,", center, ") rotate(-90)\""));
  out += "</g>\n<g class=\"aes-axis aes-x-axis\">\n";
  const size_t max_chars = TickCharacters(g);
  for (size_t c = 0; c < g.categories; ++c) {
    const double x = kLineLeft + (c + 0.5) * g.Band();
    const std::vector<std::string> lines =
        WrapLabel(chart.categories[c], max_chars);
    const bool cut = absl::StrJoin(lines, " ") != chart.categories[c];
    out += Line(x, g.bottom, x, g.bottom + 4, "aes-tick", "#000000", 1);
    if (cut)
      out += absl::StrCat("<g>", TitleElement(chart.categories[c]), "\n");
    if (lines.size() == 1) {
      out += Text(x, g.bottom + 16, "middle", "aes-tick-label", lines[0]);
    } else {
      out += absl::StrFormat(
          "<text class=\"aes-tick-label\" x=\"%s\" y=\"%s\" "
          "text-anchor=\"middle\">",
          Num(x), Num(g.bottom + 16));
      for (size_t i = 0; i < lines.size(); ++i) {
        out += absl::StrFormat("<tspan x=\"%s\" dy=\"%s\">%s</tspan>", Num(x),
                               Num(i == 0 ? 0.0 : kTickLineHeight),
                               XmlEscape(lines[i]));
      }
      out += "</text>\n";
    }
    if (cut) out += "</g>\n";
  }
  out += Line(kLineLeft, g.bottom, kLineRight, g.bottom, "aes-axis-line",
              "#000000", 1);
  out +=
      Text((kLineLeft + kLineRight) / 2, g.bottom + XAxisTitleOffset(chart, g),
           "middle", "aes-axis-label", chart.x_label);
  out += "</g>\n";
}

// Where a reference label goes: above its line, moved up a line at a time
// while it would overlap one placed before (two baselines of nearby value
// and timepoint would print over each other).
double FreeLabelY(double x0, double x1, double y, double top,
                  std::vector<std::array<double, 3>>& placed) {
  constexpr double kLine = 11;
  for (int tries = 0; tries < 6; ++tries) {
    const bool clash =
        std::any_of(placed.begin(), placed.end(), [&](const auto& p) {
          return x0 < p[1] && p[0] < x1 && std::abs(y - p[2]) < kLine;
        });
    if (!clash || y - kLine < top) break;
    y -= kLine;
  }
  placed.push_back({x0, x1, y});
  return y;
}

// Reference lines go under the series and their labels over them (with a
// white halo, so a crossing error bar does not hide the citation). One for a
// single category is a dash across most of that category's band, labelled
// above its left end.
void AppendReferences(const std::vector<ReferenceLine>& refs, const Scale& y,
                      const LineGeometry& g, bool labels, std::string& out) {
  std::vector<std::array<double, 3>> placed;  // label boxes: x0, x1, y
  for (const ReferenceLine& ref : refs) {
    if (!Drawn(ref, g.categories)) continue;
    const double at = y(100 * ref.value);
    double left = kLineLeft, right = kLineRight;
    if (ref.category.has_value()) {
      const double center = kLineLeft + (*ref.category + 0.5) * g.Band();
      left = center - 0.4 * g.Band();
      right = center + 0.4 * g.Band();
    }
    const std::string title = TitleElement(
        absl::StrCat(ref.label, ": ", Fixed(100 * ref.value, 1), "%"));
    if (!labels) {
      out += absl::StrCat("<g class=\"aes-reference-group\">", title, "\n",
                          Line(left, at, right, at, "aes-reference", "#555555",
                               ref.category.has_value() ? 2.0 : 1.25, "6 4"),
                          "</g>\n");
      continue;
    }
    const bool across = !ref.category.has_value();
    const std::string label = TruncateLabel(ref.label, across ? 95 : 40);
    const double width = CodePoints(label) * kCharWidth;
    const double x0 = across ? right - 4 - width : left;
    const double label_y =
        FreeLabelY(x0, x0 + width, at - 4, g.top + 10, placed);
    out += absl::StrCat(
        "<g class=\"aes-reference-group\">", title, "\n",
        Text(across ? right - 4 : left, label_y, across ? "end" : "start",
             "aes-reference-label", label,
             " stroke=\"#FFFFFF\" stroke-width=\"3\" "
             "stroke-linejoin=\"round\" paint-order=\"stroke\""),
        "</g>\n");
  }
}

std::string PointTitle(const LineChart& chart, const Series& s, size_t c) {
  const Estimate e = Ordered(*s.points[c]);
  return absl::StrCat(s.name, ", ", chart.categories[c], ": ",
                      Fixed(100 * e.value, 1), "% (", Fixed(100 * e.lower, 1),
                      "%, ", Fixed(100 * e.upper, 1), "%)");
}

// One series: its line (broken at missing points), then per point an error
// bar and a marker.
void AppendSeries(const LineChart& chart, size_t index, size_t style,
                  const Scale& y, const LineGeometry& g, std::string& out) {
  const Series& s = chart.series[index];
  const size_t n = std::min(s.points.size(), g.categories);
  const std::string cls = absl::StrCat("aes-series-", style);
  out += absl::StrCat("<g class=\"aes-series ", cls, "\">\n");
  std::vector<std::string> run;
  for (size_t c = 0; c <= n; ++c) {
    if (c < n && Usable(s.points[c])) {
      run.push_back(absl::StrCat(Num(g.X(c, index)), ",",
                                 Num(y(100 * s.points[c]->value))));
      continue;
    }
    if (run.size() >= 2) {
      out += absl::StrFormat(
          "<polyline class=\"aes-line %s\" points=\"%s\" fill=\"none\" "
          "stroke=\"%s\" stroke-width=\"1.75\"%s/>\n",
          cls, absl::StrJoin(run, " "), Color(style),
          style % kDashes.size() == 0
              ? ""
              : absl::StrCat(" stroke-dasharray=\"",
                             kDashes[style % kDashes.size()], "\""));
    }
    run.clear();
  }
  for (size_t c = 0; c < n; ++c) {
    if (!Usable(s.points[c])) continue;
    const Estimate e = Ordered(*s.points[c]);
    const double x = g.X(c, index);
    const double lo = y(100 * e.lower), hi = y(100 * e.upper);
    const std::string bar = absl::StrCat("aes-error-bar ", cls);
    out += absl::StrCat(
        "<g class=\"aes-point\">", TitleElement(PointTitle(chart, s, c)), "\n",
        Line(x, lo, x, hi, bar, Color(style), 1.25),
        Line(x - 3, lo, x + 3, lo, bar, Color(style), 1.25),
        Line(x - 3, hi, x + 3, hi, bar, Color(style), 1.25),
        Marker(style, x, y(100 * e.value), "aes-marker"), "</g>\n");
  }
  out += "</g>\n";
}

std::string LineDesc(const LineChart& chart, const internal::NiceAxis& axis) {
  std::vector<std::string> names;
  for (const Series& s : chart.series) names.push_back(s.name);
  std::vector<std::string> refs;
  for (const ReferenceLine& r : chart.references) {
    if (!Drawn(r, chart.categories.size())) continue;
    refs.push_back(absl::StrCat(
        r.label, " at ", Fixed(100 * r.value, 1), "%",
        r.category.has_value()
            ? absl::StrCat(" (", chart.categories[*r.category], ")")
            : ""));
  }
  return absl::StrFormat(
      "Line chart of %d series (%s) over %d categories (%s), with interval "
      "error bars. Y axis: %s, from %s%% to %s%%.%s",
      chart.series.size(), absl::StrJoin(names, ", "), chart.categories.size(),
      absl::StrJoin(chart.categories, ", "), chart.y_label,
      Fixed(axis.min, axis.decimals), Fixed(axis.max, axis.decimals),
      refs.empty()
          ? ""
          : absl::StrCat(" Reference lines: ", absl::StrJoin(refs, "; "), "."));
}

}  // namespace

std::string ForestPlotSvg(const ForestPlot& plot) {
  if (plot.rows.empty()) return NoDataSvg(plot.title, "forest", "Forest plot");
  const std::vector<std::string> series = ForestSeries(plot.rows);
  const std::vector<size_t> styles = StylesOf(series, plot.style_order);
  std::string body = VisibleTitle(plot.title);
  double top = 32;
  const bool named =
      std::any_of(series.begin(), series.end(),
                  [](const std::string& s) { return !s.empty(); });
  if (named) {
    top += AppendLegend(series, styles, top, /*line_sample=*/false, body);
  }
  top += 18;  // column headings
  const ForestColumns columns = ColumnsOf(plot);
  body += Text(columns.values_x, top - 6, "start", "aes-column-heading",
               "Estimate (interval)", " font-weight=\"bold\"");
  if (columns.detail_x.has_value()) {
    body += Text(*columns.detail_x, top - 6, "start", "aes-column-heading",
                 plot.detail_heading, " font-weight=\"bold\"");
  }
  const ForestLayout layout = LayOutForest(plot.rows, top);
  const double axis_y = layout.bottom + 4;
  const internal::NiceAxis axis = ForestAxis(plot);
  const Scale x{axis.min, axis.max, kForestLeft, columns.plot_right};
  AppendForestBands(plot.rows, layout, body);
  AppendForestAxis(axis, x, top, axis_y, plot.x_label, columns.plot_right,
                   body);
  if (std::isfinite(plot.reference)) {
    body += Line(x(plot.reference), top, x(plot.reference), axis_y,
                 "aes-reference", "#000000", 1, "4 3");
  }
  AppendForestHeadings(plot.rows, layout, body);
  for (size_t i = 0; i < plot.rows.size(); ++i) {
    const ForestRow& row = plot.rows[i];
    AppendForestRow(row, i == 0 || !SameForestGroup(row, plot.rows[i - 1]),
                    styles[IndexOf(series, row.series)], plot.decimals, x,
                    columns, layout.row_top[i] + kRowHeight / 2, body);
  }
  return absl::StrCat(
      OpenSvg(internal::ChartId(plot.title), "forest", axis_y + 46, plot.title,
              ForestDesc(plot, series, axis)),
      body, "</svg>\n");
}

bool SameForestGroup(const ForestRow& a, const ForestRow& b) {
  return a.label == b.label && a.section == b.section;
}

size_t ForestLines(const std::vector<ForestRow>& rows) {
  size_t lines = rows.size();
  for (size_t i = 0; i < rows.size(); ++i) lines += StartsSection(rows, i);
  return lines;
}

std::string LineChartSvg(const LineChart& chart) {
  if (chart.series.empty() || chart.categories.empty()) {
    return NoDataSvg(chart.title, "line", "Line chart");
  }
  std::vector<std::string> names;
  for (const Series& s : chart.series) names.push_back(s.name);
  const std::vector<size_t> styles = StylesOf(names, chart.style_order);
  std::string body = VisibleTitle(chart.title);
  const double legend_top = 32;
  const double top = legend_top +
                     AppendLegend(names, styles, legend_top,
                                  /*line_sample=*/true, body) +
                     10;
  const LineGeometry g{top, top + kLinePlotHeight, chart.categories.size(),
                       chart.series.size()};
  const internal::NiceAxis axis = LineAxis(chart);
  const Scale y{axis.min, axis.max, g.bottom, g.top};
  AppendLineGridAndAxes(chart, axis, y, g, body);
  AppendReferences(chart.references, y, g, /*labels=*/false, body);
  for (size_t i = 0; i < chart.series.size(); ++i) {
    AppendSeries(chart, i, styles[i], y, g, body);
  }
  AppendReferences(chart.references, y, g, /*labels=*/true, body);
  return absl::StrCat(OpenSvg(internal::ChartId(chart.title), "line",
                              g.bottom + XAxisTitleOffset(chart, g) + 12,
                              chart.title, LineDesc(chart, axis)),
                      body, "</svg>\n");
}

}  // namespace aesignal::report
