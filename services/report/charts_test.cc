#include "services/report/charts.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aesignal::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

std::vector<std::smatch> Matches(const std::string& svg,
                                 const std::string& pattern) {
  const std::regex re(pattern);
  return {std::sregex_iterator(svg.begin(), svg.end(), re),
          std::sregex_iterator()};
}

// The height in an SVG's viewBox.
double SvgHeight(const std::string& svg) {
  const std::vector<std::smatch> box =
      Matches(svg, "viewBox=\"0 0 [0-9.]+ ([0-9.]+)\"");
  return box.empty() ? -1 : std::stod(box[0][1]);
}

struct Tick {
  double position;  // x or y
  double value;
};

// The x-axis tick labels of a forest plot.
std::vector<Tick> XTicks(const std::string& svg) {
  std::vector<Tick> ticks;
  for (const std::smatch& m :
       Matches(svg,
               "class=\"aes-tick-label\" x=\"([-0-9.]+)\" y=\"[-0-9.]+\" "
               "text-anchor=\"middle\">([-0-9.]+)<")) {
    ticks.push_back({std::stod(m[1]), std::stod(m[2])});
  }
  return ticks;
}

// The y-axis tick labels of a line chart (percent).
std::vector<Tick> YTicks(const std::string& svg) {
  std::vector<Tick> ticks;
  for (const std::smatch& m :
       Matches(svg,
               "class=\"aes-tick-label\" x=\"[-0-9.]+\" y=\"([-0-9.]+)\" "
               "text-anchor=\"end\">([-0-9.]+)%<")) {
    ticks.push_back({std::stod(m[1]) - 4, std::stod(m[2])});  // baseline +4
  }
  return ticks;
}

// Position of `value` on an axis given by its ticks (linear).
double Interpolate(const std::vector<Tick>& ticks, double value) {
  const Tick& a = ticks.front();
  const Tick& b = ticks.back();
  return a.position +
         (value - a.value) / (b.value - a.value) * (b.position - a.position);
}

struct Point {
  double x, y;
};
std::vector<Point> Markers(const std::string& svg) {
  std::vector<Point> points;
  for (const std::smatch& m :
       Matches(svg,
               "class=\"aes-marker aes-series-[0-9]+\" "
               "transform=\"translate\\(([-0-9.]+),([-0-9.]+)\\)\"")) {
    points.push_back({std::stod(m[1]), std::stod(m[2])});
  }
  return points;
}

std::vector<std::string> Ids(const std::string& svg) {
  std::vector<std::string> ids;
  for (const std::smatch& m : Matches(svg, " id=\"([^\"]+)\"")) {
    ids.push_back(m[1]);
  }
  return ids;
}

ForestPlot SampleForest() {
  return {
      .title = "Risk difference vs placebo by preferred term",
      .x_label = "Risk difference vs placebo (95% CI)",
      .reference = 0,
      .rows = {
          {"Nausea", "10 mg", {0.05, -0.02, 0.12}},
          {"Nausea", "30 mg", {0.11, 0.03, 0.19}},
          {"Headache", "10 mg", {-0.01, -0.08, 0.06}},
          {"Headache", "30 mg", {0.02, -0.05, 0.09}},
          {"Alanine aminotransferase increased", "10 mg", {0.00, -0.04, 0.04}},
          {"Alanine aminotransferase increased", "30 mg", {0.21, 0.08, 0.34}},
      }};
}

LineChart SampleLine() {
  return {.title = "Neutropenia: cumulative incidence over time",
          .categories = {"Week 0", "Week 4", "Week 8", "Week 12", "Week 16"},
          .x_label = "Visit",
          .y_label = "Cumulative incidence (95% CI)",
          .series = {{"Placebo",
                      {Estimate{0, 0, 0.07}, Estimate{0.02, 0.003, 0.09},
                       Estimate{0.04, 0.01, 0.12}, Estimate{0.05, 0.02, 0.13},
                       Estimate{0.05, 0.02, 0.13}}},
                     {"10 mg",
                      {Estimate{0, 0, 0.07}, Estimate{0.04, 0.01, 0.12},
                       std::nullopt, Estimate{0.10, 0.05, 0.19},
                       Estimate{0.12, 0.06, 0.21}}},
                     {"30 mg",
                      {Estimate{0.01, 0.0003, 0.08}, Estimate{0.08, 0.03, 0.17},
                       Estimate{0.15, 0.08, 0.25}, Estimate{0.22, 0.14, 0.33},
                       Estimate{0.27, 0.18, 0.38}}}},
          .references = {{0.12, "Expected incidence 12% (Smith et al. 2019)"}}};
}

