#include "services/domain/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "services/domain/incidence_rows.h"
#include "services/domain/trend_cache.h"
#include "services/domain/validation.h"
#include "services/errors/errors.h"
#include "services/signal/binomial_ci.h"
#include "services/signal/rule.h"
#include "services/signal/signal_stats.h"

namespace aesignal::domain {
namespace {

using storage::Level;
using storage::TermKey;

constexpr double kConfidence = 0.95;

// A name as a signal id segment: URL-safe (AIP-122) without any decoding
// by a URL parser, since only [A-Za-z0-9_-] are kept and every other byte,
// '.' included, becomes ".XX" (hex). '~' separates segments.
std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
        c == '-') {
      out += c;
    } else {
      absl::StrAppendFormat(&out, ".%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// Cumulative subjects and events of one group (or all) by window k.
struct Cell {
  int64_t subjects = 0;
  int64_t events = 0;
};

class Table {
 public:
  Table(const storage::TermCounters& c, int groups, int windows)
      : c_(c), groups_(groups), windows_(windows) {}
  // Cumulative by window k for group g (g = -1: all groups).
  Cell Cumulative(int g, int k) const {
    Cell out;
    for (int gg = g < 0 ? 0 : g; gg < (g < 0 ? groups_ : g + 1); ++gg) {
      for (int w = 0; w <= k; ++w) {
        const auto& cell = c_.cells[gg * windows_ + w];
        out.subjects += cell.new_subjects;
        out.events += cell.events;
      }
    }
    return out;
  }
  int64_t Interval(int g, int w) const {
    return c_.cells[g * windows_ + w].interval_subjects;
  }

 private:
  const storage::TermCounters& c_;
  int groups_, windows_;
};

// --- Signal methods ----------------------------------------------------------

// The summary of a decision against baseline `b` for a cell of x = d.subjects
// of n subjects.
using BaselineSummary = std::string (*)(const signal::Decision& d, int64_t n,
                                        const v1::Baseline& b,
                                        const v1::SignalPolicy& policy);

std::string BinomialSummary(const signal::Decision& d, int64_t n,
                            const v1::Baseline& b, const v1::SignalPolicy&) {
  std::string out = absl::StrFormat(
      "%d/%d (%.1f%%) vs expected %.1f%% (%s): exact binomial "
      "P(X>=%d)=%.4g",
      d.subjects, n, 100.0 * d.subjects / n, 100 * d.expected, b.baseline_id(),
      d.subjects, d.p_value);
  if (d.boundary > 0) {
    absl::StrAppendFormat(&out,
                          "; repeated-look boundary %d of %d (Pocock level "
                          "%.3g, planned %d, exact overall error %.3g)",
                          d.boundary, n, d.threshold, d.boundary_planned,
                          d.boundary_overall_error);
  } else {
    absl::StrAppendFormat(&out, ", alpha %.3g", d.threshold);
  }
  return out;
}

std::string BayesianSummary(const signal::Decision& d, int64_t n,
                            const v1::Baseline& b, const v1::SignalPolicy&) {
  return absl::StrFormat(
      "%d/%d vs expected %.1f%% (%s): P(p > p0 | data) = %.4f under "
      "Beta(%.3g, %.3g) prior, threshold %.3g",
      d.subjects, n, 100 * b.expected_proportion(), b.baseline_id(),
      d.posterior, d.prior_a, d.prior_b, d.threshold);
}

std::string MaxSprtSummary(const signal::Decision& d, int64_t,
                           const v1::Baseline& b,
                           const v1::SignalPolicy& policy) {
  return absl::StrFormat(
      "%d cases vs %.3g expected (%s): MaxSPRT LLR %.4g, critical "
      "value %.6g (alpha %.3g, T %.3g, M %d)",
      d.subjects, d.expected, b.baseline_id(), d.statistic, d.threshold,
      policy.alpha(), d.surveillance_end, policy.min_cases());
}

// One signal method as the evaluator presents it.
struct MethodSpec {
  signal::Method method;
  v1::SignalMethod api;
  const char* id_name;  // in signal ids, which are stored: never change it
  bool has_p_value;     // false: the evidence's p_value is left 0
  BaselineSummary baseline_summary;  // null unless run against baselines
};

// Every signal method, one row each: the only place this file lists them.
// To add a method: give it a signal::Method (services/signal/rule.h) and a
// v1::SignalMethod (proto), add its row here, and run it in the comparison
// it belongs to in RowEvaluator below (against baselines, the control arm,
// the dose trend or earlier windows), or add a comparison there.
constexpr MethodSpec kMethods[] = {
    {signal::Method::kBinomialExact, v1::SIGNAL_METHOD_BINOMIAL_EXACT,
     "BINOMIAL", true, BinomialSummary},
    {signal::Method::kBayesian, v1::SIGNAL_METHOD_BAYESIAN, "BAYESIAN", false,
     BayesianSummary},
    {signal::Method::kControlFisher, v1::SIGNAL_METHOD_CONTROL_FISHER,
     "CONTROL", true, nullptr},
    {signal::Method::kDoseTrend, v1::SIGNAL_METHOD_DOSE_TREND, "TREND", true,
     nullptr},
    {signal::Method::kOverTime, v1::SIGNAL_METHOD_OVER_TIME, "OVERTIME", true,
     nullptr},
    {signal::Method::kMaxSprt, v1::SIGNAL_METHOD_MAXSPRT, "MAXSPRT", false,
     MaxSprtSummary},
};

// The spec of a method the evaluator runs (every signal::Method has one).
const MethodSpec& SpecOf(signal::Method method) {
  for (const MethodSpec& spec : kMethods) {
    if (spec.method == method) return spec;
  }
  std::abort();  // a signal::Method without a row in kMethods
}

// The name of an API method in signal ids ("UNSPECIFIED" if unknown).
const char* IdName(v1::SignalMethod method) {
  for (const MethodSpec& spec : kMethods) {
    if (spec.api == method) return spec.id_name;
  }
  return "UNSPECIFIED";
}

v1::Evidence ToEvidence(const signal::Decision& d) {
  const MethodSpec& spec = SpecOf(d.method);
  v1::Evidence e;
  e.set_method(spec.api);
  e.set_crosses(d.crosses);
  e.set_statistic(d.statistic);
  e.set_p_value(spec.has_p_value ? d.p_value : 0);
  e.set_posterior_probability(d.posterior);
  e.set_threshold(d.threshold);
  e.set_subjects(d.subjects);
  e.set_denominator(d.denominator);
  e.set_proportion(d.interval.estimate);
  e.set_ci_lower(d.interval.lower);
  e.set_ci_upper(d.interval.upper);
  e.set_confidence_level(kConfidence);
  e.set_comparison_subjects(d.comparison_subjects);
  e.set_comparison_denominator(d.comparison_denominator);
  if (d.boundary > 0) {
    e.set_boundary(static_cast<int32_t>(d.boundary));
    e.set_boundary_planned_subjects(static_cast<int32_t>(d.boundary_planned));
    e.set_boundary_level(d.threshold);
    e.set_boundary_overall_error(d.boundary_overall_error);
  }
  return e;
}

// --- Evaluation of one row ---------------------------------------------------

// The rule of a row whose tests each get `alpha` (the policy's alpha, or
// its share under trial-wide control: the MaxSPRT critical value is
// computed for it).
signal::SignalRule RuleFor(const v1::SignalPolicy& policy, double alpha) {
  signal::RuleSettings settings;
  settings.alpha = alpha;
  settings.posterior_threshold = policy.posterior_threshold();
  settings.prior_weight = policy.prior_weight();
  settings.min_cases = policy.min_cases();
  settings.binomial = !policy.disable_binomial();
  settings.bayesian = !policy.disable_bayesian();
  settings.planned_subjects = policy.maxsprt_planned_subjects();
  settings.boundary_subjects = policy.planned_subjects_per_group();
  settings.confidence_level = kConfidence;
  return signal::SignalRule(settings);
}

// The baseline that applies to (group, timepoint): the most specific one
// (group-specific over all-groups, timepoint-specific over all-timepoints).
const v1::Baseline* BaselineFor(const std::vector<v1::Baseline>& baselines,
                                const std::string& group,
                                const std::string& timepoint) {
  const v1::Baseline* best = nullptr;
  int best_score = -1;
  for (const auto& b : baselines) {
    if (!b.dose_group_id().empty() && b.dose_group_id() != group) continue;
    if (!b.timepoint_id().empty() && b.timepoint_id() != timepoint) continue;
    const int score = (b.dose_group_id().empty() ? 0 : 2) +
                      (b.timepoint_id().empty() ? 0 : 1);
    if (score > best_score) {
      best = &b;
      best_score = score;
    }
  }
  return best;
}

void SetBaseline(const v1::Baseline& b, v1::Evidence* e) {
  e->set_expected_proportion(b.expected_proportion());
  e->set_baseline_id(b.baseline_id());
  e->set_baseline_version(b.version());
  e->set_citation(b.citation());
}

using Family = RowAdjustment::Family;

// The two-sided Fisher p, the risk difference and the relative risk with
// their Miettinen-Nurminen intervals of a group's x of n against the
// control's xc of nc (what published safety tables print beside the
// one-sided decision).
absl::Status SetComparison(int64_t x, int64_t n, int64_t xc, int64_t nc,
                           v1::Evidence* e) {
  AESIGNAL_ASSIGN_OR_RETURN(
      double two_sided,
      signal::FisherExact(x, n, xc, nc, signal::Alternative::kTwoSided));
  e->set_p_value_two_sided(two_sided);
  AESIGNAL_ASSIGN_OR_RETURN(
      signal::DifferenceInterval rd,
      signal::MiettinenNurminenDifference(x, n, xc, nc, kConfidence));
  e->set_risk_difference(rd.difference);
  e->set_risk_difference_lower(rd.lower);
  e->set_risk_difference_upper(rd.upper);
  AESIGNAL_ASSIGN_OR_RETURN(
      signal::RatioInterval rr,
      signal::MiettinenNurminenRatio(x, n, xc, nc, kConfidence));
  if (rr.ratio_finite && !rr.ratio_undefined) e->set_relative_risk(rr.ratio);
  if (!rr.ratio_undefined) e->set_relative_risk_lower(rr.lower);
  if (!rr.ratio_undefined && !rr.upper_infinite) {
    e->set_relative_risk_upper(rr.upper);
  }
  return absl::OkStatus();
}

// Evaluates the cells of one term row, window by window, in each comparison
// the policy enables, and adjusts the decisions for multiplicity. See
// EvaluateTerm.
class RowEvaluator {
 public:
  RowEvaluator(const v1::Trial& trial, const v1::SignalPolicy& policy,
               const storage::TermCounters& counters,
               const internal::Denominators& denominators,
               const std::vector<v1::Baseline>& baselines,
               const RowAdjustment& adjustment)
      : trial_(trial),
        policy_(policy),
        groups_(trial.dose_groups_size()),
        windows_(trial.timepoints_size()),
        table_(counters, groups_, windows_),
        denominators_(denominators),
        baselines_(baselines),
        adjustment_(adjustment),
        trial_wide_(adjustment.family != Family::kPerTest),
        control_(ControlGroup(trial)),
        multiplicity_(Multiplicity()),
        rule_(RuleFor(policy, policy.alpha() / multiplicity_)),
        total_rule_(TotalSettings(rule_.settings(), groups_)) {}

  absl::StatusOr<std::vector<Finding>> Run() && {
    for (int k = 0; k < windows_; ++k) {
      const std::string& timepoint = trial_.timepoints(k).timepoint_id();
      AESIGNAL_RETURN_IF_ERROR(AgainstBaselines(k, timepoint));
      if (RunsControl() && (!trial_wide_ || k == windows_ - 1)) {
        AESIGNAL_RETURN_IF_ERROR(AgainstControl(k, timepoint));
      }
      if (RunsTrend() && (!trial_wide_ || k == windows_ - 1)) {
        AESIGNAL_RETURN_IF_ERROR(DoseTrend(k, timepoint));
      }
      if (k >= 1 && RunsOverTime()) {
        // Trial-wide: all groups pooled, one test per window.
        AESIGNAL_RETURN_IF_ERROR(trial_wide_
                                     ? AgainstEarlierWindows(-1, k, timepoint)
                                     : OverTime(k, timepoint));
      }
    }
    if (trial_wide_) AdjustForTrial();
    return std::move(out_);
  }

 private:
  bool RunsControl() const {
    return control_ >= 0 && !policy_.disable_control();
  }
  bool RunsTrend() const { return groups_ >= 3 && !policy_.disable_trend(); }
  // Under trial-wide control only pre-specified rows are compared over time
  // (pooled over the groups): a screening row's tests are the control arm
  // and the dose trend.
  bool RunsOverTime() const {
    return !policy_.disable_over_time() &&
           (!trial_wide_ || adjustment_.family == Family::kPrespecified);
  }
  int TestsInRow() const;
  // The number of tests sharing alpha in each decision: 1 per test, the
  // row's tests under trial-wide screening, times the pre-specified rows
  // for a pre-specified row.
  int Multiplicity() const {
    switch (adjustment_.family) {
      case Family::kPerTest:
        return 1;
      case Family::kPrespecified:
        return TestsInRow() * std::max(1, adjustment_.prespecified_rows);
      case Family::kScreening:
      case Family::kDescriptive:
        return TestsInRow();
    }
    return 1;
  }
  void AdjustForTrial();
  void AdjustTest(Finding& f) const;

  // The total's planned enrollment is every group's.
  static signal::RuleSettings TotalSettings(signal::RuleSettings settings,
                                            int groups) {
    settings.planned_subjects *= groups;
    settings.boundary_subjects *= groups;
    return settings;
  }

  // Subjects dosed in group g (g = -1: all groups).
  int64_t Dosed(int g) const {
    if (g >= 0) return denominators_.dosed[g];
    int64_t n = 0;
    for (int64_t d : denominators_.dosed) n += d;
    return n;
  }
  std::string GroupId(int g) const {
    return g < 0 ? std::string() : trial_.dose_groups(g).dose_group_id();
  }
  Finding& Add(const signal::Decision& d, std::string group,
               const std::string& timepoint, std::string summary) {
    Finding& f = out_.emplace_back(Finding{
        SpecOf(d.method).api, std::move(group), timepoint, ToEvidence(d)});
    f.evidence.set_summary(std::move(summary));
    return f;
  }

  absl::Status AgainstBaselines(int k, const std::string& timepoint);
  absl::Status AgainstControl(int k, const std::string& timepoint);
  void ApplyScreening(int g, int k, Finding& f) const;
  absl::Status DoseTrend(int k, const std::string& timepoint);
  absl::Status OverTime(int k, const std::string& timepoint);

  const v1::Trial& trial_;
  const v1::SignalPolicy& policy_;
  const int groups_;
  const int windows_;
  const Table table_;
  const internal::Denominators& denominators_;
  signal::SignalRule::WindowCount WindowOf(int g, int w) const;
  absl::Status AgainstEarlierWindows(int g, int k,
                                     const std::string& timepoint);

  const std::vector<v1::Baseline>& baselines_;
  const RowAdjustment& adjustment_;
  const bool trial_wide_;
  const int control_;  // -1: no control arm
  const int multiplicity_;
  const signal::SignalRule rule_;
  const signal::SignalRule total_rule_;  // for the all-groups total
  std::vector<Finding> out_;
};

// Against reported baselines: each group and the total.
absl::Status RowEvaluator::AgainstBaselines(int k,
                                            const std::string& timepoint) {
  for (int g = -1; g < groups_ && !baselines_.empty(); ++g) {
    const v1::Baseline* b = BaselineFor(baselines_, GroupId(g), timepoint);
    const int64_t n = Dosed(g);
    if (b == nullptr || n == 0) continue;
    const Cell cell = table_.Cumulative(g, k);
    AESIGNAL_ASSIGN_OR_RETURN(
        std::vector<signal::Decision> decisions,
        (g < 0 ? total_rule_ : rule_)
            .AgainstBaseline(cell.subjects, n,
                             {.p0 = b->expected_proportion(),
                              .source_events = b->source_events(),
                              .source_subjects = b->source_subjects()}));
    for (const signal::Decision& d : decisions) {
      const BaselineSummary summary = SpecOf(d.method).baseline_summary;
      Finding& f = Add(d, GroupId(g), timepoint,
                       summary != nullptr ? summary(d, n, *b, policy_) : "");
      SetBaseline(*b, &f.evidence);
    }
  }
  return absl::OkStatus();
}

// Against the control arm: each treated group.
absl::Status RowEvaluator::AgainstControl(int k, const std::string& timepoint) {
  const Cell c = table_.Cumulative(control_, k);
  const int64_t nc = Dosed(control_);
  for (int g = 0; g < groups_; ++g) {
    const int64_t n = Dosed(g);
    if (g == control_ || n == 0 || nc == 0) continue;
    const Cell cell = table_.Cumulative(g, k);
    AESIGNAL_ASSIGN_OR_RETURN(
        signal::Decision d,
        rule_.AgainstControl(cell.subjects, n, c.subjects, nc));
    Finding& f =
        Add(d, GroupId(g), timepoint,
            absl::StrFormat("%d/%d vs control %s %d/%d: one-sided Fisher p = "
                            "%.4g, alpha %.3g",
                            cell.subjects, n, GroupId(control_), c.subjects, nc,
                            d.p_value, policy_.alpha()));
    f.evidence.set_comparison(GroupId(control_));
    AESIGNAL_RETURN_IF_ERROR(
        SetComparison(cell.subjects, n, c.subjects, nc, &f.evidence));
    if (adjustment_.per_test_screening != nullptr) ApplyScreening(g, k, f);
  }
  return absl::OkStatus();
}

// Under PT screening the control-arm decision uses the double-FDR adjusted
// p-value against policy.fdr() instead of the raw one against alpha.
void RowEvaluator::ApplyScreening(int g, int k, Finding& f) const {
  v1::Evidence& e = f.evidence;
  const AdjustedP& screening = *adjustment_.per_test_screening;
  auto it = screening.find({g, k});
  const double adjusted = it == screening.end() ? 1 : it->second;
  e.set_adjusted_p_value(adjusted);
  e.set_threshold(policy_.fdr());
  e.set_crosses(adjusted <= policy_.fdr() &&
                e.subjects() >= policy_.min_cases());
  e.set_summary(absl::StrFormat(
      "%d/%d vs control %s %d/%d: one-sided Fisher p = %.4g, double "
      "FDR adjusted %.4g, FDR %.3g",
      e.subjects(), e.denominator(), GroupId(control_), e.comparison_subjects(),
      e.comparison_denominator(), e.p_value(), adjusted, policy_.fdr()));
}

// Dose trend across the ordered groups.
absl::Status RowEvaluator::DoseTrend(int k, const std::string& timepoint) {
  std::vector<int64_t> xs, ns;
  for (int g = 0; g < groups_; ++g) {
    xs.push_back(table_.Cumulative(g, k).subjects);
    ns.push_back(Dosed(g));
  }
  bool dose_scores = true;
  const std::vector<double> scores = TrendScores(trial_, &dose_scores);
  AESIGNAL_ASSIGN_OR_RETURN(signal::TrendResult trend,
                            ServerTrend(xs, ns, scores));
  AESIGNAL_ASSIGN_OR_RETURN(signal::Decision d,
                            rule_.DoseTrendFrom(xs, ns, trend));
  std::string counts;
  for (int g = 0; g < groups_; ++g) {
    absl::StrAppend(&counts, g ? ", " : "", GroupId(g), " ", xs[g], "/", ns[g]);
  }
  Finding& f =
      Add(d, "", timepoint,
          absl::StrFormat("%s: %s Cochran-Armitage trend Z = %.3f, one-sided "
                          "p = %.4g, alpha %.3g",
                          counts, d.exact ? "exact" : "asymptotic", d.statistic,
                          d.p_value, policy_.alpha()));
  f.evidence.set_comparison(dose_scores ? "dose scores" : "rank scores");
  return absl::OkStatus();
}

// Subjects with an onset in window w of group g (all groups for g = -1),
// the subjects at risk and their exposure in subject-days.
signal::SignalRule::WindowCount RowEvaluator::WindowOf(int g, int w) const {
  signal::SignalRule::WindowCount out;
  const int first = trial_.timepoints(0).study_day();
  const int days = w == 0 ? std::max(1, first)
                          : trial_.timepoints(w).study_day() -
                                trial_.timepoints(w - 1).study_day();
  for (int gg = g < 0 ? 0 : g; gg < (g < 0 ? groups_ : g + 1); ++gg) {
    out.subjects += table_.Interval(gg, w);
    out.at_risk += denominators_.at_risk[gg * windows_ + w];
  }
  out.exposure = static_cast<double>(out.at_risk) * days;
  return out;
}

// Window k of group g (all groups for g = -1) against its earlier windows,
// as rates per subject-day at risk. Adds nothing when either side has no
// one at risk.
absl::Status RowEvaluator::AgainstEarlierWindows(int g, int k,
                                                 const std::string& timepoint) {
  const signal::SignalRule::WindowCount window = WindowOf(g, k);
  signal::SignalRule::WindowCount before;
  for (int w = 0; w < k; ++w) {
    const signal::SignalRule::WindowCount earlier = WindowOf(g, w);
    before.subjects += earlier.subjects;
    before.at_risk += earlier.at_risk;
    before.exposure += earlier.exposure;
  }
  if (window.at_risk == 0 || before.at_risk == 0) return absl::OkStatus();
  AESIGNAL_ASSIGN_OR_RETURN(signal::Decision d, rule_.OverTime(window, before));
  Finding& f =
      Add(d, GroupId(g), timepoint,
          absl::StrFormat(
              "window %s%s: %d onsets in %.0f subject-days at risk vs earlier "
              "windows %d in %.0f: exact conditional rate test p = %.4g "
              "(expected share %.3f)",
              timepoint, g < 0 ? ", all groups" : "", window.subjects,
              window.exposure, before.subjects, before.exposure, d.p_value,
              d.expected));
  f.evidence.set_comparison("earlier windows");
  f.evidence.set_expected_proportion(d.expected);
  return absl::OkStatus();
}

// Each group's window k against its earlier windows.
absl::Status RowEvaluator::OverTime(int k, const std::string& timepoint) {
  for (int g = 0; g < groups_; ++g) {
    AESIGNAL_RETURN_IF_ERROR(AgainstEarlierWindows(g, k, timepoint));
  }
  return absl::OkStatus();
}

// The tests of this row that share its alpha under trial-wide control,
// counted from the design (not the data): against baselines, one test per
// method and distinct baseline applying to each group and to the total
// (cumulative cells of one baseline at successive timepoints are nested:
// when an earlier one crosses, so does the latest, so they add no error);
// one per treated group against the control arm and one for the trend (the
// cumulative incidence); one per later window over time. At least 1.
int RowEvaluator::TestsInRow() const {
  int tests = 0;
  const int baseline_methods = (policy_.disable_binomial() ? 0 : 1) +
                               (policy_.maxsprt_planned_subjects() > 0 ? 1 : 0);
  for (int g = -1; g < groups_ && !baselines_.empty(); ++g) {
    if (Dosed(g) == 0) continue;
    std::set<const v1::Baseline*> applying;
    for (const auto& tp : trial_.timepoints()) {
      const v1::Baseline* b =
          BaselineFor(baselines_, GroupId(g), tp.timepoint_id());
      if (b != nullptr) applying.insert(b);
    }
    tests += baseline_methods * static_cast<int>(applying.size());
  }
  if (RunsControl() && Dosed(control_) > 0) {
    for (int g = 0; g < groups_; ++g) {
      if (g != control_ && Dosed(g) > 0) ++tests;
    }
  }
  if (RunsTrend()) ++tests;
  if (RunsOverTime()) tests += windows_ - 1;
  return std::max(1, tests);
}

// Trial-wide control: each test's decision against its family's level.
void RowEvaluator::AdjustForTrial() {
  for (Finding& f : out_) {
    v1::Evidence& e = f.evidence;
    if (adjustment_.family == Family::kDescriptive) {
      e.set_crosses(false);
      e.set_decision_note(
          "descriptive: under trial-wide error control a SOC row without a "
          "baseline does not raise a topic; its PTs are screened");
    } else if (f.method == v1::SIGNAL_METHOD_BAYESIAN) {
      e.set_crosses(false);
      e.set_decision_note(
          "descriptive: under trial-wide error control the exact tests "
          "decide, the posterior is shown beside them");
    } else if (f.method == v1::SIGNAL_METHOD_MAXSPRT) {
      // Its critical value is already the one for alpha / multiplicity.
      e.set_multiplicity(multiplicity_);
      absl::StrAppendFormat(e.mutable_summary(),
                            "; trial-wide: alpha %.3g shared by %d tests",
                            policy_.alpha(), multiplicity_);
    } else {
      AdjustTest(f);
    }
  }
}

// A test's adjusted p: Bonferroni over the tests sharing alpha for a
// pre-specified row; for a screening row, the larger of the row's double-FDR
// value and the test's Bonferroni p within the row, against the FDR level.
void RowEvaluator::AdjustTest(Finding& f) const {
  v1::Evidence& e = f.evidence;
  // A repeated-look boundary calibrated at alpha / multiplicity crosses at
  // p <= its level: scaled so that the adjusted p crosses at alpha.
  const double bonferroni =
      e.boundary() == 0 ? std::min(1.0, e.p_value() * multiplicity_)
      : e.boundary_level() > 0
          ? std::min(1.0, e.p_value() * policy_.alpha() / e.boundary_level())
          : 1.0;
  const bool screening = adjustment_.family == Family::kScreening;
  const double adjusted =
      screening ? std::max(adjustment_.screening_adjusted, bonferroni)
                : bonferroni;
  const double level = screening ? policy_.fdr() : policy_.alpha();
  e.set_adjusted_p_value(adjusted);
  e.set_multiplicity(multiplicity_);
  e.set_threshold(level);
  e.set_crosses(adjusted <= level && e.subjects() >= policy_.min_cases());
  if (screening) {
    absl::StrAppendFormat(e.mutable_summary(),
                          "; screened: double FDR adjusted p = %.4g (%d "
                          "tests in the row), FDR %.3g",
                          adjusted, multiplicity_, level);
  } else {
    absl::StrAppendFormat(e.mutable_summary(),
                          "; trial-wide adjusted p = %.4g (alpha %.3g "
                          "shared by %d tests)",
                          adjusted, level, multiplicity_);
  }
}

}  // namespace

v1::SignalPolicy EffectivePolicy(const v1::SignalPolicy& policy) {
  v1::SignalPolicy p = policy;
  if (p.alpha() <= 0) p.set_alpha(0.05);
  if (p.posterior_threshold() <= 0) p.set_posterior_threshold(0.95);
  if (p.prior_weight() <= 0) p.set_prior_weight(0.5);
  if (p.min_cases() <= 0) p.set_min_cases(p.min_cases_one() ? 1 : 2);
  if (p.fdr() <= 0) p.set_fdr(0.05);
  if (p.error_control() == v1::ERROR_CONTROL_UNSPECIFIED) {
    p.set_error_control(v1::ERROR_CONTROL_TRIAL_WIDE);
  }
  return p;
}

std::vector<double> TrendScores(const v1::Trial& trial, bool* dose_scores) {
  std::vector<double> scores;
  *dose_scores = true;
  for (const auto& dg : trial.dose_groups()) {
    scores.push_back(dg.control() ? 0 : dg.dose_value());
    if (!dg.control() && !(dg.dose_value() > 0)) *dose_scores = false;
  }
  if (!*dose_scores) {
    for (size_t g = 0; g < scores.size(); ++g) scores[g] = g;
  }
  return scores;
}

RowAdjustment::Family FamilyOf(const v1::SignalPolicy& policy,
                               const TermKey& term, bool has_baseline) {
  if (policy.error_control() == v1::ERROR_CONTROL_PER_TEST) {
    return Family::kPerTest;
  }
  if (has_baseline || term.level == Level::kOverall) {
    return Family::kPrespecified;
  }
  return term.level == Level::kPt ? Family::kScreening : Family::kDescriptive;
}

int PrespecifiedRows(const v1::Trial& trial,
                     const std::vector<v1::Baseline>& baselines) {
  const std::vector<OverallRow> overall = OverallRows(trial);
  std::set<std::string> named;
  for (const auto& b : baselines) {
    if (b.level() == v1::TERM_LEVEL_PT || b.level() == v1::TERM_LEVEL_SOC) {
      named.insert(absl::StrCat(b.level(), "\t", b.soc(), "\t", b.pt()));
    } else if (!IsOverallRow(trial, b.overall_key())) {
      named.insert(b.overall_key());  // validation refuses these today
    }
  }
  return static_cast<int>(overall.size() + named.size());
}

v1::TermLevel ApiLevel(Level level) {
  switch (level) {
    case Level::kPt:
      return v1::TERM_LEVEL_PT;
    case Level::kSoc:
      return v1::TERM_LEVEL_SOC;
    case Level::kOverall:
      return v1::TERM_LEVEL_OVERALL;
  }
  return v1::TERM_LEVEL_UNSPECIFIED;
}

void SetTermFields(const TermKey& term, v1::Signal* signal) {
  signal->set_level(ApiLevel(term.level));
  signal->set_soc(term.soc);
  signal->set_pt(term.pt);
  signal->set_overall_key(term.overall);
  signal->set_label(term.level == Level::kPt    ? term.pt
                    : term.level == Level::kSoc ? term.soc
                                                : term.overall);
}

void FillScope(v1::Signal* signal) {
  signal->set_scope(signal->method() == v1::SIGNAL_METHOD_DOSE_TREND
                        ? v1::DOSE_GROUP_SCOPE_ACROSS_GROUPS
                    : signal->dose_group_id().empty()
                        ? v1::DOSE_GROUP_SCOPE_ALL_GROUPS
                        : v1::DOSE_GROUP_SCOPE_GROUP);
}

namespace {

// A signal id's dose group segment: "ALL" for the all-groups total (empty
// dose_group_id), else the escaped dose group id — with the first letter of
// a group literally named "ALL" escaped too (".41LL"), so that no dose group
// id a user can create collides with the total.
std::string DoseGroupSegment(const std::string& dose_group_id) {
  if (dose_group_id.empty()) return "ALL";
  std::string segment = Escape(dose_group_id);
  if (segment == "ALL") return ".41LL";
  return segment;
}

}  // namespace

std::string TopicId(const TermKey& term) {
  const char* level = term.level == Level::kPt    ? "PT"
                      : term.level == Level::kSoc ? "SOC"
                                                  : "OVERALL";
  const std::string& name = term.level == Level::kPt    ? term.pt
                            : term.level == Level::kSoc ? term.soc
                                                        : term.overall;
  std::string id = absl::StrCat(level, "~");
  if (term.level == Level::kPt) absl::StrAppend(&id, Escape(term.soc), "~");
  absl::StrAppend(&id, Escape(name));
  return id;
}

std::string SignalId(v1::SignalMethod method, const TermKey& term,
                     const std::string& dose_group_id,
                     const std::string& timepoint_id) {
  return absl::StrCat(IdName(method), "~", TopicId(term), "~",
                      DoseGroupSegment(dose_group_id), "~",
                      Escape(timepoint_id));
}

absl::StatusOr<std::vector<Finding>> EvaluateTerm(
    const v1::Trial& trial, const v1::SignalPolicy& policy,
    const storage::TermCounters& counters,
    const internal::Denominators& denominators,
    const std::vector<v1::Baseline>& baselines,
    const RowAdjustment& adjustment) {
  return RowEvaluator(trial, policy, counters, denominators, baselines,
                      adjustment)
      .Run();
}

int ControlGroup(const v1::Trial& trial) {
  for (int g = 0; g < trial.dose_groups_size(); ++g) {
    if (trial.dose_groups(g).control()) return g;
  }
  return -1;
}

absl::StatusOr<std::map<std::string, AdjustedP>> ScreenPts(
    const v1::Trial& trial, const v1::SignalPolicy& policy,
    const std::vector<storage::TermCounters>& pts,
    const internal::Denominators& denominators) {
  const int groups = trial.dose_groups_size();
  const int windows = trial.timepoints_size();
  const int control = ControlGroup(trial);
  std::map<std::string, AdjustedP> out;
  if (control < 0 || pts.empty()) return out;
  std::vector<std::string> socs;
  for (const auto& row : pts) socs.push_back(row.term.soc);
  for (int g = 0; g < groups; ++g) {
    if (g == control) continue;
    for (int k = 0; k < windows; ++k) {
      std::vector<double> ps;
      for (const auto& row : pts) {
        const Table table(row, groups, windows);
        AESIGNAL_ASSIGN_OR_RETURN(
            double p,
            signal::FisherGreater(table.Cumulative(g, k).subjects,
                                  denominators.dosed[g],
                                  table.Cumulative(control, k).subjects,
                                  denominators.dosed[control]));
        ps.push_back(p);
      }
      AESIGNAL_ASSIGN_OR_RETURN(signal::DoubleFdrResult adjusted,
                                signal::DoubleFdr(socs, ps, policy.fdr()));
      for (size_t i = 0; i < pts.size(); ++i) {
        out[storage::EncodeTerm(pts[i].term)][{g, k}] = adjusted.adjusted[i];
      }
    }
  }
  return out;
}

namespace {

// The smallest p-value a screening test could give with its margins (the
// total number of subjects with the event in the groups it compares): the
// one-sided Fisher p of every such subject in the treated group, or the
// exact trend p of every one in the highest-dose groups; 1 when the total
// is below min_cases (such a test cannot decide).
absl::StatusOr<double> MinAttainableP(const v1::Trial& trial,
                                      const v1::SignalPolicy& policy,
                                      const internal::Denominators& d,
                                      const Finding& f) {
  const v1::Evidence& e = f.evidence;
  if (f.method == v1::SIGNAL_METHOD_CONTROL_FISHER) {
    const int64_t total = e.subjects() + e.comparison_subjects();
    const int64_t most = std::min<int64_t>(total, e.denominator());
    if (most < policy.min_cases()) return 1.0;
    return signal::FisherGreater(most, e.denominator(), total - most,
                                 e.comparison_denominator());
  }
  if (f.method != v1::SIGNAL_METHOD_DOSE_TREND) return e.p_value();
  if (e.subjects() < policy.min_cases()) return 1.0;
  bool dose_scores = true;
  const std::vector<double> scores = TrendScores(trial, &dose_scores);
  std::vector<size_t> order(scores.size());
  for (size_t g = 0; g < order.size(); ++g) order[g] = g;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<int64_t> x(scores.size(), 0);
  int64_t left = e.subjects();
  for (size_t g : order) {
    x[g] = std::min(left, d.dosed[g]);
    left -= x[g];
  }
  AESIGNAL_ASSIGN_OR_RETURN(signal::TrendResult extreme,
                            ServerTrend(x, d.dosed, scores));
  return extreme.p;
}

}  // namespace

absl::StatusOr<std::map<std::string, double>> ScreenRows(
    const v1::Trial& trial, const v1::SignalPolicy& policy,
    const std::vector<const storage::TermCounters*>& rows,
    const internal::Denominators& denominators) {
  std::vector<std::string> socs;
  std::vector<double> ps;
  std::vector<const storage::TermCounters*> screened;
  const RowAdjustment screening{.family = Family::kScreening};
  for (const storage::TermCounters* row : rows) {
    AESIGNAL_ASSIGN_OR_RETURN(
        std::vector<Finding> findings,
        EvaluateTerm(trial, policy, *row, denominators, {}, screening));
    double p = 1, attainable = 1;
    for (const Finding& f : findings) {
      // The Bonferroni p within the row, of the tests that can decide.
      const v1::Evidence& e = f.evidence;
      AESIGNAL_ASSIGN_OR_RETURN(double least,
                                MinAttainableP(trial, policy, denominators, f));
      attainable = std::min(attainable, e.multiplicity() * least);
      if (e.subjects() < policy.min_cases()) continue;
      p = std::min(p, e.multiplicity() * e.p_value());
    }
    // A row whose margins cannot give a p <= fdr can never be flagged: it
    // leaves the family (Tarone 1990; Gilbert 2005), so that the hundreds
    // of PTs with one or two cases do not dilute the ones that can signal.
    if (attainable > policy.fdr()) continue;
    socs.push_back(row->term.soc);
    ps.push_back(std::min(1.0, p));
    screened.push_back(row);
  }
  std::map<std::string, double> out;
  for (const storage::TermCounters* row : rows) {
    out[storage::EncodeTerm(row->term)] = 1;
  }
  if (screened.empty()) return out;
  AESIGNAL_ASSIGN_OR_RETURN(signal::DoubleFdrResult adjusted,
                            signal::DoubleFdr(socs, ps, policy.fdr()));
  for (size_t i = 0; i < screened.size(); ++i) {
    out[storage::EncodeTerm(screened[i]->term)] = adjusted.adjusted[i];
  }
  return out;
}

}  // namespace aesignal::domain
