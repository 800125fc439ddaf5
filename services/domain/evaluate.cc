#include "services/monitor/evaluate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "services/monitor/errors.h"
#include "services/monitor/validation.h"
#include "services/signal/binomial_ci.h"
#include "services/signal/rule.h"
#include "services/signal/signal_stats.h"

namespace aesignal::monitor {
namespace {

using storage::Level;
using storage::TermKey;

constexpr double kConfidence = 0.95;

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '/' || c == '~' || c == '%') {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

const char* MethodName(v1::SignalMethod m) {
  switch (m) {
    case v1::SIGNAL_METHOD_BINOMIAL_EXACT:
      return "BINOMIAL";
    case v1::SIGNAL_METHOD_BAYESIAN:
      return "BAYESIAN";
    case v1::SIGNAL_METHOD_CONTROL_FISHER:
      return "CONTROL";
    case v1::SIGNAL_METHOD_DOSE_TREND:
      return "TREND";
    case v1::SIGNAL_METHOD_OVER_TIME:
      return "OVERTIME";
    case v1::SIGNAL_METHOD_MAXSPRT:
      return "MAXSPRT";
    default:
      return "UNSPECIFIED";
  }
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

v1::SignalMethod ApiMethod(signal::Method m) {
  switch (m) {
    case signal::Method::kBinomialExact:
      return v1::SIGNAL_METHOD_BINOMIAL_EXACT;
    case signal::Method::kBayesian:
      return v1::SIGNAL_METHOD_BAYESIAN;
    case signal::Method::kMaxSprt:
      return v1::SIGNAL_METHOD_MAXSPRT;
    case signal::Method::kControlFisher:
      return v1::SIGNAL_METHOD_CONTROL_FISHER;
    case signal::Method::kDoseTrend:
      return v1::SIGNAL_METHOD_DOSE_TREND;
    case signal::Method::kOverTime:
      return v1::SIGNAL_METHOD_OVER_TIME;
  }
  return v1::SIGNAL_METHOD_UNSPECIFIED;
}

v1::Evidence ToEvidence(const signal::Decision& d) {
  v1::Evidence e;
  e.set_method(ApiMethod(d.method));
  e.set_crosses(d.crosses);
  e.set_statistic(d.statistic);
  e.set_p_value(d.method == signal::Method::kBayesian ||
                        d.method == signal::Method::kMaxSprt
                    ? 0
                    : d.p_value);
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
  return e;
}

signal::SignalRule RuleFor(const v1::SignalPolicy& policy) {
  signal::RuleSettings settings;
  settings.alpha = policy.alpha();
  settings.posterior_threshold = policy.posterior_threshold();
  settings.prior_weight = policy.prior_weight();
  settings.min_cases = policy.min_cases();
  settings.binomial = !policy.disable_binomial();
  settings.bayesian = !policy.disable_bayesian();
  settings.planned_subjects = policy.maxsprt_planned_subjects();
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

}  // namespace

v1::SignalPolicy EffectivePolicy(const v1::SignalPolicy& policy) {
  v1::SignalPolicy p = policy;
  if (p.alpha() <= 0) p.set_alpha(0.05);
  if (p.posterior_threshold() <= 0) p.set_posterior_threshold(0.95);
  if (p.prior_weight() <= 0) p.set_prior_weight(0.5);
  if (p.min_cases() <= 0) p.set_min_cases(p.min_cases_one() ? 1 : 2);
  if (p.fdr() <= 0) p.set_fdr(0.1);
  return p;
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

std::string SignalId(v1::SignalMethod method, const TermKey& term,
                     const std::string& dose_group_id,
                     const std::string& timepoint_id) {
  const char* level = term.level == Level::kPt    ? "PT"
                      : term.level == Level::kSoc ? "SOC"
                                                  : "OVERALL";
  const std::string& name = term.level == Level::kPt    ? term.pt
                            : term.level == Level::kSoc ? term.soc
                                                        : term.overall;
  std::string id = absl::StrCat(MethodName(method), "~", level, "~");
  if (term.level == Level::kPt) absl::StrAppend(&id, Escape(term.soc), "~");
  absl::StrAppend(&id, Escape(name), "~",
                  dose_group_id.empty() ? "ALL" : Escape(dose_group_id), "~",
                  Escape(timepoint_id));
  return id;
}

absl::StatusOr<std::vector<Finding>> EvaluateTerm(
    const v1::Trial& trial, const v1::SignalPolicy& policy,
    const storage::TermCounters& counters,
    const internal::Denominators& denominators,
    const std::vector<v1::Baseline>& baselines, const AdjustedP* screening) {
  const int groups = trial.dose_groups_size();
  const int windows = trial.timepoints_size();
  const Table table(counters, groups, windows);
  const signal::SignalRule rule = RuleFor(policy);
  // The total's planned enrollment is every group's.
  signal::RuleSettings total_settings = rule.settings();
  total_settings.planned_subjects *= groups;
  const signal::SignalRule total_rule(total_settings);
  std::vector<Finding> out;

  auto dosed = [&](int g) {
    if (g >= 0) return denominators.dosed[g];
    int64_t n = 0;
    for (int64_t d : denominators.dosed) n += d;
    return n;
  };
  auto group_id = [&](int g) {
    return g < 0 ? std::string() : trial.dose_groups(g).dose_group_id();
  };
  auto add = [&](const signal::Decision& d, const std::string& group,
                 const std::string& timepoint, std::string summary) {
    Finding f{ApiMethod(d.method), group, timepoint, ToEvidence(d)};
    f.evidence.set_summary(std::move(summary));
    out.push_back(std::move(f));
    return &out.back();
  };
  const int control = ControlGroup(trial);

  for (int k = 0; k < windows; ++k) {
    const std::string& timepoint = trial.timepoints(k).timepoint_id();

    // Against reported baselines: each group and the total.
    for (int g = -1; g < groups && !baselines.empty(); ++g) {
      const v1::Baseline* b = BaselineFor(baselines, group_id(g), timepoint);
      const int64_t n = dosed(g);
      if (b == nullptr || n == 0) continue;
      const Cell cell = table.Cumulative(g, k);
      AESIGNAL_ASSIGN_OR_RETURN(
          std::vector<signal::Decision> decisions,
          (g < 0 ? total_rule : rule)
              .AgainstBaseline(cell.subjects, n,
                               {.p0 = b->expected_proportion(),
                                .source_events = b->source_events(),
                                .source_subjects = b->source_subjects()}));
      for (const signal::Decision& d : decisions) {
        std::string summary;
        switch (d.method) {
          case signal::Method::kBinomialExact:
            summary = absl::StrFormat(
                "%d/%d (%.1f%%) vs expected %.1f%% (%s): exact binomial "
                "P(X>=%d)=%.4g, alpha %.3g",
                d.subjects, n, 100.0 * d.subjects / n, 100 * d.expected,
                b->baseline_id(), d.subjects, d.p_value, d.threshold);
            break;
          case signal::Method::kMaxSprt:
            summary = absl::StrFormat(
                "%d cases vs %.3g expected (%s): MaxSPRT LLR %.4g, critical "
                "value %.6g (alpha %.3g, T %.3g, M %d)",
                d.subjects, d.expected, b->baseline_id(), d.statistic,
                d.threshold, policy.alpha(), d.surveillance_end,
                policy.min_cases());
            break;
          default:
            summary = absl::StrFormat(
                "%d/%d vs expected %.1f%% (%s): P(p > p0 | data) = %.4f under "
                "Beta(%.3g, %.3g) prior, threshold %.3g",
                d.subjects, n, 100 * b->expected_proportion(), b->baseline_id(),
                d.posterior, d.prior_a, d.prior_b, d.threshold);
        }
        v1::Evidence* e =
            &add(d, group_id(g), timepoint, std::move(summary))->evidence;
        SetBaseline(*b, e);
        if (d.method == signal::Method::kMaxSprt) {
          e->set_expected_proportion(b->expected_proportion());
        }
      }
    }

    // Against the control arm.
    if (control >= 0 && !policy.disable_control()) {
      const Cell c = table.Cumulative(control, k);
      const int64_t nc = dosed(control);
      for (int g = 0; g < groups; ++g) {
        const int64_t n = dosed(g);
        if (g == control || n == 0 || nc == 0) continue;
        const Cell cell = table.Cumulative(g, k);
        AESIGNAL_ASSIGN_OR_RETURN(
            signal::Decision d,
            rule.AgainstControl(cell.subjects, n, c.subjects, nc));
        Finding* f = add(
            d, group_id(g), timepoint,
            absl::StrFormat("%d/%d vs control %s %d/%d: one-sided Fisher p = "
                            "%.4g, alpha %.3g",
                            cell.subjects, n, group_id(control), c.subjects, nc,
                            d.p_value, policy.alpha()));
        f->evidence.set_comparison(group_id(control));
        if (screening != nullptr) {
          auto it = screening->find({g, k});
          const double adjusted = it == screening->end() ? 1 : it->second;
          f->evidence.set_adjusted_p_value(adjusted);
          f->evidence.set_threshold(policy.fdr());
          f->evidence.set_crosses(adjusted <= policy.fdr() &&
                                  cell.subjects >= policy.min_cases());
          f->evidence.set_summary(absl::StrFormat(
              "%d/%d vs control %s %d/%d: one-sided Fisher p = %.4g, double "
              "FDR adjusted %.4g, FDR %.3g",
              cell.subjects, n, group_id(control), c.subjects, nc, d.p_value,
              adjusted, policy.fdr()));
        }
      }
    }

    // Dose trend across the ordered groups.
    if (groups >= 3 && !policy.disable_trend()) {
      std::vector<int64_t> xs, ns;
      std::vector<double> scores;
      bool dose_scores = true;
      for (int g = 0; g < groups; ++g) {
        xs.push_back(table.Cumulative(g, k).subjects);
        ns.push_back(dosed(g));
        const auto& dg = trial.dose_groups(g);
        scores.push_back(dg.control() ? 0 : dg.dose_value());
        if (!dg.control() && !(dg.dose_value() > 0)) dose_scores = false;
      }
      if (!dose_scores) {
        for (int g = 0; g < groups; ++g) scores[g] = g;
      }
      AESIGNAL_ASSIGN_OR_RETURN(signal::Decision d,
                                rule.DoseTrend(xs, ns, scores));
      std::string counts;
      for (int g = 0; g < groups; ++g) {
        absl::StrAppend(&counts, g ? ", " : "", group_id(g), " ", xs[g], "/",
                        ns[g]);
      }
      Finding* f = add(
          d, "", timepoint,
          absl::StrFormat("%s: %s Cochran-Armitage trend Z = %.3f, one-sided "
                          "p = %.4g, alpha %.3g",
                          counts, d.exact ? "exact" : "asymptotic", d.statistic,
                          d.p_value, policy.alpha()));
      f->evidence.set_comparison(dose_scores ? "dose scores" : "rank scores");
    }

    // A later window against the earlier windows of the same group.
    if (k >= 1 && !policy.disable_over_time()) {
      for (int g = 0; g < groups; ++g) {
        const int64_t x = table.Interval(g, k);
        const int64_t n = denominators.at_risk[g * windows + k];
        int64_t x_before = 0, n_before = 0;
        for (int w = 0; w < k; ++w) {
          x_before += table.Interval(g, w);
          n_before += denominators.at_risk[g * windows + w];
        }
        if (n == 0 || n_before == 0) continue;
        AESIGNAL_ASSIGN_OR_RETURN(signal::Decision d,
                                  rule.OverTime(x, n, x_before, n_before));
        Finding* f = add(
            d, group_id(g), timepoint,
            absl::StrFormat("window %s: %d/%d at risk vs earlier windows "
                            "%d/%d subject-windows: one-sided Fisher p = %.4g, "
                            "alpha %.3g",
                            timepoint, x, n, x_before, n_before, d.p_value,
                            policy.alpha()));
        f->evidence.set_comparison("earlier windows");
      }
    }
  }
  return out;
}

int ControlGroup(const v1::Trial& trial) {
  for (int g = 0; g < trial.dose_groups_size(); ++g) {
    if (trial.dose_groups(g).control()) return g;
  }
  return -1;
}

absl::StatusOr<std::map<std::string, AdjustedP>> ScreenPts(
    const v1::Trial& trial, const std::vector<storage::TermCounters>& pts,
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
      AESIGNAL_ASSIGN_OR_RETURN(std::vector<double> adjusted,
                                signal::DoubleFdr(socs, ps));
      for (size_t i = 0; i < pts.size(); ++i) {
        out[storage::EncodeTerm(pts[i].term)][{g, k}] = adjusted[i];
      }
    }
  }
  return out;
}

}  // namespace aesignal::monitor