void ExpectWellFormedShell(const std::string& svg) {
  EXPECT_THAT(svg, StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\" "));
  EXPECT_THAT(svg, HasSubstr(" width=\"100%\" role=\"img\" "));
  EXPECT_TRUE(svg.ends_with("</svg>\n"));
  EXPECT_EQ(Count(svg, "<svg"), 1u);
  // Every id referenced by aria-labelledby exists.
  const std::smatch aria =
      Matches(svg, "aria-labelledby=\"([^ ]+) ([^\"]+)\"")[0];
  EXPECT_THAT(svg, HasSubstr(absl::StrCat("<title id=\"", aria[1].str())));
  EXPECT_THAT(svg, HasSubstr(absl::StrCat("<desc id=\"", aria[2].str())));
  // Nothing the CSP or a print pipeline would refuse.
  for (const char* banned : {"style=", "<script", "<style", "href", "<image",
                             "<foreignObject", "@import", "url("}) {
    EXPECT_THAT(svg, Not(HasSubstr(banned))) << banned;
  }
  EXPECT_TRUE(Matches(svg, " on[a-z]+=").empty());
  // No non-finite number in a coordinate or a printed value.
  EXPECT_TRUE(Matches(svg, "[\"(, >-](nan|inf)[\"), <]").empty());
  // Every & starts an entity.
  EXPECT_TRUE(Matches(svg, "&(?!amp;|lt;|gt;|quot;|#39;)").empty());
}

TEST(NiceAxisTest, CoversTheRangeWithNiceSteps) {
  const internal::NiceAxis axis = internal::MakeNiceAxis(-0.08, 0.34);
  EXPECT_LE(axis.min, -0.08);
  EXPECT_GE(axis.max, 0.34);
  EXPECT_DOUBLE_EQ(axis.step, 0.1);
  EXPECT_EQ(axis.decimals, 1);
  ASSERT_EQ(axis.ticks.size(), 6u);  // -0.1 .. 0.4
  EXPECT_EQ(axis.ticks[1], 0.0);
  EXPECT_FALSE(std::signbit(axis.ticks[1]));

  const internal::NiceAxis percent = internal::MakeNiceAxis(0, 38);
  EXPECT_EQ(percent.step, 10);
  EXPECT_EQ(percent.decimals, 0);
  EXPECT_EQ(percent.ticks, (std::vector<double>{0, 10, 20, 30, 40}));

  EXPECT_EQ(internal::MakeNiceAxis(0, 23).step, 5);  // 0, 5, 10 ... 25 %
}

TEST(NiceAxisTest, DegenerateAndNonFiniteRanges) {
  const internal::NiceAxis point = internal::MakeNiceAxis(0.5, 0.5);
  EXPECT_LT(point.min, 0.5);
  EXPECT_GT(point.max, 0.5);
  const internal::NiceAxis nan =
      internal::MakeNiceAxis(std::numeric_limits<double>::quiet_NaN(), 1);
  EXPECT_EQ(nan.min, 0);
  EXPECT_EQ(nan.max, 1);
  const internal::NiceAxis swapped = internal::MakeNiceAxis(1, -1);
  EXPECT_LE(swapped.min, -1);
  EXPECT_GE(swapped.max, 1);
}

