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

void SetCell(int64_t x, int64_t n, v1::Evidence* e) {
  e->set_subjects(x);
  e->set_denominator(n);
  e->set_proportion(n > 0 ? static_cast<double>(x) / n : 0);
  e->set_confidence_level(kConfidence);
  auto ci = signal::ClopperPearson(x, n, kConfidence);
  if (ci.ok()) {
    e->set_ci_lower(ci->lower);
    e->set_ci_upper(ci->upper);
  }
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

// Critical values are costly (a bisection over exact recursions) and few
// distinct (alpha, T, M) occur: cache them.
absl::StatusOr<double> CachedCriticalValue(double alpha, double t, int m) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* cache = new std::map<std::tuple<double, double, int>, double>();
  const auto key = std::make_tuple(alpha, t, m);
  {
    absl::MutexLock lock(&mu);
    if (auto it = cache->find(key); it != cache->end()) return it->second;
  }
  AESIGNAL_ASSIGN_OR_RETURN(double cv,
                            signal::MaxSprtCriticalValue(alpha, t, m));
  absl::MutexLock lock(&mu);
  (*cache)[key] = cv;
  return cv;
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
  const int64_t min_cases = policy.min_cases();
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

  for (int k = 0; k < windows; ++k) {
    const std::string& timepoint = trial.timepoints(k).timepoint_id();

    // Against reported baselines: each group and the total.
    if (!baselines.empty()) {
      for (int g = -1; g < groups; ++g) {
        const v1::Baseline* b = BaselineFor(baselines, group_id(g), timepoint);
        if (b == nullptr) continue;
        const Cell cell = table.Cumulative(g, k);
        const int64_t n = dosed(g);
        if (n == 0) continue;
        const double p0 = b->expected_proportion();
        if (!policy.disable_binomial()) {
          AESIGNAL_ASSIGN_OR_RETURN(
              double p, signal::BinomialUpperTail(cell.subjects, n, p0));
          Finding f{
              v1::SIGNAL_METHOD_BINOMIAL_EXACT, group_id(g), timepoint, {}};
          f.evidence.set_method(f.method);
          SetCell(cell.subjects, n, &f.evidence);
          SetBaseline(*b, &f.evidence);
          f.evidence.set_statistic(static_cast<double>(cell.subjects));
          f.evidence.set_p_value(p);
          f.evidence.set_threshold(policy.alpha());
          f.evidence.set_crosses(p <= policy.alpha() &&
                                 cell.subjects >= min_cases);
          f.evidence.set_summary(absl::StrFormat(
              "%d/%d (%.1f%%) vs expected %.1f%% (%s): exact binomial "
              "P(X>=%d)=%.4g, alpha %.3g",
              cell.subjects, n, 100.0 * cell.subjects / n, 100 * p0,
              b->baseline_id(), cell.subjects, p, policy.alpha()));
          out.push_back(std::move(f));
        }
        if (policy.maxsprt_planned_subjects() > 0) {
          // Expected cases under the baseline among those dosed so far; the
          // surveillance ends at the planned enrollment.
          const double mu = p0 * n;
          const int64_t planned =
              static_cast<int64_t>(policy.maxsprt_planned_subjects()) *
              (g < 0 ? groups : 1);
          const double t = std::max(mu, p0 * planned);
          AESIGNAL_ASSIGN_OR_RETURN(
              double cv, CachedCriticalValue(policy.alpha(), t,
                                             static_cast<int>(min_cases)));
          const double llr = signal::PoissonLlr(cell.subjects, mu);
          Finding f{v1::SIGNAL_METHOD_MAXSPRT, group_id(g), timepoint, {}};
          f.evidence.set_method(f.method);
          SetCell(cell.subjects, n, &f.evidence);
          SetBaseline(*b, &f.evidence);
          f.evidence.set_statistic(llr);
          f.evidence.set_threshold(cv);
          f.evidence.set_crosses(llr >= cv && cell.subjects >= min_cases);
          f.evidence.set_summary(absl::StrFormat(
              "%d cases vs %.3g expected (%s): MaxSPRT LLR %.4g, critical "
              "value %.6g (alpha %.3g, T %.3g, M %d)",
              cell.subjects, mu, b->baseline_id(), llr, cv, policy.alpha(), t,
              min_cases));
          out.push_back(std::move(f));
        }
        if (!policy.disable_bayesian()) {
          double a, bb;
          if (b->source_subjects() > 0) {
            a = policy.prior_weight() * (b->source_events() + 0.5);
            bb = policy.prior_weight() *
                 (b->source_subjects() - b->source_events() + 0.5);
          } else {
            // A weak prior centred on p0 worth one subject.
            a = p0;
            bb = 1 - p0;
          }
          AESIGNAL_ASSIGN_OR_RETURN(
              double post,
              signal::PosteriorExceeds(cell.subjects, n, p0, a, bb));
          Finding f{v1::SIGNAL_METHOD_BAYESIAN, group_id(g), timepoint, {}};
          f.evidence.set_method(f.method);
          SetCell(cell.subjects, n, &f.evidence);
          SetBaseline(*b, &f.evidence);
          f.evidence.set_statistic(static_cast<double>(cell.subjects));
          f.evidence.set_posterior_probability(post);
          f.evidence.set_threshold(policy.posterior_threshold());
          f.evidence.set_crosses(post > policy.posterior_threshold() &&
                                 cell.subjects >= min_cases);
          f.evidence.set_summary(absl::StrFormat(
              "%d/%d vs expected %.1f%% (%s): P(p > p0 | data) = %.4f under "
              "Beta(%.3g, %.3g) prior, threshold %.3g",
              cell.subjects, n, 100 * p0, b->baseline_id(), post, a, bb,
              policy.posterior_threshold()));
          out.push_back(std::move(f));
        }
      }
    }

    // Against the control arm.
    const int control = ControlGroup(trial);
    if (control >= 0 && !policy.disable_control()) {
      const Cell c = table.Cumulative(control, k);
      const int64_t nc = dosed(control);
      for (int g = 0; g < groups; ++g) {
        if (g == control) continue;
        const Cell cell = table.Cumulative(g, k);
        const int64_t n = dosed(g);
        if (n == 0 || nc == 0) continue;
        AESIGNAL_ASSIGN_OR_RETURN(
            double p, signal::FisherGreater(cell.subjects, n, c.subjects, nc));
        Finding f{v1::SIGNAL_METHOD_CONTROL_FISHER, group_id(g), timepoint, {}};
        f.evidence.set_method(f.method);
        SetCell(cell.subjects, n, &f.evidence);
        f.evidence.set_comparison(group_id(control));
        f.evidence.set_comparison_subjects(c.subjects);
        f.evidence.set_comparison_denominator(nc);
        f.evidence.set_statistic(static_cast<double>(cell.subjects));
        f.evidence.set_p_value(p);
        f.evidence.set_threshold(policy.alpha());
        f.evidence.set_crosses(p <= policy.alpha() &&
                               cell.subjects >= min_cases);
        f.evidence.set_summary(absl::StrFormat(
            "%d/%d vs control %s %d/%d: one-sided Fisher p = %.4g, alpha %.3g",
            cell.subjects, n, group_id(control), c.subjects, nc, p,
            policy.alpha()));
        if (screening != nullptr) {
          auto it = screening->find({g, k});
          const double adjusted = it == screening->end() ? 1 : it->second;
          f.evidence.set_adjusted_p_value(adjusted);
          f.evidence.set_threshold(policy.fdr());
          f.evidence.set_crosses(adjusted <= policy.fdr() &&
                                 cell.subjects >= min_cases);
          f.evidence.set_summary(absl::StrFormat(
              "%d/%d vs control %s %d/%d: one-sided Fisher p = %.4g, double "
              "FDR adjusted %.4g, FDR %.3g",
              cell.subjects, n, group_id(control), c.subjects, nc, p, adjusted,
              policy.fdr()));
        }
        out.push_back(std::move(f));
      }
    }

    // Dose trend across the ordered groups.
    if (groups >= 3 && !policy.disable_trend()) {
      std::vector<int64_t> xs, ns;
      std::vector<double> scores;
      bool dose_scores = true;
      int64_t total = 0;
      for (int g = 0; g < groups; ++g) {
        xs.push_back(table.Cumulative(g, k).subjects);
        ns.push_back(dosed(g));
        total += xs.back();
        const auto& dg = trial.dose_groups(g);
        scores.push_back(dg.control() ? 0 : dg.dose_value());
        if (!dg.control() && !(dg.dose_value() > 0)) dose_scores = false;
      }
      if (!dose_scores) {
        for (int g = 0; g < groups; ++g) scores[g] = g;
      }
      AESIGNAL_ASSIGN_OR_RETURN(
          signal::TrendResult trend,
          signal::CochranArmitageIncreasing(xs, ns, scores));
      Finding f{v1::SIGNAL_METHOD_DOSE_TREND, "", timepoint, {}};
      f.evidence.set_method(f.method);
      int64_t n_all = 0;
      for (int64_t n : ns) n_all += n;
      SetCell(total, n_all, &f.evidence);
      f.evidence.set_statistic(trend.z);
      f.evidence.set_p_value(trend.p);
      f.evidence.set_threshold(policy.alpha());
      f.evidence.set_comparison(dose_scores ? "dose scores" : "rank scores");
      f.evidence.set_crosses(trend.p <= policy.alpha() && total >= min_cases);
      std::string counts;
      for (int g = 0; g < groups; ++g) {
        absl::StrAppend(&counts, g ? ", " : "", group_id(g), " ", xs[g], "/",
                        ns[g]);
      }
      f.evidence.set_summary(absl::StrFormat(
          "%s: %s Cochran-Armitage trend Z = %.3f, one-sided p = %.4g, alpha "
          "%.3g",
          counts, trend.exact ? "exact" : "asymptotic", trend.z, trend.p,
          policy.alpha()));
      out.push_back(std::move(f));
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
        AESIGNAL_ASSIGN_OR_RETURN(
            double p, signal::FisherGreater(x, n, x_before, n_before));
        Finding f{v1::SIGNAL_METHOD_OVER_TIME, group_id(g), timepoint, {}};
        f.evidence.set_method(f.method);
        SetCell(x, n, &f.evidence);
        f.evidence.set_comparison("earlier windows");
        f.evidence.set_comparison_subjects(x_before);
        f.evidence.set_comparison_denominator(n_before);
        f.evidence.set_statistic(static_cast<double>(x));
        f.evidence.set_p_value(p);
        f.evidence.set_threshold(policy.alpha());
        f.evidence.set_crosses(p <= policy.alpha() && x >= min_cases);
        f.evidence.set_summary(absl::StrFormat(
            "window %s: %d/%d at risk vs earlier windows %d/%d "
            "subject-windows: one-sided Fisher p = %.4g, alpha %.3g",
            timepoint, x, n, x_before, n_before, p, policy.alpha()));
        out.push_back(std::move(f));
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