TEST(ChartsHelpersTest, EscapeTruncateAndIds) {
  EXPECT_EQ(internal::XmlEscape("<a href=\"x\">&'</a>\x01"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt; ");
  EXPECT_EQ(internal::TruncateLabel("abcdef", 6), "abcdef");
  EXPECT_EQ(internal::TruncateLabel("abcdefg", 6), "abcde\u2026");
  EXPECT_EQ(internal::TruncateLabel("abcd efg", 6), "abcd\u2026");
  // Code points, not bytes: never cuts inside a UTF-8 sequence.
  EXPECT_EQ(internal::TruncateLabel("\u00e9\u00e9\u00e9\u00e9", 3),
            "\u00e9\u00e9\u2026");
  EXPECT_EQ(internal::TruncateLabel("\u00e9\u00e9\u00e9", 3),
            "\u00e9\u00e9\u00e9");

  const std::string id = internal::ChartId("Nausea: incidence (%)");
  EXPECT_TRUE(
      std::regex_match(id, std::regex("aes-nausea-incidence-[0-9a-f]{8}")))
      << id;
  EXPECT_EQ(id, internal::ChartId("Nausea: incidence (%)"));
  EXPECT_NE(internal::ChartId("A/B"), internal::ChartId("A-B"));
  EXPECT_TRUE(
      std::regex_match(internal::ChartId("<>"), std::regex("aes-[0-9a-f]{8}")));
}

TEST(ForestPlotTest, OneMarkerPerRowAndAnEstimateColumn) {
  const ForestPlot plot = SampleForest();
  const std::string svg = ForestPlotSvg(plot);
  ExpectWellFormedShell(svg);
  EXPECT_EQ(Markers(svg).size(), plot.rows.size());
  EXPECT_EQ(Count(svg, "<g class=\"aes-row\">"), plot.rows.size());
  // Labels once per group of rows, series in the legend.
  EXPECT_EQ(Count(svg, ">Nausea</text>"), 1u);
  EXPECT_EQ(Count(svg, "class=\"aes-legend-marker"), 2u);
  EXPECT_THAT(svg, HasSubstr(">10 mg</text>"));
  EXPECT_THAT(svg, HasSubstr(">30 mg</text>"));
  EXPECT_THAT(svg, HasSubstr(">0.210 (0.080, 0.340)</text>"));
  EXPECT_THAT(svg, HasSubstr(">-0.010 (-0.080, 0.060)</text>"));
  // Different series, different colours and shapes.
  EXPECT_THAT(svg, HasSubstr("fill=\"#0072B2\""));
  EXPECT_THAT(svg, HasSubstr("fill=\"#D55E00\""));
}

// Rows with a detail (the counts behind an estimate) get a column of their
// own after the estimates; the plot gives up width for it.
TEST(ForestPlotTest, ADetailColumnOnlyWhenRowsHaveOne) {
  ForestPlot plot = SampleForest();
  const std::string plain = ForestPlotSvg(plot);
  EXPECT_EQ(Count(plain, "aes-row-detail"), 0u);
  plot.detail_heading = "Subjects n/N";
  plot.rows[1].detail = "7/84 vs 2/86";
  const std::string svg = ForestPlotSvg(plot);
  EXPECT_EQ(Count(svg, "class=\"aes-row-detail\""), plot.rows.size());
  EXPECT_THAT(svg, HasSubstr(">Subjects n/N</text>"));
  EXPECT_THAT(svg, HasSubstr(">7/84 vs 2/86</text>"));
  EXPECT_THAT(svg, HasSubstr("<title>Nausea \u2014 30 mg: 0.110 (0.030, "
                             "0.190); 7/84 vs 2/86</title>"));
  // The estimates move left to make room; no column runs into the next or
  // off the chart (720 wide, 8 margin), counts in the hundreds too.
  const auto x_of = [](const std::string& chart, const std::string& cls) {
    return std::stod(
        Matches(chart, "class=\"" + cls + "\" x=\"([0-9.]+)\"")[0][1]);
  };
  EXPECT_EQ(x_of(plain, "aes-row-value"), 568);
  constexpr double kCharWidth = 6.1;
  const size_t widest_estimate = std::string("-0.010 (-0.080, 0.060)").size();
  for (const std::string detail : {"7/84 vs 2/86", "123/150 vs 120/150"}) {
    plot.rows[1].detail = detail;
    const std::string wide = ForestPlotSvg(plot);
    const double values = x_of(wide, "aes-row-value");
    const double details = x_of(wide, "aes-row-detail");
    EXPECT_LT(values, 568) << detail;
    EXPECT_LE(values + widest_estimate * kCharWidth, details) << detail;
    EXPECT_LE(details + detail.size() * kCharWidth, 712) << detail;
  }
}

TEST(ForestPlotTest, AxisCoversEveryIntervalAndTheReference) {
  ForestPlot plot = SampleForest();
  plot.reference = 1;  // outside every interval
  plot.rows.push_back({"Rash", "30 mg", {-0.3, -0.62, 0.02}});
  const std::string svg = ForestPlotSvg(plot);
  const std::vector<Tick> ticks = XTicks(svg);
  ASSERT_GE(ticks.size(), 3u);
  EXPECT_LE(ticks.front().value, -0.62);
  EXPECT_GE(ticks.back().value, 1);
  // Every interval end and marker lies between the first and last tick.
  double leftmost = 1e9;
  for (const std::smatch& m :
       Matches(svg,
               "class=\"aes-interval aes-series-[0-9]+\" x1=\"([-0-9.]+)\" "
               "y1=\"[-0-9.]+\" x2=\"([-0-9.]+)\"")) {
    EXPECT_GE(std::stod(m[1]), ticks.front().position);
    EXPECT_LE(std::stod(m[2]), ticks.back().position);
    leftmost = std::min(leftmost, std::stod(m[1]));
  }
  for (const Point& p : Markers(svg)) {
    EXPECT_GE(p.x, ticks.front().position);
    EXPECT_LE(p.x, ticks.back().position);
  }
  // The lower end of the widest interval is drawn where the axis puts -0.62.
  EXPECT_NEAR(leftmost, Interpolate(ticks, -0.62), 0.02);
}

TEST(ForestPlotTest, ReferenceLineAtItsValue) {
  for (const double reference : {0.0, 0.03, 1.0}) {
    ForestPlot plot = SampleForest();
    plot.reference = reference;
    const std::string svg = ForestPlotSvg(plot);
    const std::vector<std::smatch> lines = Matches(
        svg,
        "<line class=\"aes-reference\" x1=\"([-0-9.]+)\" y1=\"[-0-9.]+\" "
        "x2=\"([-0-9.]+)\"");
    ASSERT_EQ(lines.size(), 1u) << reference;
    EXPECT_EQ(lines[0][1], lines[0][2]);  // vertical
    EXPECT_NEAR(std::stod(lines[0][1]), Interpolate(XTicks(svg), reference),
                0.02)
        << reference;
  }
  // At a tick: exactly that tick's x.
  const std::string svg = ForestPlotSvg(SampleForest());
  for (const Tick& tick : XTicks(svg)) {
    if (tick.value != 0) continue;
    EXPECT_THAT(svg,
                HasSubstr(absl::StrCat("<line class=\"aes-reference\" x1=\"",
                                       tick.position, "\"")));
  }
}

TEST(ForestPlotTest, EscapesEveryText) {
  ForestPlot plot = SampleForest();
  plot.title = "Title <&\"'>";
  plot.x_label = "X <&\"'>";
  plot.rows[0].label = "Label <b>&\"'";
  plot.rows[0].series = "Series <i>";
  const std::string svg = ForestPlotSvg(plot);
  ExpectWellFormedShell(svg);
  EXPECT_THAT(svg, Not(HasSubstr("<b>")));
  EXPECT_THAT(svg, Not(HasSubstr("<i>")));
  EXPECT_THAT(svg, Not(HasSubstr("<&")));
  EXPECT_THAT(svg, HasSubstr("Label &lt;b&gt;&amp;&quot;&#39;"));
  EXPECT_THAT(svg, HasSubstr("Series &lt;i&gt;"));
  EXPECT_THAT(svg, HasSubstr(">Title &lt;&amp;&quot;&#39;&gt;</title>"));
  EXPECT_THAT(svg, HasSubstr(">X &lt;&amp;&quot;&#39;&gt;</text>"));
}

TEST(ForestPlotTest, LongLabelsAreTruncatedWithTheFullTextInATitle) {
  ForestPlot plot = SampleForest();
  const std::string label(
      "Drug reaction with eosinophilia and systemic symptoms, severe");
  plot.rows[0].label = label;
  const std::string svg = ForestPlotSvg(plot);
  EXPECT_THAT(
      svg, HasSubstr(absl::StrCat(">", label.substr(0, 39), "\u2026</text>")));
  EXPECT_THAT(svg, HasSubstr(absl::StrCat("<g class=\"aes-row\"><title>", label,
                                          " \u2014 10 mg: 0.050 (-0.020, "
                                          "0.120)</title>")));
}

TEST(ForestPlotTest, HeightGrowsWithRows) {
  ForestPlot two = SampleForest();
  two.rows.resize(2);
  ForestPlot many = SampleForest();
  for (int i = 0; i < 20; ++i) many.rows.push_back(many.rows[i % 6]);
  const auto height = [](const std::string& svg) {
    return std::stod(Matches(svg, "viewBox=\"0 0 720 ([0-9.]+)\"")[0][1]);
  };
  EXPECT_NEAR(height(ForestPlotSvg(many)) - height(ForestPlotSvg(two)), 24 * 22,
              1e-9);
}

// Sections (a PT's SOC) get a heading line above their first row, which the
// height counts; the rows under a heading are indented.
TEST(ForestPlotTest, EachSectionGetsAHeadingLine) {
  ForestPlot plot = SampleForest();
  const double plain = SvgHeight(ForestPlotSvg(plot));
  for (ForestRow& row : plot.rows) {
    row.section = row.label == "Nausea" ? "Gastrointestinal disorders"
                                        : "Investigations & tests";
  }
  EXPECT_EQ(ForestLines(plot.rows), plot.rows.size() + 2);
  std::string svg = ForestPlotSvg(plot);
  EXPECT_EQ(SvgHeight(svg), plain + 2 * 22);
  EXPECT_EQ(Count(svg, "class=\"aes-section\""), 2u);
  EXPECT_THAT(svg, HasSubstr(">Gastrointestinal disorders</text>"));
  EXPECT_THAT(svg, HasSubstr(">Investigations &amp; tests</text>"));
  // Three PTs' labels, indented.
  EXPECT_EQ(Count(svg, "class=\"aes-row-label\" x=\"18\""), 3u);
  // A section that comes back after another is headed again: sections
  // Investigations, GI, Investigations, GI, Investigations.
  std::swap(plot.rows[0], plot.rows[4]);
  EXPECT_EQ(ForestLines(plot.rows), plot.rows.size() + 5);
  // No sections: no headings, labels at the margin.
  for (ForestRow& row : plot.rows) row.section.clear();
  svg = ForestPlotSvg(plot);
  EXPECT_EQ(ForestLines(plot.rows), plot.rows.size());
  EXPECT_EQ(Count(svg, "aes-section"), 0u);
  EXPECT_EQ(Count(svg, "class=\"aes-row-label\" x=\"8\""), 5u);
}

TEST(ForestPlotTest, NonFiniteEstimateIsNotEstimable) {
  ForestPlot plot = SampleForest();
  plot.rows[1].estimate.upper = std::numeric_limits<double>::infinity();
  plot.rows[2].estimate.value = std::numeric_limits<double>::quiet_NaN();
  const std::string svg = ForestPlotSvg(plot);
  ExpectWellFormedShell(svg);
  EXPECT_EQ(Markers(svg).size(), plot.rows.size() - 2);
  EXPECT_EQ(Count(svg, ">NE</text>"), 2u);
}

TEST(LineChartTest, OneMarkerPerPresentPointAndLinesBreakAtGaps) {
  const LineChart chart = SampleLine();
  const std::string svg = LineChartSvg(chart);
  ExpectWellFormedShell(svg);
  EXPECT_EQ(Markers(svg).size(), 14u);  // 15 points, one missing
  EXPECT_EQ(Count(svg, "<g class=\"aes-point\">"), 14u);
  EXPECT_EQ(Count(svg, "class=\"aes-legend-marker"), 3u);
  // Series 1 is missing Week 8: two runs, of 2 points each.
  EXPECT_EQ(Count(svg, "<polyline class=\"aes-line aes-series-1\""), 2u);
  EXPECT_EQ(Count(svg, "<polyline class=\"aes-line aes-series-0\""), 1u);
  for (const std::string& category : chart.categories) {
    EXPECT_THAT(svg, HasSubstr(absl::StrCat(">", category, "</text>")));
  }
  // Distinct dash patterns per series.
  EXPECT_THAT(svg, HasSubstr("stroke-dasharray=\"6 3\""));
  EXPECT_THAT(svg, HasSubstr("stroke-dasharray=\"2 3\""));
}

TEST(LineChartTest, YAxisInPercentCoversIntervalsAndReferences) {
  LineChart chart = SampleLine();
  chart.references.push_back({0.45, "Upper bound"});
  const std::string svg = LineChartSvg(chart);
  const std::vector<Tick> ticks = YTicks(svg);
  ASSERT_GE(ticks.size(), 3u);
  EXPECT_EQ(ticks.front().value, 0);
  EXPECT_GE(ticks.back().value, 45);
  EXPECT_THAT(svg, HasSubstr(">10%</text>"));
  // Reference lines are horizontal, at their value.
  const std::vector<std::smatch> refs =
      Matches(svg,
              "<line class=\"aes-reference\" x1=\"[-0-9.]+\" y1=\"([-0-9.]+)\" "
              "x2=\"[-0-9.]+\" y2=\"([-0-9.]+)\"");
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0][1], refs[0][2]);
  EXPECT_NEAR(std::stod(refs[0][1]), Interpolate(ticks, 12), 0.02);
  EXPECT_NEAR(std::stod(refs[1][1]), Interpolate(ticks, 45), 0.02);
  EXPECT_THAT(svg, HasSubstr(">Expected incidence 12% (Smith et al. 2019)<"));
  // Markers at their values: 27% is the highest point.
  double top = 1e9;
  for (const Point& p : Markers(svg)) top = std::min(top, p.y);
  EXPECT_NEAR(top, Interpolate(ticks, 27), 0.02);
}

// A reference for one category is a dash within that category's band; one
// without spans the plot.
TEST(LineChartTest, AReferenceForOneCategoryIsADashThere) {
  LineChart chart = SampleLine();  // 5 categories
  chart.references.push_back(
      {.value = 0.05, .label = "Expected 5% (m3)", .category = 1});
  chart.references.push_back(
      {.value = 0.2, .label = "Out of range", .category = 9});  // dropped
  const std::string svg = LineChartSvg(chart);
  const std::vector<std::smatch> refs =
      Matches(svg,
              "<line class=\"aes-reference\" x1=\"([-0-9.]+)\" "
              "y1=\"[-0-9.]+\" x2=\"([-0-9.]+)\"");
  ASSERT_EQ(refs.size(), 2u);
  const double across = std::stod(refs[0][2]) - std::stod(refs[0][1]);
  const double dash_left = std::stod(refs[1][1]);
  const double dash_right = std::stod(refs[1][2]);
  // The second of five equal bands: from 1/5 to 2/5 of the width.
  EXPECT_GT(dash_left, std::stod(refs[0][1]) + across / 5);
  EXPECT_LT(dash_right, std::stod(refs[0][1]) + 2 * across / 5);
  EXPECT_GT(dash_right - dash_left, across / 5 * 0.7);
  EXPECT_THAT(svg, HasSubstr(">Expected 5% (m3)<"));
  EXPECT_THAT(svg, Not(HasSubstr("Out of range")));
  EXPECT_THAT(svg, HasSubstr("Expected 5% (m3) at 5.0% ("));
}

TEST(LineChartTest, EscapesEveryText) {
  LineChart chart = SampleLine();
  chart.title = "T <&>";
  chart.categories[0] = "C<&>";
  chart.x_label = "X<\">";
  chart.y_label = "Y<'>";
  chart.series[0].name = "S<&>";
  chart.references[0].label = "R<&> \"cited\"";
  const std::string svg = LineChartSvg(chart);
  ExpectWellFormedShell(svg);
  for (const char* raw : {"<&", "C<", "X<", "Y<", "S<", "R<", "\"cited"}) {
    EXPECT_THAT(svg, Not(HasSubstr(raw))) << raw;
  }
  EXPECT_THAT(svg, HasSubstr(">C&lt;&amp;&gt;</text>"));
  EXPECT_THAT(svg, HasSubstr(">R&lt;&amp;&gt; &quot;cited&quot;</text>"));
  EXPECT_THAT(svg, HasSubstr(">Y&lt;&#39;&gt;</text>"));
}

// A series named in style_order keeps its style whichever others a chart
// draws: the same dose group looks the same in a forest plot without the
// control and in a line chart with it.
TEST(ChartsTest, StyleOrderGivesASeriesTheSameStyleInEveryChart) {
  const std::vector<std::string> order = {"Placebo", "10 mg", "30 mg"};
  ForestPlot forest = SampleForest();  // 10 mg and 30 mg only
  forest.style_order = order;
  LineChart line = SampleLine();  // Placebo, 10 mg, 30 mg
  line.style_order = order;
  const std::string forest_svg = ForestPlotSvg(forest);
  const std::string line_svg = LineChartSvg(line);
  // 30 mg is style 2 (green #009E73) in both; nothing in the forest plot
  // takes Placebo's style 0.
  for (const std::string* svg : {&forest_svg, &line_svg}) {
    EXPECT_THAT(*svg, HasSubstr("aes-series-2"));
    EXPECT_THAT(*svg, HasSubstr("#009E73"));
  }
  EXPECT_THAT(forest_svg, Not(HasSubstr("aes-series-0")));
  // Without an order, the forest plot's first series takes style 0.
  EXPECT_THAT(ForestPlotSvg(SampleForest()), HasSubstr("aes-series-0"));
}

// The parts of one long forest plot share an axis when given its range.
TEST(ForestPlotTest, AGivenRangeWidensTheAxis) {
  ForestPlot plot = SampleForest();
  plot.x_min = -0.5;
  plot.x_max = 0.9;
  const std::vector<Tick> ticks = XTicks(ForestPlotSvg(plot));
  ASSERT_GE(ticks.size(), 3u);
  EXPECT_LE(ticks.front().value, -0.5);
  EXPECT_GE(ticks.back().value, 0.9);
}

// A long category label is broken onto two lines rather than cut.
TEST(LineChartTest, LongCategoryLabelsWrapOntoTwoLines) {
  LineChart chart = SampleLine();
  chart.categories.assign(8, "Week 1");  // the CDISC pilot's timepoints
  chart.categories.back() = "Day 212 (end of data)";
  for (Series& s : chart.series) s.points.resize(8, Estimate{0.1, 0, 0.2});
  const std::string svg = LineChartSvg(chart);
  EXPECT_THAT(svg, HasSubstr(">Day 212 (end</tspan>"));
  EXPECT_THAT(svg, HasSubstr(">of data)</tspan>"));
  EXPECT_THAT(svg, Not(HasSubstr("Day 212 (\u2026")));
}

// With 11 timepoints (the CDISC pilot's) a tick has room for 9 characters:
// the last label takes three lines, and the axis title and the chart's
// height move down to make room for it.
TEST(LineChartTest, ElevenTimepointsWrapTheLastLabelOntoThreeLines) {
  LineChart chart = SampleLine();
  const double short_height = SvgHeight(LineChartSvg(chart));
  chart.categories.assign(11, "Week 2");
  chart.categories.back() = "Day 212 (end of data)";
  for (Series& s : chart.series) s.points.resize(11, Estimate{0.1, 0, 0.2});
  const std::string svg = LineChartSvg(chart);
  EXPECT_THAT(svg, HasSubstr(">Day 212</tspan>"));
  EXPECT_THAT(svg, HasSubstr(">(end of</tspan>"));
  EXPECT_THAT(svg, HasSubstr(">data)</tspan>"));
  EXPECT_THAT(svg, Not(HasSubstr("\u2026")));
  EXPECT_EQ(SvgHeight(svg), short_height + 12);
  const std::vector<std::smatch> ticks = Matches(
      svg, "<text class=\"aes-tick-label\" x=\"[-0-9.]+\" y=\"([-0-9.]+)\"");
  const std::vector<std::smatch> title = Matches(
      svg, "<text class=\"aes-axis-label\" x=\"[-0-9.]+\" y=\"([-0-9.]+)\"");
  ASSERT_FALSE(ticks.empty());
  ASSERT_EQ(title.size(), 2u);  // the y axis's (rotated), then the x axis's
  // The third line's baseline is 24 below the first's; the title's is as far
  // below it as it is below a second line on a chart of two-line labels.
  EXPECT_GE(std::stod(title[1][1]) - std::stod(ticks.back()[1]), 24 + 10);
}

// Two baselines of nearly the same value at one timepoint: their labels do
// not print over each other.
TEST(LineChartTest, ReferenceLabelsDoNotOverlap) {
  LineChart chart = SampleLine();
  chart.references = {
      {.value = 0.05, .label = "Expected 5.0% (sae-3m)", .category = 1},
      {.value = 0.0217, .label = "Expected 2.2% (sae-6m)", .category = 1}};
  // The matches point into the string: keep it alive.
  const std::string svg = LineChartSvg(chart);
  const std::vector<std::smatch> labels = Matches(
      svg,
      "<text class=\"aes-reference-label\" x=\"[-0-9.]+\" y=\"([-0-9.]+)\"");
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_GE(std::abs(std::stod(labels[0][1]) - std::stod(labels[1][1])), 11);
}

TEST(ChartsTest, Deterministic) {
  const ForestPlot forest = SampleForest();
  const ForestPlot forest_copy = forest;
  EXPECT_EQ(ForestPlotSvg(forest), ForestPlotSvg(forest));
  EXPECT_EQ(ForestPlotSvg(forest), ForestPlotSvg(forest_copy));
  const LineChart line = SampleLine();
  const LineChart line_copy = line;
  EXPECT_EQ(LineChartSvg(line), LineChartSvg(line));
  EXPECT_EQ(LineChartSvg(line), LineChartSvg(line_copy));
}

TEST(ChartsTest, EmptyInputSaysNoData) {
  ForestPlot forest = SampleForest();
  forest.rows.clear();
  LineChart no_series = SampleLine();
  no_series.series.clear();
  LineChart no_categories = SampleLine();
  no_categories.categories.clear();
  for (const std::string& svg :
       {ForestPlotSvg(forest), LineChartSvg(no_series),
        LineChartSvg(no_categories), ForestPlotSvg(ForestPlot{})}) {
    ExpectWellFormedShell(svg);
    EXPECT_THAT(svg, HasSubstr(">No data</text>"));
    EXPECT_THAT(svg, HasSubstr("viewBox=\"0 0 720 110\""));
    EXPECT_TRUE(Markers(svg).empty());
  }
}

TEST(ChartsTest, IdsUniqueBetweenChartsWithDifferentTitles) {
  LineChart other = SampleLine();
  other.title = "Neutropenia: incidence by dose group";
  ForestPlot empty_forest;
  empty_forest.title = "Forest (no rows)";
  const std::vector<std::string> svgs = {
      ForestPlotSvg(SampleForest()), LineChartSvg(SampleLine()),
      LineChartSvg(other), ForestPlotSvg(empty_forest)};
  std::set<std::string> all;
  size_t total = 0;
  for (const std::string& svg : svgs) {
    const std::vector<std::string> ids = Ids(svg);
    EXPECT_EQ(ids.size(), 2u);  // title and desc
    total += ids.size();
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), total);
}

// Writes an example page when AESIGNAL_CHARTS_EXAMPLE names a file, e.g.
//   AESIGNAL_CHARTS_EXAMPLE=/tmp/charts-example.html
//   build/.../report_charts_test
TEST(ChartsTest, ExamplePage) {
  ForestPlot forest = SampleForest();
  forest.rows.push_back(
      {"Drug reaction with eosinophilia and systemic symptoms",
       "10 mg",
       {0.01, -0.03, 0.05}});
  forest.rows.push_back(
      {"Drug reaction with eosinophilia and systemic symptoms",
       "30 mg",
       {0.04, -0.01, 0.09}});
  forest.rows.push_back(
      {"Rash <maculo-papular> & \"itchy\"", "60 mg", {0.08, 0.01, 0.15}});
  LineChart by_dose{
      .title = "Neutropenia: incidence by dose group",
      .categories = {"Placebo", "10 mg", "30 mg", "60 mg", "100 mg/kg q2w"},
      .x_label = "Dose group",
      .y_label = "Incidence (95% CI)",
      .series = {{"Cumulative incidence",
                  {Estimate{0.05, 0.02, 0.13}, Estimate{0.12, 0.06, 0.21},
                   Estimate{0.27, 0.18, 0.38}, std::nullopt,
                   Estimate{0.31, 0.2, 0.44}}}},
      .references = {{0.12, "Expected 12% (Smith et al. 2019, NEJM 380:1)"}}};
  LineChart many = SampleLine();
  many.title = "Eight series";
  for (int i = 3; i < 8; ++i) {
    Series s = many.series[i % 3];
    s.name = absl::StrCat("Arm ", i);
    for (auto& p : s.points) {
      if (p) p->value = std::min(p->upper, p->value + 0.01 * i);
    }
    many.series.push_back(s);
  }
  const std::string page = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>charts</title></head><body>\n<div>",
      ForestPlotSvg(forest), "</div>\n<div>", LineChartSvg(SampleLine()),
      "</div>\n<div>", LineChartSvg(by_dose), "</div>\n<div>",
      LineChartSvg(many), "</div>\n<div>", ForestPlotSvg(ForestPlot{}),
      "</div>\n</body></html>\n");
  EXPECT_THAT(page, Not(HasSubstr("style=")));
  if (const char* path = std::getenv("AESIGNAL_CHARTS_EXAMPLE")) {
    std::ofstream(path) << page;
  }
}

}  // namespace
}  // namespace aesignal::report
